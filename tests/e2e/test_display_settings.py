"""我的 → 显示与提示: strong-light mode, large text and the scan beep are this phone's settings, kept across pages."""
from playwright.sync_api import expect


def test_sunlight_and_large_text_follow_the_worker_to_every_page(page, sign_in):
    sign_in("HN1003")
    page.goto("/me")
    settings = page.locator("#settings")
    normal = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    settings.get_by_label("强光模式").check()
    settings.get_by_label("大字号").check()
    settings.get_by_label("扫码成功时响一声").uncheck()
    page.goto("/wells/")  # another page, loaded anew
    expect(page.locator("html")).to_have_class("sunlight large-text")
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") > normal
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("localStorage.getItem('jingzhan-sound')") == "off"
    page.goto("/me")
    expect(settings.get_by_label("强光模式")).to_be_checked()
    expect(settings.get_by_label("扫码成功时响一声")).not_to_be_checked()
    settings.get_by_label("强光模式").uncheck()
    expect(page.locator("html")).to_have_class("large-text")
