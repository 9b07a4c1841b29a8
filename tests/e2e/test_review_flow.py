"""The leader's review, end to end: a worker's phone syncs a normal and a flagged patrol; the leader — at the office PC
or on a phone — sees both on the dashboard, bulk-approves the normal one and returns the flagged one with a comment;
the worker sees the comment in 记录 and the way to correct it."""
import re

import pytest
from playwright.sync_api import expect

from models import Patrol, Station, Well, db
from tests.e2e.conftest import PHONE, log_in, refuse_camera
from tests.e2e.test_patrol_flow import fill_patrol, save, scan

COMMENT = "手工输入的井号，请到井口扫码重新打卡"


def manual_well(camera_code: str) -> str:
    """An oil well of the camera well's station other than the camera well, for the manual (flagged) check-in."""
    with db.connection_context():
        camera = Well.get(Well.code == camera_code)
        return (Well.select().where((Well.station == camera.station) & (Well.kind == "oil") & (Well.code != camera_code))
                .order_by(Well.code).first().code)


@pytest.fixture
def leader_page(request, browser, playwright, live_server):
    """The station leader, signed in on a desktop browser or a phone."""
    size = request.param
    options = {"viewport": {"width": 1280, "height": 900}} if size == "desktop" else dict(playwright.devices[PHONE])
    context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
    yield log_in(context.new_page(), "HN1001")
    context.close()


@pytest.mark.parametrize("leader_page", ["desktop", "phone"], indirect=True)
def test_worker_syncs_leader_approves_and_returns_worker_sees_the_comment(page, leader_page, live_server, sign_in,
                                                                          camera_well):
    sign_in("HN1003")
    scan(page, camera_well)
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")

    flagged_code = manual_well(camera_well["code"])
    refuse_camera(page)  # so the scanner does not open the camera well again
    page.goto("/scan")
    page.get_by_label("井号").fill(flagged_code)
    page.get_by_role("button", name="打开井页面").click()
    expect(page).to_have_url(re.compile(r"\?via=manual$"))
    fill_patrol(page)
    save(page)
    expect(page.locator("[data-saved]")).to_contain_text("已同步到服务器")
    with db.connection_context():
        normal, flagged = Patrol.select().order_by(Patrol.id)
        assert (normal.well.code, normal.flags) == (camera_well["code"], "")
        assert flagged.well.code == flagged_code and "manual" in flagged.flag_list  # far from the phone too
        station = Station.get(Station.name == "海南一号站")

    leader = leader_page
    leader.goto(f"/review/?station={station.id}")
    expect(leader.locator("#pending h2")).to_have_text("待审核（2）")
    expect(leader.locator("#flagged")).to_contain_text(flagged_code)
    expect(leader.locator("#flagged")).to_contain_text("手工输入井号")
    leader.get_by_role("button", name="一键审核 1 条正常、无标记的记录").click()
    expect(leader.get_by_text("有到场或时间标记：1")).to_be_visible()  # what it leaves out, before anything changes
    leader.get_by_role("button", name="确认审核 1 条").click()
    expect(leader.get_by_text("已批量审核 1 条正常、无标记的巡检")).to_be_visible()
    expect(leader.locator("#pending h2")).to_have_text("待审核（1）")

    leader.locator("#pending").get_by_role("link", name=re.compile(flagged_code)).click()
    expect(leader.get_by_role("heading", level=1)).to_contain_text(flagged_code)
    leader.get_by_role("button", name="退回并批注").click()  # without a comment: refused, explained
    expect(leader.get_by_role("alert")).to_contain_text("退回时请写明批注")
    leader.get_by_label("批注（退回时必填）").fill(COMMENT)
    leader.get_by_role("button", name="退回并批注").click()
    # Said, and the next pending record opens — here none is left, so the dashboard.
    expect(leader.get_by_text(re.compile("的巡检已退回。本站近 7 天没有待审核的记录了"))).to_be_visible()
    expect(leader).to_have_url(re.compile(r"/review/\?station="))

    page.goto("/records")
    flagged = page.locator(".record", has_text=flagged_code)
    expect(flagged).to_contain_text(f"站长批注：{COMMENT}")
    expect(flagged.get_by_role("link", name=re.compile("扫码重新打卡（更正）"))).to_be_visible()
    expect(page.locator(".record", has_text=camera_well["code"]).first).to_contain_text("已审核")


@pytest.mark.parametrize("leader_page", ["desktop"], indirect=True)
def test_a_failed_action_is_said_and_changes_nothing(leader_page, live_app, camera_well):
    """No network, then a server error: the leader's 审核通过 says so in an alert (htmx would drop both silently),
    the patrol stays pending, and the same tap works once the server answers."""
    from tests.e2e.test_field_ergonomics import give_last_patrol

    give_last_patrol(camera_well["code"], live_app.config)
    with db.connection_context():
        patrol = Patrol.select().order_by(Patrol.id.desc()).first()
    leader = leader_page
    leader.goto(f"/review/patrols/{patrol.id}")
    approve = leader.get_by_role("button", name="审核通过")

    leader.context.set_offline(True)
    approve.click()
    expect(leader.get_by_role("alert")).to_contain_text("网络不通，这一步没有完成")
    leader.context.set_offline(False)

    leader.route(f"**/review/patrols/{patrol.id}", lambda route: route.fulfill(
        status=500, content_type="text/html; charset=utf-8",
        body='<main><section class="card error-page"><h1>服务器出错了，请稍后重试；已保存的记录不会丢失。</h1>'
             '<p class="muted">错误代码 500</p></section></main>') if route.request.method == "POST" else route.continue_())
    approve.click()
    expect(leader.get_by_role("alert")).to_contain_text("服务器出错了")
    with db.connection_context():
        assert Patrol.get_by_id(patrol.id).review_status == "pending"

    leader.unroute(f"**/review/patrols/{patrol.id}")
    leader.get_by_role("button", name="知道了").click()
    expect(leader.locator("#error-toast")).to_have_count(0)
    approve.click()
    expect(leader.get_by_text(re.compile("的巡检已审核通过"))).to_be_visible()
    with db.connection_context():
        assert Patrol.get_by_id(patrol.id).review_status == "approved"


@pytest.mark.parametrize("leader_page", ["phone"], indirect=True)
def test_bulk_approval_leaves_the_key_wells_drop_pending(leader_page, live_app):
    """The case that was found: a key well's 产液量 12.5 against a 7-day median of 33.5 fires the alert, and the one
    -tap approval used to approve that very patrol. Now the leader is told it is left out, and it stays pending."""
    import uuid as uuid_module
    from datetime import timedelta, timezone

    from models import FluctuationAlert, Station, User, Well, utcnow
    from webapp.shifts import parse_shifts, shift_at
    from webapp.sync import sync_batch

    from tests.test_sync import OIL_READINGS, chain

    with db.connection_context():
        station = Station.get(Station.name == "海南一号站")
        key = (Well.select().where((Well.station == station) & Well.is_key_well & (Well.kind == "oil"))
               .order_by(Well.code).first())
        worker = User.get(User.employee_no == "HN1003")
        now = utcnow().replace(tzinfo=timezone.utc, microsecond=0)  # the app's clock
        # Three earlier rounds, then the drop — and the same round measured again, normal: approvable in one tap.
        records = []
        for minutes, liquid in ((-29 * 60, 33.0), (-19 * 60, 34.0), (-9 * 60, 33.5), (0, 12.5), (0, 33.2)):
            when = (now + timedelta(minutes=minutes)).isoformat()
            records.append({"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": when, "data": {
                "well_id": key.id, "method": "scan", "qr_token": key.qr_token,
                "readings": dict(OIL_READINGS, liquid_t_per_day=liquid), "abnormal": False, "note": "",
                "position": {"latitude": float(key.latitude), "longitude": float(key.longitude), "accuracy": 8}}})
        chain(*records, device="keywell")  # one phone's records, each synced when it was made
        ids = []
        for record in records:
            answer = sync_batch(worker, {"device_id": "keywell", "sent_at": record["created_at"], "records": [record]},
                                settings=live_app.config)
            ids.append(answer["results"][0]["id"])
        drop, normal = ids[-2], ids[-1]
        assert FluctuationAlert.select().where(FluctuationAlert.patrol == drop).exists()
        # The shift the records fall in, named in the address: a shift change between here and the page changes nothing.
        day, shift = shift_at(Patrol.get_by_id(drop).clock_time, parse_shifts(station.work_area.shifts),
                              station.work_area.timezone)
    leader = leader_page
    leader.goto(f"/review/?station={station.id}&date={day.isoformat()}&shift={shift.index}")
    expect(leader.locator("#alerts")).to_contain_text(key.code)
    leader.get_by_role("button", name="一键审核 1 条正常、无标记的记录").click()
    expect(leader.get_by_text("触发了重点井波动、尚未处理：1")).to_be_visible()
    leader.get_by_role("button", name="确认审核 1 条").click()
    expect(leader.get_by_text("已批量审核 1 条正常、无标记的巡检")).to_be_visible()
    leader.goto(f"/review/patrols/{drop}")
    row = leader.locator("tr.beyond", has_text="产液量")
    expect(row).to_contain_text("⚠ -63%")  # the drop is marked on the review page, not plain black
    with db.connection_context():
        assert Patrol.get_by_id(drop).review_status == "pending"
        assert Patrol.get_by_id(normal).review_status == "approved"
