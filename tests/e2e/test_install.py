"""Installable: the manifest the browser reads, the service worker controlling the page, and the 我的 page's offer
to install (Android's prompt, iPhone's 添加到主屏幕)."""
from playwright.sync_api import expect

from tests.e2e.conftest import log_in, wait_until


def test_manifest_and_service_worker_make_the_app_installable(page, sign_in):
    sign_in("HN1003")
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.request.get(href).json()
    assert manifest["name"] == "井站通" and manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert any(i["purpose"] == "maskable" and i["sizes"] == "512x512" for i in manifest["icons"])
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).headers["content-type"] == "image/png"
    # The page is controlled by the service worker (what makes it start offline once installed).
    wait_until(page, "() => navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")


def test_the_me_page_offers_the_browsers_install_prompt(page, sign_in):
    sign_in("HN1003")
    page.goto("/me")
    install = page.locator("#install")
    expect(install).to_be_hidden()  # no offer from the browser yet: nothing to press
    # What Chromium fires when the app may be installed (headless Chromium never does: the test plays the browser).
    page.evaluate("""() => {
        const offer = new Event("beforeinstallprompt", { cancelable: true });
        offer.prompt = async () => { window.prompted = true; };
        offer.userChoice = Promise.resolve({ outcome: "accepted" });
        window.dispatchEvent(offer);
    }""")
    button = install.get_by_role("button", name="安装到手机桌面")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 44  # a thumb's target
    button.tap()
    expect(install.get_by_text("已安装到桌面")).to_be_visible()
    assert page.evaluate("window.prompted") is True


def test_an_iphone_is_told_how_to_add_it_to_the_home_screen(browser, playwright, live_server):
    context = browser.new_context(**playwright.devices["iPhone 13"], base_url=live_server, locale="zh-CN")
    try:
        page = log_in(context.new_page(), "HN1003")
        page.goto("/me")
        expect(page.locator("#install").get_by_text("添加到主屏幕")).to_be_visible()
    finally:
        context.close()
