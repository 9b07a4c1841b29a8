"""Branch activities on phones: the secretary schedules a 主题党日 and shows the rotating check-in QR; a member checks
in by scanning it with the in-app scanner (a second Chromium whose fake camera shows the code the server shows now)."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from models import Activity, Attendance, User, db
from tests.e2e.conftest import PHONE, launch_with_camera, log_in, write_y4m

TZ = ZoneInfo("Asia/Shanghai")


def test_member_checks_in_by_scanning_the_rotating_code(page, playwright, live_server, sign_in, tmp_path):
    sign_in("HN1002")
    page.get_by_role("link", name="支部活动与签到").tap()
    page.get_by_role("link", name="安排活动").tap()
    start = datetime.now(TZ).replace(second=0, microsecond=0)
    page.get_by_label("活动类型").select_option(label="主题党日")
    page.get_by_label("活动主题").fill("重温入党誓词")
    page.get_by_label("活动地点").fill("一号站会议室")
    page.get_by_label("开始时间").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("结束时间").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="安排活动").tap()
    expect(page.locator(".flash")).to_contain_text("已安排主题党日：重温入党誓词")
    with db.connection_context():
        member = User.get(User.employee_no == "HN1003")
        activity = Activity.get(Activity.topic == "重温入党誓词")
        assert member.id in {i.user_id for i in activity.invitees}  # every party member of the branch by default

    page.get_by_role("link", name="签到二维码").tap()
    qr = page.get_by_role("img", name=re.compile("签到二维码"))
    expect(qr).to_be_visible()
    # The code on the screen now; it stays good for two more steps (±2 × 30 s), time enough to scan it.
    write_y4m(page.request.get(qr.get_attribute("src")).body(), tmp_path / "activity.y4m")

    phone_browser = launch_with_camera(playwright, tmp_path / "activity.y4m")
    try:
        context = phone_browser.new_context(**playwright.devices[PHONE], base_url=live_server, locale="zh-CN",
                                            timezone_id="Asia/Shanghai", permissions=["camera"])
        phone = log_in(context.new_page(), "HN1003")
        phone.goto("/scan")
        expect(phone.locator("[data-scan-status]")).to_contain_text("签到成功，已同步", timeout=30_000)
        expect(phone.locator("#sync-status")).to_have_text("已全部同步")
        # The member's 3K+行为 breakdown for the month counts the 主题党日 and links to it.
        phone.goto("/assessment/me")
        meetings = phone.locator(".score-table tr", has_text="组织生活").first
        expect(meetings).to_contain_text("1 次")
        link = phone.locator(f'a[href="/activities/{activity.id}"]')
        phone.locator("details", has=link).locator("summary").tap()
        expect(link).to_contain_text("主题党日：重温入党誓词")
        link.tap()
        expect(phone).to_have_url(re.compile(rf"/activities/{activity.id}$"))
    finally:
        phone_browser.close()

    with db.connection_context():
        rows = [(a.user_id, a.status, a.method) for a in Attendance.select().where(Attendance.activity == activity)]
    assert rows == [(member.id, "present", "scan")]
    expect(page.locator(".qr-count strong")).to_have_text("1")  # the screen's count follows by itself
    page.get_by_role("link", name="返回活动").tap()
    row = page.locator(f"#person-{member.id}")
    expect(row).to_contain_text("出席")
    expect(row).to_contain_text("扫码")
