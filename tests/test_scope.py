"""Scope: the leader of station 1 is refused every page, photo, export and action of station 2.

Every route of the app that takes an id in its path must have a case here (the walk over the URL map fails
otherwise), so a new route cannot be added without deciding who may use it.
"""
import uuid as uuid_module

import pytest

from tests.conftest import login
from tests.scope_objects import snapshot

# Routes whose ids are not a station's: the answer the leader of another station gets is stated, not assumed.
WORK_AREA_WIDE = {
    "cards.show": 200,  # 三亮 cards are shown to colleagues across the work area (docs/decisions.md)
    "cards.qr": 200,
    "cards.public": 200,  # the public card needs no login at all
    "cards.public_photo": 404,  # only when the member opted in to show the photo
    "procedures.show": 200,  # operating procedures are the work area's
    "static": 200,
    "pwa.icon": 200,  # the app's icons, the same for everyone
    "pwa.script_messages": 200,  # the scripts' English texts, the same for everyone
}
ADMIN_ONLY = {"admin.edit_procedure", "admin.edit_template"}


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
    assert leader.get(path.format(**station2)).status_code == (403 if path == "/review/overview" else 404)


@pytest.mark.parametrize("path, data", [
    ("/review/bulk-approve", {"station": "{station_id}"}),
    ("/handover/", {"station": "{station_id}"}),
])
def test_actions_with_a_station_in_the_form_refuse_another_stations_leader(app, station2, path, data):
    leader = app.test_client()
    login(leader, "HN1001")
    before = snapshot()
    response = leader.post(path, data={k: v.format(**station2) for k, v in data.items()})
    assert response.status_code == 404 and snapshot() == before


def test_unknown_ids_answer_like_another_work_areas(app, station2):
    admin = app.test_client()
    login(admin, "HN0001")
    for path in ("/review/patrols/999999", "/review/checks/999999", "/hazards/999999", "/wells/999999/history",
                 f"/photos/{uuid_module.uuid4()}.jpg"):
        assert admin.get(path).status_code == 404, path
