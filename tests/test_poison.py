"""A poison record never costs the others (issue 17.1): a lone UTF-16 surrogate — half an emoji a phone's slice()
cut — anywhere in a record or the batch is answered per record, in valid UTF-8, and the good records are stored."""
import json

import pytest

from models import Patrol, SyncReceipt, db
from tests.conftest import get_well, login
from tests.test_sync import batch, patrol_record

HALF = "\ud83d"


def _poisoned():
    well = lambda: get_well("海1-02")  # noqa: E731
    return {
        "note": lambda: patrol_record(well(), note="盘根渗油" + HALF),
        "type": lambda: {**patrol_record(well()), "type": "patrol" + HALF},
        "uuid": lambda: {**patrol_record(well()), "uuid": HALF},
        "reading key": lambda: patrol_record(well(), readings={HALF: 1}),
        "operation code": lambda: patrol_record(well(), operations={HALF: {}}),
        "unused field": lambda: patrol_record(well(), extra=HALF),
        "created_at": lambda: {**patrol_record(well()), "created_at": HALF},
        "confirmed": lambda: patrol_record(well(), confirmed=[HALF]),
        "edited_from": lambda: patrol_record(well(), edited_from=HALF),
        "qr_token": lambda: patrol_record(well(), qr_token=HALF),
    }


@pytest.mark.parametrize("where", list(_poisoned()))
def test_a_lone_surrogate_costs_its_own_record_at_most(app, where):
    client = app.test_client()
    login(client, "HN1003")
    good = patrol_record(get_well("海1-02"))
    body = json.dumps(batch(good, _poisoned()[where]()))  # escaped as \ud83d, as JSON.stringify writes it
    response = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert response.status_code == 200
    answer = json.loads(response.data.decode("utf-8"))  # strict UTF-8: the answer itself must be valid
    assert answer["results"][0]["status"] == "created"
    assert answer["results"][1]["status"] in ("created", "rejected")
    with db.connection_context():
        assert Patrol.select().where(Patrol.uuid == good["uuid"]).exists()


def test_a_device_id_with_a_lone_surrogate_costs_nothing(app):
    client = app.test_client()
    login(client, "HN1003")
    payload = batch(patrol_record(get_well("海1-02")))
    payload["device_id"] = "phone-" + HALF
    response = client.post("/api/v1/sync", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 200 and response.json["results"][0]["status"] == "created"
    with db.connection_context():
        assert SyncReceipt.get().device_id == "phone-\\ud83d"
