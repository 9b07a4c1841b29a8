"""Hazards and their closed loop across roles, through the sync pipeline (records) like the phones send them."""
import io
import uuid
from datetime import date, timedelta

import pytest

from models import Hazard, HazardStep, db
from tests.conftest import get_user, get_well
from tests.test_checks import check_record
from tests.test_photos import jpeg
from tests.test_sync import batch, now_iso, post


def record(kind, data, uid=None):
    return {"uuid": uid or str(uuid.uuid4()), "type": kind, "created_at": now_iso(), "data": data}


def send(client, *records):
    return post(client, batch(*records)).json["results"]


def photo(client):
    uid = str(uuid.uuid4())
    response = client.post("/api/v1/photos", data={"uuid": uid, "file": (io.BytesIO(jpeg(640, 480)), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 201
    return uid


def report(client, **data):
    well = get_well("海1-02")
    body = {"well_id": well.id, "description": "盘根盒漏油", "severity": "major", **data}
    uid = str(uuid.uuid4())
    [answer] = send(client, record("hazard", body, uid))
    assert answer["status"] == "created", answer
    return uid


def step(client, hazard_uuid, action, **data):
    [answer] = send(client, record("hazard_step", {"hazard_uuid": hazard_uuid, "action": action, **data}))
    return answer


def hazard(uid):
    with db.connection_context():
        return Hazard.get(Hazard.uuid == uid)


def deadline(days=3):
    return (date.today() + timedelta(days=days)).isoformat()


def test_full_loop_across_roles(people):
    well = get_well("海1-02")
    uid = report(people["worker"], photos=[photo(people["worker"])])
    assert hazard(uid).status == "reported"
    assignee = get_user("HN1004")
    assert step(people["leader"], uid, "assign", assignee_id=assignee.id, deadline=deadline())["status"] == "created"
    assert hazard(uid).status == "assigned"
    after = photo(people["assignee"])
    answer = step(people["assignee"], uid, "rectify", note="更换盘根", photos=[after], method="scan", qr_token=well.qr_token)
    assert answer["status"] == "created", answer
    assert hazard(uid).status == "rectified"
    # The rectifier cannot verify their own work.
    denied = step(people["assignee"], uid, "verify")
    assert denied["status"] == "rejected" and denied["error"]["code"] == "self_verify"
    assert step(people["colleague"], uid, "verify", note="复查无渗漏")["status"] == "created"
    assert step(people["leader"], uid, "close")["status"] == "created"
    final = hazard(uid)
    assert final.status == "closed" and final.closed_at is not None and final.rectified_by.employee_no == "HN1004"
    with db.connection_context():
        actions = [(s.action, s.actor.employee_no) for s in HazardStep.select().where(HazardStep.hazard == final).order_by(HazardStep.id)]
    assert actions == [("report", "HN1003"), ("assign", "HN1001"), ("rectify", "HN1004"), ("verify", "HN1005"), ("close", "HN1001")]


def test_returned_at_verification_goes_back_to_the_assignee(people):
    uid = report(people["worker"])
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    step(people["assignee"], uid, "rectify", note="紧固", photos=[photo(people["assignee"])], method="manual")
    with db.connection_context():
        assert HazardStep.get(HazardStep.action == "rectify").flags.split()[:2] == ["manual", "no_gps"]
    assert step(people["leader"], uid, "return")["error"]["code"] == "missing_note"
    assert step(people["leader"], uid, "return", note="仍有渗漏")["status"] == "created"
    again = hazard(uid)
    assert again.status == "assigned" and again.rectified_by is None


@pytest.mark.parametrize(
    "who, action, data, code",
    [
        ("worker", "assign", {}, "forbidden"),
        ("leader", "assign", {"assignee_id": 999999, "deadline": "2099-01-01"}, "invalid_assignee"),
        ("leader", "assign", {"assignee": "HN2003", "deadline": "2099-01-01"}, "invalid_assignee"),
        ("leader", "assign", {"assignee": "HN1004", "deadline": "2001-01-01"}, "invalid_deadline"),
        ("leader", "assign", {"assignee": "HN1004", "deadline": "明天"}, "invalid_deadline"),
        ("leader", "rectify", {"note": "x"}, "forbidden"),
        ("leader", "verify", {}, "wrong_state"),
        ("leader", "close", {}, "wrong_state"),
        ("leader", "teleport", {}, "invalid_value"),
    ],
)
def test_steps_out_of_turn_are_refused(people, who, action, data, code):
    uid = report(people["worker"])
    if "assignee" in data:
        data = {k: v for k, v in data.items() if k != "assignee"} | {"assignee_id": get_user(data["assignee"]).id}
    answer = step(people[who], uid, action, **data)
    assert answer["status"] == "rejected" and answer["error"]["code"] == code
    assert not answer["error"]["message"].isascii()
    assert hazard(uid).status == "reported"


def test_rectify_needs_what_was_done_and_an_after_photo(people):
    uid = report(people["worker"])
    step(people["leader"], uid, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    assert step(people["assignee"], uid, "rectify", photos=[photo(people["assignee"])])["error"]["code"] == "missing_note"
    assert step(people["assignee"], uid, "rectify", note="换了")["error"]["code"] == "missing_photo"
    # Another label than the well's: kept (a rule never loses a visit) and flagged for the leader.
    wrong = step(people["assignee"], uid, "rectify", note="换了", photos=[photo(people["assignee"])], method="scan", qr_token="x")
    assert wrong["status"] == "created"
    with db.connection_context():
        assert "label_mismatch" in HazardStep.get(HazardStep.action == "rectify").flag_list


def test_hazard_raised_from_an_abnormal_check_item(people):
    check = check_record(items=None)
    check["data"]["items"]["leak"] = {"ok": False, "note": "盘根盒渗油"}
    well = get_well("海1-02")
    hazard_record = record("hazard", {"well_id": well.id, "equipment_id": check["data"]["equipment_id"],
                                      "description": "盘根盒渗油", "source_check_uuid": check["uuid"], "source_item": "leak"})
    answers = send(people["worker"], check, hazard_record)
    assert [a["status"] for a in answers] == ["created", "created"]
    raised = hazard(hazard_record["uuid"])
    with db.connection_context():
        assert str(raised.source_check.uuid) == check["uuid"] and raised.equipment.kind == "pumping_unit"


@pytest.mark.parametrize(
    "data, code",
    [
        ({"description": ""}, "missing_description"),
        ({"description": "x" * 600}, "too_long"),
        ({"severity": "apocalyptic"}, "invalid_value"),
        ({"well_id": "1"}, "invalid_value"),
        ({"well_id": 999999}, "unknown_well"),
        ({"photos": ["7f1d3c1e-8b0a-4c55-9a7e-2f1b0c9d8e7a"]}, "photo_missing"),
        ({"source_check_uuid": "nope"}, "invalid_value"),
    ],
)
def test_bad_hazard_reports(people, data, code):
    body = {"well_id": get_well("海1-02").id, "description": "漏油", **data}
    [answer] = send(people["worker"], record("hazard", body))
    assert answer["status"] == "rejected" and answer["error"]["code"] == code


def test_hazard_of_another_station_is_refused(people):
    [answer] = send(people["worker"], record("hazard", {"well_id": get_well("海2-02").id, "description": "漏油"}))
    assert answer["error"]["code"] == "not_in_station"


def test_station_hazard_without_a_well(people):
    [answer] = send(people["worker"], record("hazard", {"description": "站内消防器材过期"}))
    assert answer["status"] == "created"
    with db.connection_context():
        assert Hazard.get_by_id(answer["id"]).station.name == "海南一号站"


def test_unknown_hazard_step(people):
    answer = step(people["leader"], str(uuid.uuid4()), "close")
    assert answer["error"]["code"] == "unknown_hazard"


def test_the_leader_rejects_an_invalid_or_duplicate_hazard_which_then_scores_nothing(app, people):
    """A bogus report must not pay: judged invalid (with a reason) or a duplicate (linked), it leaves the open lists
    and earns no 3K+ points; a rectified hazard cannot be written off; only the station's leader may."""
    first = report(people["worker"])
    again = report(people["worker"])
    assert step(people["worker"], again, "reject", note="重复")["error"]["code"] == "forbidden"
    assert step(people["leader"], again, "reject")["error"]["code"] == "missing_note"
    with db.connection_context():
        original = Hazard.get(Hazard.uuid == first)
    assert step(people["leader"], again, "reject", note="与上一条重复",
                duplicate_of=str(hazard(again).id))["error"]["code"] == "invalid_duplicate"  # not itself
    assert step(people["leader"], again, "reject", note="与上一条重复", duplicate_of=str(original.id))["status"] == "created"
    rejected = hazard(again)
    assert rejected.status == "rejected" and rejected.duplicate_of_id == original.id
    assert step(people["leader"], again, "assign", assignee_id=get_user("HN1004").id,
                deadline=deadline())["error"]["code"] == "wrong_state"
    leader_page = people["leader"].get(f"/hazards/{rejected.id}").get_data(as_text=True)
    assert "已判定不成立" in leader_page and "不计入 3K+ 积分" in leader_page
    assert f"/hazards/{rejected.id}" not in people["leader"].get("/hazards/?show=open").get_data(as_text=True)
    # A rectified one cannot be written off.
    step(people["leader"], first, "assign", assignee_id=get_user("HN1004").id, deadline=deadline())
    step(people["assignee"], first, "rectify", note="更换盘根", photos=[photo(people["assignee"])], method="manual")
    assert step(people["leader"], first, "reject", note="算了")["error"]["code"] == "wrong_state"
    with db.connection_context():
        from models import Station, utcnow
        from webapp.assessment import year_report
        from webapp.periods import local_today

        worker = get_user("HN1003")
        assert {h.status for h in Hazard.select().where(Hazard.reporter == worker.id)} == {"rectified", "rejected"}
        year = local_today(utcnow(), "Asia/Shanghai").year
        [column] = year_report([Station.get_by_id(worker.station_id)], year, "Asia/Shanghai").columns
        from webapp.periods import month_start

        in_year = (Hazard.station == worker.station_id) & (Hazard.reported_at >= month_start(year, 1, "Asia/Shanghai")) \
            & (Hazard.reported_at < month_start(year + 1, 1, "Asia/Shanghai"))
        valid = Hazard.select().where(in_year & (Hazard.status != "rejected")).count()
        everything = Hazard.select().where(in_year).count()
    assert column.values["hazards_found"] == valid == everything - 1  # the rejected one is not counted
    # The reporter's points page says which report did not score, and why.
    points = people["worker"].get("/assessment/me").get_data(as_text=True)
    assert "未计分的隐患上报（1 条）" in points and "理由：与上一条重复" in points and "重复：与另一条隐患相同" in points
    assert f"/hazards/{rejected.id}" in points
