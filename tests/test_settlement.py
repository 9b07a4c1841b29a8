"""Scores once read out stay as they were: records that feed the 3K+行为 assessment of a settled month (before last
month) can no longer be entered or changed, a photographed code stops working some hours after the activity, and
nobody credits themself."""
import json
import uuid
from datetime import date, timedelta

from models import Attendance, Deduction, ScoreRules, Suggestion, db, utcnow
from tests.conftest import get_user
from tests.test_activities import as_user, make_activity, scan_record, send
from webapp.assessment import in_force, rule_versions

LONG_AGO = timedelta(days=70)  # always before the first day of last month


def test_a_settled_activity_is_neither_edited_nor_cancelled_nor_marked(app):
    activity = make_activity(start=utcnow() - LONG_AGO)
    secretary = as_user(app, "HN1002")
    edit = secretary.post(f"/activities/{activity.id}/edit", data={"topic": "改过"})
    assert edit.status_code == 422 and "已结算的月份" in edit.get_data(as_text=True)
    cancel = secretary.post(f"/activities/{activity.id}/cancel", follow_redirects=True)
    assert "已结算的月份" in cancel.get_data(as_text=True)
    member = get_user("HN1003")
    mark = secretary.post(f"/activities/{activity.id}/attendance", data={"user_id": member.id, "status": "present"})
    assert mark.status_code == 422 and "已结算的月份" in mark.get_data(as_text=True)
    with db.connection_context():
        assert Attendance.select().count() == 0 and activity.__class__.get_by_id(activity.id).cancelled_at is None


def test_the_organiser_does_not_mark_themself_present(app):
    activity = make_activity()
    secretary = get_user("HN1002")
    response = as_user(app, "HN1002").post(f"/activities/{activity.id}/attendance",
                                           data={"user_id": secretary.id, "status": "present"})
    assert response.status_code == 422 and "本人的出席请扫码签到" in response.get_data(as_text=True)


def test_a_code_scanned_offline_must_arrive_within_hours_of_the_end(app):
    """A phone that really scanned during the activity syncs within the grace; a 'scan' made of a photo and a
    forged time days later is refused."""
    member = as_user(app, "HN1003")
    recent = make_activity(start=utcnow() - timedelta(hours=5), hours=2)  # ended 3 h ago
    [fresh] = send(member, scan_record(recent, at=recent.starts_at + timedelta(minutes=20)))
    assert fresh["status"] == "created", fresh
    old = make_activity(start=utcnow() - timedelta(hours=40), hours=2, topic="前天的学习")  # ended 38 h ago
    [late] = send(member, scan_record(old, at=old.starts_at + timedelta(minutes=20)))
    assert late["status"] == "rejected" and late["error"]["code"] == "checkin_closed"
    assert "签到已截止" in late["error"]["message"]


def test_deductions_of_a_settled_month_and_the_party_committees_stay(app):
    member, secretary, admin = get_user("HN1003"), get_user("HN1002"), get_user("HN0001")
    with db.connection_context():
        settled = Deduction.create(member=member.id, station=member.station_id, month="2020-01", points=2,
                                   reason="无故缺席", recorded_by=secretary.id)
        by_admin = Deduction.create(member=member.id, station=member.station_id,
                                    month=utcnow().strftime("%Y-%m"), points=3, reason="违规", recorded_by=admin.id)
    client = as_user(app, "HN1002")
    old = client.post("/assessment/deductions/undo", data={"deduction": settled.id, "reason": "弄错了"},
                      follow_redirects=True)
    assert "已结算的月份" in old.get_data(as_text=True)
    other = client.post("/assessment/deductions/undo", data={"deduction": by_admin.id, "reason": "弄错了"},
                        follow_redirects=True)
    assert "只能由党总支撤销" in other.get_data(as_text=True)
    with db.connection_context():
        assert Deduction.select().where(Deduction.corrects.is_null(False)).count() == 0
    done = as_user(app, "HN0001").post("/assessment/deductions/undo",
                                       data={"deduction": by_admin.id, "reason": "核实后撤销"})
    assert done.status_code in (200, 302)
    with db.connection_context():
        assert Deduction.get(Deduction.corrects == by_admin.id).points == -3


def test_a_decision_of_a_settled_month_stays(app):
    author = get_user("HN1003")
    with db.connection_context():
        suggestion = Suggestion.create(uuid=uuid.uuid4(), author=author.id, station=author.station_id, title="节能",
                                       body="加热炉改造", device_time=utcnow() - LONG_AGO, status="adopted",
                                       decided_by=get_user("HN1002").id, decided_at=utcnow() - LONG_AGO)
    response = as_user(app, "HN1002").post(f"/suggestions/{suggestion.id}/decision",
                                           data={"decision": "declined", "note": "重新考虑"})
    assert response.status_code == 422 and "已结算的月份" in response.get_data(as_text=True)
    with db.connection_context():
        assert Suggestion.get_by_id(suggestion.id).status == "adopted"


def test_the_rules_saved_last_apply_from_their_month(dbconn):
    """v2 was saved to start in two months; v3, saved after it, starts this month: v3 applies from now on."""
    today = date.today().replace(day=1)
    later = (today + timedelta(days=62)).replace(day=1)
    rows = json.dumps([], ensure_ascii=False)
    ScoreRules.create(version=2, valid_from=later, rules=rows)
    ScoreRules.create(version=3, valid_from=today, rules=rows)
    versions = rule_versions(1)
    assert in_force(versions, today).version == 3 and in_force(versions, later).version == 3
    assert in_force(versions, today - timedelta(days=1)).version == 1
