"""Each role's home on a phone, and the layout at the narrowest common phone width (360 px)."""
import pytest
from playwright.sync_api import expect

from models import Station, User, Well

ROLE_PANELS = ("admin-panel", "leader-panel", "secretary-panel")
NARROW_PHONE = {"viewport": {"width": 360, "height": 740}, "screen": {"width": 360, "height": 800}}


def _admin_totals():
    return [
        str(Well.select().count()),
        str(Well.select().where(Well.is_key_well).count()),
        str(User.select().count()),
        str(User.select().where(User.is_party_member).count()),
        str(User.select().where(User.is_party_member & (User.gender == "F")).count()),
    ]


@pytest.mark.parametrize(
    "employee_no, panel",
    [("HN0001", "admin-panel"), ("HN1001", "leader-panel"), ("HN1002", "secretary-panel"), ("HN1003", None)],
)
def test_home_shows_the_panel_of_the_role(page, live_server, live_db, sign_in, employee_no, panel):
    user = User.get(User.employee_no == employee_no)
    station = user.station
    sign_in(employee_no)
    expect(page).to_have_url(f"{live_server}/")

    for other in ROLE_PANELS:
        if other != panel:
            expect(page.locator(f"#{other}")).to_have_count(0)
    if panel:
        expect(page.locator(f"#{panel}")).to_be_visible()

    if panel == "admin-panel":
        totals = page.locator("#admin-panel tfoot td")
        expect(totals).to_have_text(_admin_totals())
        expect(totals.nth(2)).to_have_text("135")
        expect(totals.nth(3)).to_have_text("48")
        expect(totals.nth(4)).to_have_text("7")
        stations = Station.select().where(Station.work_area == user.work_area).count()
        expect(page.locator("#admin-panel tbody tr")).to_have_count(stations)
    elif panel == "leader-panel":
        wells = Well.select().where(Well.station == station)
        staff = User.select().where(User.station == station)
        expect(page.locator("#leader-panel .stats dd")).to_have_text(
            [
                str(wells.count()),
                str(wells.where(Well.is_key_well).count()),
                str(staff.count()),
                str(staff.where(User.is_party_member).count()),
            ]
        )
        key_codes = [w.code for w in wells.where(Well.is_key_well).order_by(Well.code)]
        expect(page.locator("#leader-panel .chips a")).to_have_text(key_codes)
    elif panel == "secretary-panel":
        members = User.select().where((User.station == station) & User.is_party_member)
        women = members.where(User.gender == "F").count()
        expect(page.locator("#secretary-panel")).to_contain_text(f"党员 {members.count()} 名，其中女党员 {women} 名")
        expect(page.locator("#secretary-panel tbody tr")).to_have_count(members.count())
    else:
        mine = [w.code for w in Well.select().where(Well.contractor == user).order_by(Well.code)]
        assert mine, "the demo worker contracts wells"
        chips = page.locator("#my-wells a")
        expect(chips).to_have_count(len(mine))
        expect(chips).to_contain_text(mine)


def _assert_no_horizontal_scroll(page):
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert overflow[0] <= overflow[1], f"page scrolls sideways: scrollWidth {overflow[0]} > clientWidth {overflow[1]}"


@pytest.mark.browser_context_args(**NARROW_PHONE)
@pytest.mark.parametrize("employee_no", ["HN1003", "HN0001"])
def test_usable_at_360px(page, live_server, sign_in, employee_no):
    sign_in(employee_no)
    expect(page).to_have_url(f"{live_server}/")
    assert page.evaluate("() => document.documentElement.clientWidth") == 360
    _assert_no_horizontal_scroll(page)

    tabs = page.get_by_role("navigation", name="主导航").get_by_role("link")
    expect(tabs).to_have_text(["首页", "扫码", "记录", "我的"])
    for i in range(tabs.count()):
        box = tabs.nth(i).bounding_box()
        assert box["height"] >= 44, f"tab {i} is {box['height']} px tall"
        assert box["width"] >= 44, f"tab {i} is {box['width']} px wide"

    page.get_by_role("link", name="井列表", exact=True).tap()
    expect(page.locator("#well-results .well-code").first).to_be_visible()
    _assert_no_horizontal_scroll(page)
