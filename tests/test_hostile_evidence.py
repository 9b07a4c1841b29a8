"""Hostile input on everything issue 15 and 16 touched: lone surrogates, 400-digit numbers, years 1 and 9999, NUL
bytes, non-ASCII digits as ids and another station's ids — answered without a 500, and nothing written by a refusal."""
import json
import uuid as uuid_module
from urllib.parse import quote

import pytest

from models import BulkApproval, ChainLink, Discard, Evidence, Hazard, NfcTag, Patrol, db
from tests.conftest import get_user, get_well, login
from tests.test_sync import batch, now_iso, patrol_record, post

HOSTILE = ["\ud83d", "\x00", 10 ** 400, "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "٣", "²", -1]


def encoded(fields: dict) -> dict:
    """A form or query as a broken client sends it: a lone surrogate as its raw (invalid UTF-8) bytes."""
    body = "&".join(f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in fields.items())
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


def query(fields: dict) -> str:
    return "?" + "&".join(f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in fields.items())


def counts():
    with db.connection_context():
        return [m.select().count() for m in (Patrol, Evidence, ChainLink, Discard, NfcTag, BulkApproval, Hazard)]


@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["chain.device", "chain.seq", "chain.prev", "chain.seen", "nfc.e", "nfc.c",
                                   "position.latitude", "position.accuracy", "copied", "qr_token", "method"])
def test_a_hostile_value_in_a_patrols_evidence_never_answers_500(worker, where, value):
    record = patrol_record(get_well("海1-02"))
    record["chain"] = {"device": "p", "seq": 1, "prev": None, "seen": None}
    outer, key = where.split(".") if "." in where else (where, None)
    if outer == "nfc":
        record["data"].update(method="nfc", nfc={"e": "0" * 32, "c": "0" * 16})
    if key is None:
        (record["data"] if outer != "chain" else record)[outer] = value
    else:
        (record if outer == "chain" else record["data"])[outer][key] = value
    response = post(worker, batch(record))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    [result] = response.json["results"]
    assert result["status"] in ("created", "rejected")
    if result["status"] == "rejected":
        assert not result["error"]["message"].isascii()
        with db.connection_context():
            assert not Patrol.select().where(Patrol.uuid == record["uuid"]).exists()


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("where", ["record.uuid", "record.type", "error_code", "record.chain"])
def test_a_hostile_discard_never_answers_500(worker, where, value):
    outer, key = where.split(".") if "." in where else (where, None)
    data = {"record": {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": now_iso(), "data": {}}}
    if key is None:
        data[outer] = value
    else:
        data[outer][key] = value
    record = {"uuid": str(uuid_module.uuid4()), "type": "discard", "created_at": now_iso(), "data": data}
    before = counts()
    response = post(worker, batch(record))
    assert response.status_code == 200
    if response.json["results"][0]["status"] == "rejected":
        after = counts()
        assert after[3] == before[3]  # no discard kept for a refused one


@pytest.mark.parametrize("value", ["\ud83d", "\x00", "9" * 400, "٣", "²", "-1", "0001-01-01", "9999-12-31"])
def test_hostile_form_values_on_the_new_pages_never_answer_500(app, value):
    admin, leader = app.test_client(), app.test_client()
    login(admin, "HN0001")
    login(leader, "HN1001")
    before = counts()
    answers = [
        admin.post("/tags/", **encoded({"uid": value, "well_id": value})),
        admin.post("/tags/", **encoded({"uid": "04DE5F1EACC040", "well_id": value})),
        leader.get("/review/evidence" + query({"month": value, "station": value})),
        leader.get("/review/" + query({"date": value, "shift": value})),
        leader.get("/review/overview" + query({"date": value})),
        leader.post("/review/bulk-approve", **encoded({"date": value, "shift": value})),
        leader.get(f"/n/{get_well('海1-02').id}" + query({"e": value, "c": value})),
    ]
    with db.connection_context():
        hazard = Hazard.select().where(Hazard.station == get_user("HN1001").station_id).first()
    if hazard:
        answers.append(leader.post(f"/hazards/{hazard.id}/steps",
                                   **encoded({"action": "reject", "note": "x", "duplicate_of": value})))
    for response in answers:
        assert response.status_code < 500, (response.request.path, response.status_code)
    assert counts() == before


@pytest.mark.parametrize("path", ["/tags/{n}/revoke", "/review/bulk/{n}/undo"])
@pytest.mark.parametrize("n", ["9" * 400, "%D9%A3", "%C2%B2", "-1", "0"])
def test_hostile_ids_in_the_new_routes_are_not_found(app, path, n):
    admin = app.test_client()
    login(admin, "HN0001")
    assert admin.post(path.format(n=n)).status_code == 404


def test_another_stations_hazard_is_no_duplicate_original(app):
    from tests.test_hazards import record, send

    leader, other_worker = app.test_client(), app.test_client()
    login(leader, "HN1001")
    login(other_worker, "HN2003")
    [theirs] = send(other_worker, record("hazard", {"well_id": get_well("海2-01").id, "description": "漏油"}))
    [mine] = send(leader, record("hazard", {"well_id": get_well("海1-02").id, "description": "漏油"}))
    with db.connection_context():
        ours = Hazard.get_by_id(mine["id"])
    [answer] = send(leader, record("hazard_step", {"hazard_uuid": str(ours.uuid), "action": "reject", "note": "重复",
                                                   "duplicate_of": theirs["id"]}))
    assert answer["status"] == "rejected" and answer["error"]["code"] == "invalid_duplicate"
    with db.connection_context():
        assert Hazard.get_by_id(mine["id"]).status == "reported"
    assert json.dumps(answer, ensure_ascii=False)
