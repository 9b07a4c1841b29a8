"""Access matrix: role × station × route, generated from the URL map.

Every route that takes an id (and every page, export and photo that reads `?station=`) is asked by people of
another station — its leader, a worker, the secretary of another branch —, by the objects' own station, by an
admin and by nobody logged in, once for objects of 海南二号站 and once for ids that do not exist. For everyone
outside the station the two answers must be the same (status and page), so nobody learns what another station
holds by trying ids; every refusal must leave a line in the "jingzhan.access" log; and nothing may change.
"""
import logging
import re
import uuid as uuid_module

import pytest

from tests.conftest import login
from tests.scope_objects import snapshot

OUTSIDERS = {"leader of 一号站": "HN1001", "worker of 一号站": "HN1003", "secretary of 一号站党支部": "HN1002"}
INSIDERS = {"leader of 二号站": "HN2001", "worker of 二号站": "HN2003", "admin": "HN0001"}

# Arguments that name an object; the others (topic, kind, fmt, step, code, filename) are kept as they are.
INT_IDS = {"activity_id", "suggestion_id", "project_id", "milestone_id", "post_id", "well_id", "patrol_id", "check_id",
           "hazard_id", "alert_id", "handover_id", "commitment_id", "station_id", "user_id"}
TOKENS = {"qr_token", "token"}
ID_ARGS = INT_IDS | TOKENS | {"uuid"}
UNKNOWN_INT = 987_654_321

# Objects every colleague of the work area may see (the 三亮 card is shown across the work area, procedures and
# templates are the work area's): refusing an action on them as 403 hides nothing.
WORK_AREA_WIDE = {"cards.show", "cards.qr", "cards.badge", "cards.photo", "cards.public", "cards.public_photo",
                  "procedures.show", "admin.edit_procedure", "admin.edit_template", "admin.edit_readings", "static", "pwa.icon", "pwa.script_messages"}
# A scanned code (a label's 128-bit token, an activity's rotating HMAC code) proves the worker saw it: the answer
# explains, in Chinese, whose well or activity it is instead of pretending it does not exist (docs/decisions.md).
SCANNED = {"wells.scanned": "属于海南二号站，不是您所在的站", "activities.checkin": "您不在本次活动的参加人员之中"}
# Open without a login (the scanner too: passers-by scan 三亮 cards with it; the browser fetches the manifest bare).
PUBLIC = {"cards.public", "cards.public_photo", "activities.checkin", "static", "api.health", "wells.scan", "pwa.icon",
          "pwa.manifest", "pwa.script_messages"}
FORM = {"decision": "approve", "comment": "x", "note": "x", "action": "assign", "rating": "good", "reason": "x",
        "title": "x", "status": "cancelled", "user_id": "1", "member_id": "1", "points": "1"}


def unknown_args(args: dict) -> dict:
    """The same arguments with every object id replaced by one that exists nowhere."""
    out = dict(args)
    for name in args:
        if name in INT_IDS:
            out[name] = UNKNOWN_INT
        elif name in TOKENS:
            out[name] = uuid_module.uuid4().hex  # as long as a real token, never issued
        elif name == "uuid":
            out[name] = str(uuid_module.uuid4())
    return out


# Routes whose path arguments are not a station's objects: an onboarding result is a one-hour file of the admin's
# own session, a template is one of four kinds (tests/test_onboarding.py covers who may open them); a work area's
# overview is the plant admin's (tests/test_plant.py).
NOT_STATION_OBJECTS = {"onboarding.result", "onboarding.passwords", "onboarding.template", "plant.area"}


def station_routes(app):
    """(rule, method) for every route with an id in its path, and every GET page without arguments (they may read
    ?station=, which is an id too)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.arguments or (method == "GET" and not rule.rule.startswith("/api/")
                                  and rule.endpoint not in ("auth.login", "pwa.service_worker", "pwa.offline")):
                yield rule, method


def urls(app, rule, objects):
    """The URL for station 2's objects and the URL for unknown ids (both with ?station=)."""
    adapter = app.url_map.bind("localhost")
    missing = rule.arguments - objects.keys()
    assert not missing, f"{rule.rule}: no station-2 object for {missing}; add one to tests/test_scope.py's station2"
    real = {"station": objects["station_id"], **{a: objects[a] for a in rule.arguments}}
    return adapter.build(rule.endpoint, real), adapter.build(rule.endpoint, {**unknown_args(real),
                                                                            "station": UNKNOWN_INT})


def ask(client, url, method):
    response = client.open(url, method=method, data=FORM if method == "POST" else None)
    # Every page carries the server's time (the phone's lower bound for what it records next): the second may turn
    # between the two requests compared.
    answer = (response.status_code, re.sub(rb' data-server-time="[^"]*"', b"", response.get_data()))
    response.close()
    return answer


@pytest.fixture
def clients(app):
    made = {}
    for label, employee_no in {**OUTSIDERS, **INSIDERS, "anonymous": None}.items():
        client = app.test_client()
        if employee_no:
            login(client, employee_no)
        made[label] = client
    return made


def test_another_stations_objects_answer_like_unknown_ids(app, station2, clients, caplog):
    """The heart of the matrix: outsiders get the same answer for station 2's objects as for ids that do not exist,
    every refusal is logged with the user, the route and the object, and nothing changes."""
    before = snapshot()
    checked = set()
    for rule, method in station_routes(app):
        real, unknown = urls(app, rule, station2)
        for label, employee_no in OUTSIDERS.items():
            client = clients[label]
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="jingzhan.access"):
                status, page = ask(client, real, method)
            denials = [r.getMessage() for r in caplog.records if r.name == "jingzhan.access"]
            unknown_status, unknown_page = ask(client, unknown, method)
            where = (label, method, rule.rule)
            if rule.endpoint in WORK_AREA_WIDE:
                assert status != 500, where
                continue
            if rule.endpoint in SCANNED:
                if rule.arguments:
                    assert status == 403 and SCANNED[rule.endpoint] in page.decode(), where
                continue
            if not rule.arguments and status == 200:
                continue  # a page of the user's own that ignores ?station= or falls back to their own station
            assert status in (403, 404), (*where, status)
            assert (status, page) == (unknown_status, unknown_page), (*where, status, unknown_status)
            assert denials, (*where, "refused without a log line")
            assert f"/{employee_no} " in denials[-1] and f"route={method} {rule.endpoint} " in denials[-1], denials
            checked.add(rule.endpoint)
    assert snapshot() == before
    assert {"wells.show", "history.show", "review.patrol", "review.check", "hazards.show", "photos.show",
            "photos.thumb", "commitments.show", "suggestions.show", "projects.show", "activities.show",
            "assessment.member", "labels.well_png", "labels.station_pdf", "cards.branch_badges", "handover.take_over",
            "reports.daily_export", "reports.monthly_export", "wells.acknowledge", "posts.end",
            "projects.complete_milestone"} <= checked, sorted(checked)


def test_the_objects_own_station_and_the_admin_get_in(app, station2, clients):
    """The other half: the same URLs are not refused as unknown to those whose station it is or to the admin (a
    matrix that refused everyone would pass the test above)."""
    for rule, method in station_routes(app):
        if method != "GET" or not rule.arguments or rule.endpoint in NOT_STATION_OBJECTS:
            continue
        real, unknown = urls(app, rule, station2)
        for label in INSIDERS:
            status, _ = ask(clients[label], real, method)
            unknown_status, _ = ask(clients[label], unknown, method)
            if rule.arguments & ID_ARGS:
                assert unknown_status in (403, 404), (label, rule.rule, unknown_status)
            if rule.endpoint == "cards.public_photo":  # the member did not opt in to show the photo
                assert status == 404
            elif label == "admin" and rule.endpoint != "activities.checkin":  # the admin was not invited to it
                assert status == 200, (label, rule.rule, status)
            else:
                assert status in (200, 403), (label, rule.rule, status)  # 403: a role the user lacks, never 404


def test_nobody_logged_in_is_sent_to_log_in_whatever_the_id(app, station2, clients):
    anonymous = clients["anonymous"]
    before = snapshot()
    for rule, method in station_routes(app):
        if rule.endpoint in PUBLIC:
            continue
        real, unknown = urls(app, rule, station2)
        for url in (real, unknown):
            response = anonymous.open(url, method=method, data=FORM if method == "POST" else None)
            assert response.status_code in (302, 401), (method, rule.rule, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), (rule.rule, response.headers["Location"])
            response.close()
    # The API, too: 401 JSON, never a redirect (a followed redirect looks like success to fetch).
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint not in PUBLIC:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                response = anonymous.open(rule.rule, method=method, json={})
                assert response.status_code == 401 and response.is_json, (method, rule.rule)
    assert snapshot() == before


def test_public_pages_answer_the_same_to_everyone(app, station2, clients):
    """The public card and a check-in code need no login: an unknown token is 404 for anyone."""
    for label, client in clients.items():
        assert client.get(f"/c/{station2['token']}").status_code == 200, label
        assert client.get(f"/c/{uuid_module.uuid4().hex}").status_code == 404, label


def test_a_denial_is_logged_with_user_route_and_object(app, station2, caplog):
    leader = app.test_client()
    login(leader, "HN1001")
    with caplog.at_level(logging.WARNING, logger="jingzhan.access"):
        assert leader.get(f"/hazards/{station2['hazard_id']}").status_code == 404
    [line] = [r.getMessage() for r in caplog.records if r.name == "jingzhan.access"]
    assert "status=404 reason=other_station" in line
    assert "/HN1001 " in line and "route=GET hazards.show " in line
    assert f"object=[hazard_id={station2['hazard_id']}]" in line and f"station={station2['station_id']}" in line


def test_refusals_decided_in_a_view_are_logged_too(app, caplog):
    """A colleague of the same branch may know the commitment exists but not read it: 403, logged all the same."""
    from models import Commitment, db, utcnow
    from tests.conftest import get_user

    member = get_user("HN1004")
    with db.connection_context():
        commitment = Commitment.create(member=member, station=member.station_id, period=str(utcnow().year),
                                       category="safety", content="不漏井", target="全年无漏检", status="submitted")
    colleague = app.test_client()
    login(colleague, "HN1003")
    with caplog.at_level(logging.WARNING, logger="jingzhan.access"):
        assert colleague.get(f"/commitments/{commitment.id}").status_code == 403
        assert colleague.post("/review/bulk-approve", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "jingzhan.access"]
    assert len(lines) == 2, lines
    assert "status=403" in lines[0] and "/HN1003 " in lines[0] and f"commitment_id={commitment.id}" in lines[0]
    assert "route=POST review.bulk_approve" in lines[1]


def test_log_lines_cannot_be_forged_through_the_url(app, caplog):
    worker = app.test_client()
    login(worker, "HN1003")
    with caplog.at_level(logging.WARNING, logger="jingzhan.access"):
        # (A label token cannot carry a newline any more: such an address matches no route. A worker asking for an
        # admin page is refused and logged, with whatever the address holds.)
        assert worker.get("/admin/readings/abc%0Aaccess%20denied:%20status=200").status_code == 403
    [line] = [r.getMessage() for r in caplog.records if r.name == "jingzhan.access"]
    assert "\n" not in line and "\\n" in line


# Tokens: the label and card QR codes are the keys to a well page and a public card, so they must be unguessable
# (≥ 128 bits from `secrets`), rotatable, and owe nothing to the database ids or the codes printed beside them.

def token_bits(token: str) -> int:
    import base64

    return 8 * len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def test_tokens_come_from_secrets_with_at_least_128_bits(monkeypatch):
    import secrets

    import models

    asked = []
    real = secrets.token_urlsafe
    monkeypatch.setattr(models.secrets, "token_urlsafe", lambda n=None: asked.append(n) or real(n))
    token = models.new_token()
    assert asked and asked[0] >= 16 and token_bits(token) >= 128
    assert len({models.new_token() for _ in range(2000)}) == 2000


def test_well_and_card_tokens_are_unrelated_to_ids(app, dbconn):
    from models import Station, User, Well

    wells = list(Well.select())
    assert all(token_bits(w.qr_token) >= 128 for w in wells)
    assert len({w.qr_token for w in wells}) == len(wells)
    assert [w.id for w in sorted(wells, key=lambda w: w.qr_token)] != sorted(w.id for w in wells)
    members = [u for u in User.select().where(User.card_token.is_null(False))]
    assert members and all(token_bits(u.card_token) >= 128 for u in members)
    # The same id and code again: a new token (nothing derives it from the row).
    station = Station.get(Station.name == "海南一号站")
    first = Well.create(station=station, code="试-01")
    well_id, token = first.id, first.qr_token
    first.delete_instance()
    again = Well.create(id=well_id, station=station, code="试-01")
    assert again.qr_token != token


def test_tokens_rotate_and_the_old_ones_stop_working(app, station2):
    leader = app.test_client()
    login(leader, "HN2001")
    from models import Well, db
    from tests.conftest import get_user

    with db.connection_context():
        well = Well.get_by_id(station2["well_id"])
    assert leader.get(f"/w/{well.qr_token}").status_code == 200
    assert leader.post(f"/labels/wells/{well.id}/regenerate").status_code == 302
    with db.connection_context():
        renewed = Well.get_by_id(well.id).qr_token
    assert renewed != well.qr_token and token_bits(renewed) >= 128
    assert leader.get(f"/w/{well.qr_token}").status_code == 404 and leader.get(f"/w/{renewed}").status_code == 200
    old_card = station2["token"]
    member = get_user("HN2001")
    assert member.card_token == old_card
    assert leader.post("/cards/me/reissue").status_code == 302
    new_card = get_user("HN2001").card_token
    assert new_card != old_card and token_bits(new_card) >= 128
    anonymous = app.test_client()
    assert anonymous.get(f"/c/{old_card}").status_code == 404 and anonymous.get(f"/c/{new_card}").status_code == 200
