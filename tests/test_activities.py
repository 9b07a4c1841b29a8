"""Branch activities: scheduling and its checks, who sees and manages what, attendance by hand and by the rotating
QR code through the sync contract (expired, offline, twice, uninvited, hostile), the check-in page and 我的活动."""
import uuid
from datetime import datetime, timedelta, timezone
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from models import Activity, ActivityInvitee, Attendance, Station, SyncReceipt, User, WorkArea, db, utcnow
from tests.conftest import get_user, login
from tests.test_openapi import check, check_request
from tests.test_sync import batch, post
from webapp.activities import STEP_SECONDS, step_code, time_step

TZ = ZoneInfo("Asia/Shanghai")
HTMX = {"HX-Request": "true"}


def local(at: datetime) -> str:
    """A naive-UTC time as the form's datetime-local value."""
    return at.replace(tzinfo=timezone.utc).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def iso(at: datetime) -> str:
    """A naive-UTC time as the phone writes created_at (its own offset)."""
    return at.replace(tzinfo=timezone.utc).astimezone(TZ).isoformat(timespec="seconds")


def as_user(app, employee_no):
    client = app.test_client()
    login(client, employee_no)
    return client


def branch_members(station_id) -> list[User]:
    with db.connection_context():
        return list(User.select().where((User.station == station_id) & User.is_party_member).order_by(User.employee_no))


def make_activity(organiser="HN1002", *, start=None, hours=2, kind="theme_day", invite=None, **fields) -> Activity:
    """An activity of the organiser's branch, by default under way (began 10 minutes ago), all party members invited."""
    organiser = get_user(organiser)
    start = start or utcnow() - timedelta(minutes=10)
    with db.connection_context():
        activity = Activity.create(station=organiser.station_id, kind=kind, topic=fields.pop("topic", "学习党章"),
                                   place="会议室", starts_at=start, ends_at=start + timedelta(hours=hours),
                                   organiser=organiser, **fields)
    invitees = branch_members(organiser.station_id) if invite is None else [get_user(no) for no in invite]
    with db.connection_context():
        ActivityInvitee.insert_many([{"activity": activity.id, "user": u.id} for u in invitees]).execute()
    return activity


def form(**values) -> dict:
    start = utcnow() + timedelta(days=1)
    data = {"kind": "theme_day", "topic": "重温入党誓词", "place": "一号站会议室", "starts_at": local(start),
            "ends_at": local(start + timedelta(hours=2)), "note": "", "hours": "", "days": "",
            "invitees": [str(u.id) for u in branch_members(get_user("HN1002").station_id)]}
    data.update(values)
    return data


def scan_record(activity, *, at=None, step=None, code=None, uid=None, **data) -> dict:
    """The record the phone saves when it scans the activity's code shown at `at` (naive UTC; default now)."""
    at = at or utcnow()
    step = time_step(at) if step is None else step
    body = {"activity_id": activity.id, "step": step, "code": step_code(activity, step) if code is None else code}
    body.update(data)
    return {"uuid": uid or str(uuid.uuid4()), "type": "attendance", "created_at": iso(at), "data": body}


def send(client, *records):
    response = post(client, batch(*records))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def attendance(activity) -> list[Attendance]:
    with db.connection_context():
        return list(Attendance.select().where(Attendance.activity == activity.id))


def count_activities() -> int:
    with db.connection_context():
        return Activity.select().count()


# scheduling

def test_the_new_form_expects_every_party_member_of_the_branch(app):
    page = as_user(app, "HN1002").get("/activities/new").get_data(as_text=True)
    for member in branch_members(get_user("HN1002").station_id):
        assert f'value="{member.id}" checked' in page
    outsider = get_user("HN1010")  # not a party member: offered for 培训 and 义务献工, not ticked
    assert f'value="{outsider.id}" >' in page and "仅培训、义务献工可选" in page


def test_secretary_schedules_a_theme_day(app):
    secretary = as_user(app, "HN1002")
    chosen = [get_user("HN1003").id, get_user("HN1004").id]
    response = secretary.post("/activities/new", data=form(invitees=[str(i) for i in chosen]))
    assert response.status_code == 302, response.get_data(as_text=True)
    with db.connection_context():
        activity = Activity.get()
        assert response.headers["Location"] == f"/activities/{activity.id}"
        assert activity.station_id == get_user("HN1002").station_id and activity.organiser_id == get_user("HN1002").id
        assert activity.kind == "theme_day" and activity.topic == "重温入党誓词" and activity.hours is None
        assert sorted(i.user_id for i in activity.invitees) == sorted(chosen)
    page = secretary.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "已安排主题党日：重温入党誓词" in page and "签到二维码" in page


def test_training_takes_hours_and_colleagues_who_are_not_members(app):
    colleague = get_user("HN1010")
    response = as_user(app, "HN1002").post("/activities/new", data=form(
        kind="training", hours="4", invitees=[str(get_user("HN1003").id), str(colleague.id)]))
    assert response.status_code == 302
    with db.connection_context():
        activity = Activity.get()
        assert activity.hours == 4 and activity.days is None
        assert colleague.id in {i.user_id for i in activity.invitees}


@pytest.mark.parametrize("values, message", [
    ({"kind": "party"}, "请选择活动类型"),
    ({"topic": "  "}, "请填写活动主题"),
    ({"topic": "学" * 121}, "活动主题不能超过 120 字"),
    ({"place": ""}, "请填写活动地点"),
    ({"place": "地" * 81}, "活动地点不能超过 80 字"),
    ({"starts_at": ""}, "请填写开始时间"),
    ({"starts_at": "2026-13-45T99:00"}, "开始时间格式不对"),
    ({"starts_at": "99999-01-01T00:00"}, "开始时间格式不对"),
    ({"starts_at": "2026-11-26T09:00+08:00"}, "开始时间格式不对"),
    ({"starts_at": "1999-12-31T09:00"}, "开始时间格式不对"),
    ({"starts_at": local(utcnow() + timedelta(days=400)), "ends_at": local(utcnow() + timedelta(days=400, hours=1))},
     "开始时间最多安排到一年以后"),
    ({"starts_at": local(utcnow() - timedelta(days=70)), "ends_at": local(utcnow() - timedelta(days=70, hours=-1))},
     "开始时间不能早于上月 1 日"),
    ({"invitees": ["²"]}, "参加人员只能是本支部党员"),
    ({"ends_at": local(utcnow() + timedelta(days=1) - timedelta(hours=1))}, "结束时间须晚于开始时间"),
    ({"ends_at": local(utcnow() + timedelta(days=9))}, "一次活动最长 7 天"),
    ({"kind": "training"}, "请填写学时"),
    ({"kind": "training", "hours": "25"}, "学时应大于 0，最多 24 学时"),
    ({"kind": "training", "hours": "0"}, "学时应大于 0，最多 24 学时"),
    ({"kind": "training", "hours": "nan"}, "学时应大于 0，最多 24 学时"),
    ({"kind": "training", "hours": "四"}, "学时应大于 0，最多 24 学时"),
    ({"kind": "volunteer", "days": "8"}, "献工天数应大于 0，最多 7 天"),
    ({"hours": "2"}, "只有培训填写学时"),
    ({"days": "1"}, "只有义务献工填写献工天数"),
    ({"note": "备" * 501}, "备注不能超过 500 字"),
    ({"invitees": []}, "请至少选择一名参加人员"),
    ({"invitees": ["abc"]}, "参加人员只能是本支部党员"),
    ({"invitees": ["99999999999999999999999"]}, "参加人员只能是本支部党员"),
])
def test_refused_forms_are_explained_and_keep_the_input(app, values, message):
    response = as_user(app, "HN1002").post("/activities/new", data=form(**values))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert 'value="一号站会议室"' in page or "place" in values  # what was typed stays
    assert count_activities() == 0


@pytest.mark.parametrize("who", ["HN1010", "HN2003"])
def test_only_the_branch_members_for_a_theme_day(app, who):
    """A non-member of the station (allowed for training only) and a member of another branch are refused."""
    response = as_user(app, "HN1002").post("/activities/new", data=form(invitees=[str(get_user(who).id)]))
    assert response.status_code == 422 and "参加人员只能是本支部党员" in response.get_data(as_text=True)


def test_edit_replaces_the_invitees_and_a_cancelled_activity_stays_cancelled(app):
    activity = make_activity()
    secretary = as_user(app, "HN1002")
    page = secretary.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    assert 'value="学习党章"' in page and 'value="会议室"' in page
    only = get_user("HN1004").id
    response = secretary.post(f"/activities/{activity.id}/edit", data=form(topic="改过的主题", invitees=[str(only)]))
    assert response.status_code == 302
    with db.connection_context():
        changed = Activity.get_by_id(activity.id)
        assert changed.topic == "改过的主题" and [i.user_id for i in changed.invitees] == [only]
    assert secretary.post(f"/activities/{activity.id}/cancel").status_code == 302
    with db.connection_context():
        assert Activity.get_by_id(activity.id).cancelled_at is not None
    again = secretary.post(f"/activities/{activity.id}/edit", data=form())
    assert again.status_code == 422 and "活动已取消" in again.get_data(as_text=True)


# who sees and manages what

def test_a_worker_cannot_schedule_or_list(app):
    worker = as_user(app, "HN1003")
    assert worker.get("/activities/").status_code == 403
    assert worker.get("/activities/new").status_code == 403
    assert worker.post("/activities/new", data=form()).status_code == 403
    assert count_activities() == 0


def test_a_secretary_keeps_to_their_branch(app):
    """Another branch's activities and station answer 404, like ids that do not exist (docs/decisions.md)."""
    other = make_activity("HN2002")
    secretary = as_user(app, "HN1002")
    for path in ("", "/edit", "/qr", f"/qr/{time_step(utcnow())}.png"):
        assert secretary.get(f"/activities/{other.id}{path}").status_code == 404, path
    assert secretary.post(f"/activities/{other.id}/edit", data=form()).status_code == 404
    assert secretary.post(f"/activities/{other.id}/cancel").status_code == 404
    member = branch_members(other.station_id)[2]
    assert secretary.post(f"/activities/{other.id}/attendance", data={"user_id": member.id, "status": "present"}).status_code == 404
    assert secretary.get(f"/activities/?station={other.station_id}").status_code == 404
    assert secretary.post("/activities/new", data=form(station=str(other.station_id))).status_code == 404
    assert attendance(other) == []
    with db.connection_context():
        assert Activity.get_by_id(other.id).cancelled_at is None


def test_an_admin_schedules_for_any_branch(app):
    admin = as_user(app, "HN0001")
    station = get_user("HN2002").station_id
    members = branch_members(station)
    response = admin.post("/activities/new", data=form(station=str(station), invitees=[str(members[0].id)]))
    assert response.status_code == 302
    with db.connection_context():
        assert Activity.get().station_id == station
    assert "海南二号站党支部" in admin.get(f"/activities/?station={station}").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/activities/999999", "/activities/99999999999999999999999",
                                  "/activities/?station=999999", "/activities/?station=abc",
                                  "/activities/?station=99999999999999999999999"])
def test_unknown_ids_are_not_found(app, path):
    assert as_user(app, "HN1002").get(path).status_code == 404


def test_another_work_area_is_not_found(app):
    with db.connection_context():
        area = WorkArea.create(name="别的作业区", party_org_name="别的党总支")
        station = Station.create(work_area=area, name="别的站", branch_name="别的站党支部")
        organiser = User.create(work_area=area, station=station, employee_no="XX0001", name="外人", password_hash="x")
        activity = Activity.create(station=station, kind="study", topic="外", place="外", starts_at=utcnow(),
                                   ends_at=utcnow() + timedelta(hours=1), organiser=organiser)
    assert as_user(app, "HN0001").get(f"/activities/{activity.id}").status_code == 404
    result = send(as_user(app, "HN1003"), scan_record(activity))[0]
    assert result["error"]["code"] == "unknown_activity"


def test_a_member_sees_the_activity_but_not_the_sheet(app):
    activity = make_activity()
    page = as_user(app, "HN1003").get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "我的签到" in page and 'id="attendance"' not in page and f"/activities/{activity.id}/qr" not in page
    assert as_user(app, "HN1003").get(f"/activities/{activity.id}/qr").status_code == 403
    assert as_user(app, "HN1010").get(f"/activities/{activity.id}").status_code == 403  # neither invited nor a member


def test_list_upcoming_and_past_with_htmx_filters(app):
    past = make_activity(start=utcnow() - timedelta(days=3), topic="上周的党课", kind="party_lecture")
    make_activity(start=utcnow() + timedelta(days=2), topic="下周的培训", kind="training", hours=3)
    secretary = as_user(app, "HN1002")
    page = secretary.get("/activities/").get_data(as_text=True)
    assert page.index("下周的培训") < page.index("已结束") < page.index("上周的党课")
    assert "<html" in page
    fragment = secretary.get("/activities/?kind=party_lecture", headers=HTMX)
    assert "<html" not in fragment.get_data(as_text=True) and "HX-Request" in fragment.headers["Vary"]
    assert "上周的党课" in fragment.get_data(as_text=True) and "下周的培训" not in fragment.get_data(as_text=True)
    month = past.starts_at.replace(tzinfo=timezone.utc).astimezone(TZ).strftime("%Y-%m")
    by_month = secretary.get(f"/activities/?month={month}&kind=bogus", headers=HTMX).get_data(as_text=True)
    assert "上周的党课" in by_month
    assert "上周的党课" not in secretary.get("/activities/?month=2001-01", headers=HTMX).get_data(as_text=True)
    assert secretary.get("/activities/?month=2026-99").status_code == 200  # an impossible month filters nothing


# attendance by hand

def test_the_organiser_marks_present_and_excused(app):
    activity = make_activity()
    secretary = as_user(app, "HN1002")
    member = get_user("HN1004")
    url = f"/activities/{activity.id}/attendance"
    response = secretary.post(url, data={"user_id": member.id, "status": "present"}, headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    row = attendance(activity)[0]
    assert (row.status, row.method, row.recorded_by_id) == ("present", "marked", get_user("HN1002").id)
    refused = secretary.post(url, data={"user_id": member.id, "status": "excused", "reason": " "}, headers=HTMX)
    assert refused.status_code == 422 and f"请写明{member.name}的请假原因" in refused.get_data(as_text=True)
    secretary.post(url, data={"user_id": member.id, "status": "excused", "reason": "倒班"}, headers=HTMX)
    row = attendance(activity)[0]
    assert (row.status, row.reason) == ("excused", "倒班") and len(attendance(activity)) == 1
    stranger = get_user("HN2003")
    other = secretary.post(url, data={"user_id": stranger.id, "status": "present"}, headers=HTMX)
    assert other.status_code == 422 and "不是本次活动的参加人员" in other.get_data(as_text=True)
    assert secretary.post(url, data={"user_id": "x", "status": "present"}).status_code == 404
    assert secretary.post(url, data={"user_id": "99999999999999999999", "status": "present"}).status_code == 404
    bad = secretary.post(url, data={"user_id": member.id, "status": "late"}, headers=HTMX)
    assert bad.status_code == 422


def test_present_cannot_be_marked_before_the_activity_but_leave_can(app):
    activity = make_activity(start=utcnow() + timedelta(days=1))
    secretary = as_user(app, "HN1002")
    member = get_user("HN1004")
    early = secretary.post(f"/activities/{activity.id}/attendance", data={"user_id": member.id, "status": "present"})
    assert early.status_code == 422 and "活动还没有开始" in early.get_data(as_text=True)
    leave = secretary.post(f"/activities/{activity.id}/attendance",
                           data={"user_id": member.id, "status": "excused", "reason": "休假"})
    assert leave.status_code == 200 and attendance(activity)[0].status == "excused"


def test_the_sheet_lists_expected_present_excused_and_absent(app):
    activity = make_activity(start=utcnow() - timedelta(hours=3), invite=["HN1003", "HN1004", "HN1005"])
    with db.connection_context():
        Attendance.create(activity=activity, user=get_user("HN1003"), status="present", method="marked")
        Attendance.create(activity=activity, user=get_user("HN1004"), status="excused", method="marked", reason="病假")
    page = as_user(app, "HN1002").get(f"/activities/{activity.id}").get_data(as_text=True)
    sheet = page.split('id="attendance"')[1]
    for employee_no, label in (("HN1003", "出席"), ("HN1004", "请假"), ("HN1005", "缺席")):
        row = sheet.split(f'id="person-{get_user(employee_no).id}"')[1].split("</tr>")[0]
        assert label in row, employee_no
    assert "病假" in sheet


# attendance by the rotating code (the `attendance` record)

def test_a_valid_scan_checks_in_once_whatever_the_replays(app):
    activity = make_activity()
    member = as_user(app, "HN1003")
    record = scan_record(activity)
    first = send(member, record)[0]
    assert first["status"] == "created"
    rows = attendance(activity)
    assert len(rows) == 1 and rows[0].id == first["id"]
    assert (rows[0].status, rows[0].method, rows[0].user_id) == ("present", "scan", get_user("HN1003").id)
    assert str(rows[0].uuid) == record["uuid"] and rows[0].device_time is not None
    assert send(member, record)[0] == {"uuid": record["uuid"], "status": "duplicate", "id": first["id"]}
    # A second scan (a new record) is answered like the first: same attendance row, counted once.
    second = send(member, scan_record(activity))[0]
    assert second["status"] == "created" and second["id"] == first["id"]
    assert len(attendance(activity)) == 1
    with db.connection_context():
        assert SyncReceipt.select().where(SyncReceipt.type == "attendance").count() == 2


def test_two_scans_in_one_batch_count_once(app):
    activity = make_activity()
    results = send(as_user(app, "HN1003"), scan_record(activity), scan_record(activity))
    assert [r["status"] for r in results] == ["created", "created"] and results[0]["id"] == results[1]["id"]
    assert len(attendance(activity)) == 1


def test_an_expired_code_is_refused(app):
    activity = make_activity()
    old_step = time_step(utcnow()) - 5
    result = send(as_user(app, "HN1003"), scan_record(activity, step=old_step))[0]
    assert result["status"] == "rejected" and result["error"]["code"] == "code_expired"
    assert "签到码已过期，请扫描现场大屏上的最新二维码" in result["error"]["message"]
    assert attendance(activity) == []


def test_a_code_within_tolerance_is_accepted(app):
    activity = make_activity()
    # Scanned in the middle of the step before this one, so no step boundary passes while the test runs.
    at = datetime.fromtimestamp((time_step(utcnow()) - 1) * 30 + 15, timezone.utc).replace(tzinfo=None)
    record = scan_record(activity, at=at, step=time_step(at) - 2)
    assert send(as_user(app, "HN1003"), record)[0]["status"] == "created"


def test_a_scan_saved_offline_counts_when_it_syncs_later(app):
    activity = make_activity(start=utcnow() - timedelta(hours=1))
    scanned_at = utcnow() - timedelta(minutes=40)  # the phone had no signal in the meeting room
    record = scan_record(activity, at=scanned_at)
    result = send(as_user(app, "HN1003"), record)[0]
    assert result["status"] == "created"
    row = attendance(activity)[0]
    assert abs((row.device_time - scanned_at).total_seconds()) < 1 and row.received_at > row.device_time
    # The code of that past step is no good for a record made now (a photo of the screen, shared later).
    late = scan_record(activity, step=time_step(scanned_at))
    assert send(as_user(app, "HN1004"), late)[0]["error"]["code"] == "code_expired"


def test_the_server_clock_decides_not_the_phone_clock(app):
    """A phone 10 minutes slow writes its own time; the batch's sent_at gives the offset that corrects it."""
    activity = make_activity()
    slow = timedelta(minutes=10)
    now = utcnow()
    record = scan_record(activity, at=now)
    record["created_at"] = iso(now - slow)
    response = post(as_user(app, "HN1003"), batch(record, sent_at=iso(now - slow)))
    assert response.json["results"][0]["status"] == "created"


@pytest.mark.parametrize("start, hours", [(timedelta(hours=2), 2), (-timedelta(hours=3), 2)])
def test_outside_the_activity_the_code_is_refused(app, start, hours):
    activity = make_activity(start=utcnow() + start, hours=hours)
    result = send(as_user(app, "HN1003"), scan_record(activity))[0]
    assert result["error"]["code"] == "not_open" and "开始前 30 分钟" in result["error"]["message"]


def test_check_in_opens_thirty_minutes_before(app):
    activity = make_activity(start=utcnow() + timedelta(minutes=25))
    assert send(as_user(app, "HN1003"), scan_record(activity))[0]["status"] == "created"


def test_a_cancelled_activity_takes_no_check_in(app):
    activity = make_activity()
    as_user(app, "HN1002").post(f"/activities/{activity.id}/cancel")
    result = send(as_user(app, "HN1003"), scan_record(activity))[0]
    assert result["error"]["code"] == "activity_cancelled" and "已取消" in result["error"]["message"]


def test_who_may_check_in(app):
    activity = make_activity(invite=["HN1003", "HN1010"])
    outcomes = {no: send(as_user(app, no), scan_record(activity))[0] for no in ("HN1003", "HN1010", "HN1004", "HN1011", "HN2003")}
    assert outcomes["HN1003"]["status"] == "created"
    assert outcomes["HN1010"]["status"] == "created"  # invited, though not a party member
    assert outcomes["HN1004"]["status"] == "created"  # a party member of the branch, not ticked: still counted
    for refused in ("HN1011", "HN2003"):  # a colleague not invited; a member of another branch
        assert outcomes[refused]["error"]["code"] == "not_invited", refused
        assert "不在本次活动的参加人员之中" in outcomes[refused]["error"]["message"]
    assert len(attendance(activity)) == 3


def test_a_scan_after_leave_was_marked_makes_the_member_present(app):
    activity = make_activity()
    as_user(app, "HN1002").post(f"/activities/{activity.id}/attendance",
                                data={"user_id": get_user("HN1003").id, "status": "excused", "reason": "倒班"})
    send(as_user(app, "HN1003"), scan_record(activity))
    row = attendance(activity)[0]
    assert (row.status, row.method, row.reason) == ("present", "scan", "")


@pytest.mark.parametrize("data, code", [
    ({"activity_id": "1"}, "invalid_value"),
    ({"activity_id": True}, "invalid_value"),
    ({"activity_id": 0}, "invalid_value"),
    ({"activity_id": -1}, "invalid_value"),
    ({"activity_id": 1.0}, "invalid_value"),
    ({"activity_id": 2**70}, "invalid_value"),
    ({"activity_id": None}, "invalid_value"),
    ({"activity_id": [1]}, "invalid_value"),
    ({"activity_id": 9_999_999}, "unknown_activity"),
    ({"step": 2**70}, "invalid_code"),
    ({"step": -1}, "invalid_code"),
    ({"step": "58000000"}, "invalid_code"),
    ({"step": False}, "invalid_code"),
    ({"code": "ZZZZZZZZZZZZ"}, "invalid_code"),
    ({"code": "ABCDEF012345"}, "invalid_code"),
    ({"code": "0" * 12}, "invalid_code"),
    ({"code": "a" * 10000}, "invalid_code"),
    ({"code": ["a"]}, "invalid_code"),
    ({"code": None}, "invalid_code"),
])
def test_hostile_records_are_refused_cleanly(app, data, code):
    activity = make_activity()
    record = scan_record(activity)
    record["data"].update(data)
    result = send(as_user(app, "HN1003"), record)[0]
    assert result["status"] == "rejected" and result["error"]["code"] == code
    assert attendance(activity) == []


def test_the_code_of_another_activity_is_refused(app):
    mine, other = make_activity(), make_activity(topic="另一项")
    record = scan_record(mine)
    step = record["data"]["step"]
    record["data"]["code"] = step_code(other, step)
    result = send(as_user(app, "HN1003"), record)[0]
    assert result["error"]["code"] == "invalid_code" and attendance(mine) == [] and attendance(other) == []


def test_a_code_depends_on_the_secret_and_the_step():
    a = Activity(id=1, code_secret="s1")
    assert step_code(a, 5) != step_code(a, 6) and len(step_code(a, 5)) == 12
    assert step_code(a, 5) != step_code(Activity(id=1, code_secret="s2"), 5)
    assert time_step(datetime(1970, 1, 1, 0, 1, 5)) == 65 // STEP_SECONDS


def test_the_record_follows_the_openapi_contract(app):
    activity = make_activity()
    body = batch(scan_record(activity))
    check_request(body)
    client = as_user(app, "HN1003")
    response = post(client, body)
    check("/sync", "post", response)
    assert response.json["results"][0]["status"] == "created"


# the QR screen and the page the code opens outside the app

def read_qr(png: bytes) -> str:
    codes = zxingcpp.read_barcodes(Image.open(BytesIO(png)))
    assert len(codes) == 1
    return codes[0].text


def test_the_qr_screen_shows_the_current_code(app):
    activity = make_activity()
    secretary = as_user(app, "HN1002")
    page = secretary.get(f"/activities/{activity.id}/qr").get_data(as_text=True)
    assert 'class="qr-screen"' in page and 'hx-trigger="every 3s"' in page
    step = time_step(utcnow())
    src = next(f"/activities/{activity.id}/qr/{s}.png" for s in (step, step + 1) if f"/qr/{s}.png" in page)
    shown_step = int(src.rsplit("/", 1)[1].split(".")[0])
    png = secretary.get(src)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert read_qr(png.data) == f"http://localhost/a/{activity.id}/{shown_step}.{step_code(activity, shown_step)}"
    fragment = secretary.get(f"/activities/{activity.id}/qr", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "已签到 <strong>0</strong> 人" in fragment
    assert secretary.get(f"/activities/{activity.id}/qr/{step - 10}.png").status_code == 404  # a stale image


def test_the_qr_screen_waits_for_the_check_in_to_open(app):
    activity = make_activity(start=utcnow() + timedelta(days=1))
    page = as_user(app, "HN1002").get(f"/activities/{activity.id}/qr").get_data(as_text=True)
    assert "签到将于" in page and "qr-image" not in page


def test_the_check_in_page_outside_the_app(app, client):
    activity = make_activity()
    step = time_step(utcnow())
    url = f"/a/{activity.id}/{step}.{step_code(activity, step)}"
    anonymous = client.get(url)
    assert anonymous.status_code == 200 and "登录井站通" in anonymous.get_data(as_text=True)
    assert "学习党章" not in anonymous.get_data(as_text=True)  # nothing about the activity without a login
    member = as_user(app, "HN1003")
    page = member.get(url).get_data(as_text=True)
    assert "学习党章" in page and ">签到</button>" in page
    fields = {"uuid": page.split('name="uuid" value="')[1].split('"')[0]}
    done = member.post(url, data=fields)
    assert done.status_code == 302 and done.headers["Location"] == f"/activities/{activity.id}"
    # A second tap, two seconds later (the second turned between them): the same check-in, not a refusal.
    import time_machine

    with time_machine.travel(utcnow().replace(tzinfo=timezone.utc) + timedelta(seconds=2), tick=True):
        assert member.post(url, data=fields).status_code == 302
    assert len(attendance(activity)) == 1 and attendance(activity)[0].method == "scan"
    assert "您已签到" in member.get(url).get_data(as_text=True)
    expired = member.get(f"/a/{activity.id}/{step - 5}.{step_code(activity, step - 5)}").get_data(as_text=True)
    assert "签到码已过期，请扫描现场大屏上的最新二维码" in expired
    # The page is online: a time sent with the form is not trusted, so an old code stays expired whatever it says.
    old_step = step - 5
    old_time = datetime.fromtimestamp(old_step * 30, timezone.utc).isoformat()
    forged = member.post(f"/a/{activity.id}/{old_step}.{step_code(activity, old_step)}",
                         data={"uuid": str(uuid.uuid4()), "at": old_time})
    assert forged.status_code == 422 and "签到码已过期" in forged.get_data(as_text=True)
    bad_uuid = member.post(url, data={"uuid": "not a uuid"})
    assert bad_uuid.status_code == 422
    assert member.get(f"/a/{activity.id}/99999999999999999999999.{'0' * 12}").status_code == 404


def test_my_activities(app):
    activity = make_activity(topic="主题党日：重温誓词")
    make_activity("HN2002", topic="二号站的活动")
    member = as_user(app, "HN1003")
    page = member.get("/activities/mine").get_data(as_text=True)
    assert "主题党日：重温誓词" in page and "二号站的活动" not in page and "未签到" in page
    send(member, scan_record(activity))
    assert "出席" in member.get("/activities/mine").get_data(as_text=True)
    assert "出席" in member.get(f"/activities/{activity.id}").get_data(as_text=True).split("我的签到")[1]
    assert 'href="/activities/mine"' in member.get("/me").get_data(as_text=True)
