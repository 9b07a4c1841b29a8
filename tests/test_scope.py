"""Scope: the leader of station 1 is refused every page, photo, export and action of station 2.

Every route of the app that takes an id in its path must have a case here (the walk over the URL map fails
otherwise), so a new route cannot be added without deciding who may use it.
"""
import json
import uuid as uuid_module
from datetime import timedelta

import pytest

from models import (
    Activity, Attendance,
    Commitment, EquipmentCheck, FluctuationAlert, Handover, Hazard, Milestone, ModelPost, Patrol, PioneerProject, Station,
    Suggestion, User, Well, db, utcnow,
)
from tests.conftest import login
from webapp.activities import step_code, time_step
from tests.test_checks import check_record
from tests.test_hazards import photo, record, send
from tests.test_sync import batch, patrol_record, post

# Routes whose ids are not a station's: the answer the leader of another station gets is stated, not assumed.
WORK_AREA_WIDE = {
    "cards.show": 200,  # 三亮 cards are shown to colleagues across the work area (docs/decisions.md)
    "cards.qr": 200,
    "cards.public": 200,  # the public card needs no login at all
    "cards.public_photo": 404,  # only when the member opted in to show the photo
    "procedures.show": 200,  # operating procedures are the work area's
    "static": 200,
}
ADMIN_ONLY = {"admin.edit_procedure", "admin.edit_template"}


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
        handover = Handover.create(station=station, day=utcnow().date(), shift_index=0, outgoing=worker, summary="{}")
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
    return {
        "activity_id": activity.id, "step": step, "code": step_code(activity, step),
        "suggestion_id": suggestion.id, "project_id": project.id, "milestone_id": milestone.id, "post_id": model_post.id,
        "well_id": well.id, "qr_token": well.qr_token, "patrol_id": patrol["id"], "check_id": check_result["id"],
        "hazard_id": hazard["id"], "alert_id": alert.id, "handover_id": handover.id, "commitment_id": commitment.id,
        "station_id": station.id, "user_id": worker.id, "uuid": picture, "token": member.card_token,
        "topic": "operation:bie", "kind": "pumping_unit", "filename": "css/app.css", "fmt": "xlsx",
    }


def snapshot() -> str:
    """Everything a refused action could have changed, as text to compare."""
    with db.connection_context():
        rows = [list(model.select().dicts()) for model in (Patrol, EquipmentCheck, Hazard, FluctuationAlert, Handover, Activity, Attendance,
                                                             Commitment, Well, Suggestion, PioneerProject, Milestone,
                                                             ModelPost)]
        rows.append(list(User.select(User.id, User.avatar, User.card_token).dicts()))
    return json.dumps(rows, default=str, sort_keys=True)


def id_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_id_route_refuses_another_stations_leader(app, station2):
    leader = app.test_client()
    login(leader, "HN1001")
    before = snapshot()
    checked = []
    for rule, method in id_routes(app):
        missing = rule.arguments - station2.keys()
        assert not missing, f"{rule.rule}: no station-2 object for {missing}; add one to the station2 fixture"
        # ?station= too: pages that take their station from the query must not fall back to the leader's own.
        url = app.url_map.bind("localhost").build(rule.endpoint, {"station": station2["station_id"],
                                                                  **{a: station2[a] for a in rule.arguments}})
        response = leader.open(url, method=method, data={"decision": "approve", "comment": "x", "note": "x",
                                                         "action": "assign", "rating": "good"})
        expected = WORK_AREA_WIDE.get(rule.endpoint)
        if expected is not None and method == "GET":
            assert response.status_code == expected, (rule.rule, response.status_code)
        else:
            assert response.status_code in (403, 404), (method, rule.rule, response.status_code)
        response.close()
        checked.append(rule.endpoint)
    assert snapshot() == before
    assert {"review.patrol", "review.check", "history.show", "photos.show", "handover.take_over", "reports.daily_export",
            "labels.station_pdf", "cards.branch_badges", "wells.acknowledge"} <= set(checked), sorted(set(checked))


@pytest.mark.parametrize("path", [
    "/review/?station={station_id}", "/handover/?station={station_id}", "/wells/?station={station_id}",
    "/review/overview",
])
def test_pages_with_a_station_in_the_query_refuse_another_stations_leader(app, station2, path):
    leader = app.test_client()
    login(leader, "HN1001")
    assert leader.get(path.format(**station2)).status_code == 403


@pytest.mark.parametrize("path, data", [
    ("/review/bulk-approve", {"station": "{station_id}"}),
    ("/handover/", {"station": "{station_id}"}),
])
def test_actions_with_a_station_in_the_form_refuse_another_stations_leader(app, station2, path, data):
    leader = app.test_client()
    login(leader, "HN1001")
    before = snapshot()
    response = leader.post(path, data={k: v.format(**station2) for k, v in data.items()})
    assert response.status_code == 403 and snapshot() == before


def test_unknown_ids_answer_like_another_work_areas(app, station2):
    admin = app.test_client()
    login(admin, "HN0001")
    for path in ("/review/patrols/999999", "/review/checks/999999", "/hazards/999999", "/wells/999999/history",
                 f"/photos/{uuid_module.uuid4()}.jpg"):
        assert admin.get(path).status_code == 404, path
