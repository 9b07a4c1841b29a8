"""Field flows on a phone: log in, find a well by search, filter and QR label, the 扫码 tab, logout, offline."""
import re

from playwright.sync_api import expect

from models import LoginAttempt, Station, User, Well
from tests.e2e.conftest import refuse_camera


def worker_station(employee_no="HN1003"):
    return User.get(User.employee_no == employee_no).station


def codes(query):
    return [well.code for well in query.order_by(Well.code)]


def test_worker_searches_filters_and_opens_a_well(page, live_server, live_db, sign_in):
    station = worker_station()
    station_wells = Well.select().where(Well.station == station)
    all_codes = codes(station_wells)
    matching = codes(station_wells.where(Well.code.contains("1-1")))
    key_codes = codes(station_wells.where(Well.is_key_well))
    assert 1 < len(matching) < len(all_codes)
    assert 0 < len(key_codes) < len(all_codes)

    sign_in("HN1003")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")
    expect(page.locator("#my-wells")).to_be_visible()

    page.get_by_role("link", name="井列表", exact=True).click()
    expect(page).to_have_url(f"{live_server}/wells/")
    results = page.locator("#well-results .well-code")
    expect(results).to_have_text(all_codes)

    # A page load would drop this flag: htmx swaps only the results and pushes the query into the address bar.
    page.evaluate("() => { window.samePage = true; }")
    search = page.get_by_role("searchbox", name="井号")
    search.press_sequentially("1-1")
    expect(page).to_have_url(re.compile(r"/wells/\?(.*&)?q=1-1(&|$)"))
    expect(results).to_have_text(matching)
    expect(page.locator("#well-results .result-count")).to_contain_text(f"共 {len(matching)} 口井")
    assert page.evaluate("() => window.samePage === true")

    search.fill("")
    expect(results).to_have_text(all_codes)
    page.locator(".segmented label").filter(has_text="重点井").tap()
    expect(page.get_by_role("radio", name="重点井")).to_be_checked()
    expect(page).to_have_url(re.compile(r"[?&]kind=key(&|$)"))
    expect(results).to_have_text(key_codes)
    expect(page.locator("#well-results li")).to_have_count(len(key_codes))
    expect(page.locator("#well-results li .tag.key")).to_have_count(len(key_codes))
    assert page.evaluate("() => window.samePage === true")

    code = key_codes[0]
    well = Well.get((Well.station == station) & (Well.code == code))
    page.locator("#well-results a").filter(has_text=code).tap()
    expect(page).to_have_url(f"{live_server}/wells/{well.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_role("heading", level=1)).to_contain_text("重点井")


def test_qr_label_when_logged_out_goes_through_login(page, live_server, live_db, sign_in):
    well = Well.select().join(Station).where(Station.name == "海南一号站").order_by(Well.code).first()

    page.goto(f"/w/{well.qr_token}")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fw%2F" + re.escape(well.qr_token) + "$"))
    expect(page.get_by_role("status").filter(has_text="请先登录")).to_be_visible()

    sign_in("HN1003", open_form=False)
    expect(page).to_have_url(f"{live_server}/w/{well.qr_token}")
    expect(page.get_by_role("status").filter(has_text="已识别井口标签")).to_contain_text(well.code)
    expect(page.get_by_role("heading", level=1)).to_contain_text(well.code)


def test_wrong_password_stays_on_login_with_chinese_error(page, live_server, live_db, sign_in):
    sign_in("HN1003", "not-the-password", succeed=False)

    expect(page.get_by_role("alert")).to_contain_text("工号或密码不正确")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_label("工号")).to_have_value("HN1003")
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)
    assert LoginAttempt.select().where((LoginAttempt.employee_no == "HN1003") & ~LoginAttempt.succeeded).count() == 1


def test_manual_well_code_on_scan_tab(page, live_server, live_db, sign_in):
    well = Well.get((Well.station == worker_station()) & (Well.code == "海1-07"))
    sign_in("HN1003")
    refuse_camera(page)  # else the fake camera's label opens a well page at once

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="扫码").tap()
    expect(page).to_have_url(f"{live_server}/scan")
    code = page.get_by_label("井号")
    submit = page.get_by_role("button", name="打开井页面")

    code.fill("海9-99")
    submit.tap()
    expect(page.get_by_role("alert")).to_contain_text("本作业区没有井号为「海9-99」的井")
    expect(page).to_have_url(f"{live_server}/scan")
    expect(code).to_have_value("海9-99")

    code.fill("海1-07")
    submit.tap()
    expect(page).to_have_url(f"{live_server}/wells/{well.id}?via=manual")  # by id: a typed 井号 gets no token
    expect(page.get_by_role("heading", level=1)).to_contain_text("海1-07")


def test_logout_from_me_tab(page, live_server, live_db, sign_in):
    sign_in("HN1003")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").tap()
    expect(page).to_have_url(f"{live_server}/me")
    page.get_by_role("button", name="退出登录").tap()
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("status").filter(has_text="您已退出登录")).to_be_visible()

    # The "keep me logged in" cookie went too: home asks for a login again.
    page.goto("/")
    expect(page).to_have_url(f"{live_server}/login?next=%2F")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()


def test_offline_banner_follows_connectivity(page, context, live_server, sign_in):
    sign_in("HN1003")
    banner = page.locator(".offline-banner")
    expect(banner).to_have_count(0)
    # The page's scripts have run (they fill the sync status): cut the network only then — cut while its modules
    # load, none of them runs and there is nobody to show the banner (a real phone has them from the service worker).
    expect(page.locator("#sync-status")).to_be_visible()

    context.set_offline(True)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("当前无网络")

    context.set_offline(False)
    expect(banner).to_have_count(0)
