"""Objects of station 2 for every id a URL can take, made by station 2's own people, and a snapshot of what a
refused request could have changed: shared by the scope, access-matrix, header and CSRF tests (a plugin of
tests/conftest.py, so the fixture is found without importing it)."""

import json
import uuid as uuid_module
from datetime import timedelta

import pytest

from models import (
    Activity, Attendance, BulkApproval,
    Commitment, EquipmentCheck, FluctuationAlert, Handover, Hazard, Milestone, ModelPost, NfcTag, Patrol, PioneerProject, Station,
    Suggestion, User, Well, db, utcnow,
)
from tests.conftest import login
from tests.test_checks import check_record
from tests.test_hazards import photo, record, send
from tests.test_sync import batch, patrol_record, post
from webapp.activities import step_code, time_step
from webapp.handover import shift_summary
from webapp.shifts import parse_shifts, shift_at


@pytest.fixture
def station2(app):
    """Records of station 2 made by its own people: a patrol, a check, a hazard with a photo, an alert, a handover
    and a commitment; returns the ids by URL argument name."""
    with db.connection_context():
        station = Station.get(Station.name == "海南二号站")
        well = Well.select().where(Well.station == station).order_by(Well.code).first()
        worker = User.select().where((User.station == station) & User.is_party_member).order_by(User.employee_no).first()
    client = app.test_client()
    login(client, worker.employee_no)
    [patrol] = post(client, batch(patrol_record(well))).json["results"]
    check = check_record(well.code)
    [check_result] = post(client, batch(check)).json["results"]
    picture = photo(client)
    [hazard] = send(client, record("hazard", {"well_id": well.id, "description": "井口漏油", "severity": "general",
                                              "photos": [picture]}))
    assert {patrol["status"], check_result["status"], hazard["status"]} == {"created"}
    with db.connection_context():
        alert = FluctuationAlert.create(well=well, patrol=patrol["id"], metric="current_up_a", value=90, baseline=40)
        # The shift under way, summed up as a handover stores it: its page shows the stored one at any hour.
        tz, shifts = app.config["TIMEZONE"], parse_shifts(station.work_area.shifts)
        day, shift = shift_at(utcnow(), shifts, tz)
        handover = Handover.create(station=station, day=day, shift_index=shift.index, outgoing=worker,
                                   summary=json.dumps(shift_summary(station, day, shift, tz, utcnow())))
        commitment = Commitment.create(member=worker, station=station, period=str(utcnow().year), category="safety",
                                       content="不漏井", target="全年无漏检", status="submitted")
        member = User.get_by_id(worker.id)
        member.issue_card_token()
        suggestion = Suggestion.create(uuid=uuid_module.uuid4(), author=worker, station=station, title="建议", body="内容",
                                       device_time=utcnow())
        project = PioneerProject.create(station=station, title="先锋工程", leader=worker, starts_on=utcnow().date(),
                                        due_on=utcnow().date())
        milestone = Milestone.create(project=project, title="节点", owner=worker, due_on=utcnow().date())
        model_post = ModelPost.create(member=worker, title="示范岗", start_date=utcnow().date())
        activity = Activity.create(station=station, kind="theme_day", topic="主题党日", starts_at=utcnow(),
                                   ends_at=utcnow() + timedelta(hours=2), organiser=worker)
        step = time_step(utcnow())
        tag = NfcTag.create(work_area=station.work_area_id, well=well, uid="04AABBCCDDEE01")
        bulk = BulkApproval.create(station=station, reviewer=worker, approved_at=utcnow(), patrol_ids=f"[{patrol['id']}]")
    return {
        "tag_id": tag.id, "batch_id": bulk.id,
        "activity_id": activity.id, "step": step, "code": step_code(activity, step),
        "suggestion_id": suggestion.id, "project_id": project.id, "milestone_id": milestone.id, "post_id": model_post.id,
        "well_id": well.id, "qr_token": well.qr_token, "patrol_id": patrol["id"], "check_id": check_result["id"],
        "hazard_id": hazard["id"], "alert_id": alert.id, "handover_id": handover.id, "commitment_id": commitment.id,
        "station_id": station.id, "area_id": station.work_area_id, "user_id": worker.id, "uuid": picture, "token": member.card_token,
        "topic": "operation:bie", "kind": "pumping_unit", "well_kind": "oil", "figure": "study", "filename": "css/app.css", "name": "icon-192.png", "fmt": "xlsx", "language": "en",
    }


def snapshot() -> str:
    """Everything a refused action could have changed, as text to compare."""
    with db.connection_context():
        rows = [list(model.select().dicts()) for model in (Patrol, EquipmentCheck, Hazard, FluctuationAlert, Handover, Activity, Attendance,
                                                             Commitment, Well, Suggestion, PioneerProject, Milestone,
                                                             ModelPost, NfcTag, BulkApproval)]
        rows.append(list(User.select(User.id, User.avatar, User.card_token).dicts()))
    return json.dumps(rows, default=str, sort_keys=True)
