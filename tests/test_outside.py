"""Issue 17's outside run: the hostile inputs of the issue (and others like them), sent over real HTTP to a freshly
seeded server under gunicorn, on SQLite and PostgreSQL — no 5xx, no lost record, nothing in the server's log that
says it broke."""
import json
import threading
import uuid as uuid_module
from datetime import timedelta, timezone

import pytest

from models import Patrol, db, utcnow
from tests.conftest import BACKENDS, DEMO_PASSWORD
from tests.live_gunicorn import Gunicorn, Phone, demo_people, patrol
from tests.test_gunicorn import assert_clean_log, demo_database  # noqa: F401 — the fixture

HALF = "\\ud83d"  # a lone surrogate as JSON.stringify writes it


def _raw_batch(records_json: list[str]) -> str:
    # The app's clock (the server in its own process runs on the machine's; they agree unless a test moved ours).
    now = utcnow().replace(tzinfo=timezone.utc).astimezone(timezone(timedelta(hours=8))).isoformat(timespec="seconds")
    return f'{{"device_id": "outside-{HALF}", "sent_at": "{now}", "records": [{",".join(records_json)}]}}'


@pytest.mark.parametrize("demo_database", BACKENDS, indirect=True)
def test_hostile_input_over_http_breaks_nothing(demo_database, tmp_path):  # noqa: F811 (the fixture)
    with db.connection_context():
        employee_no, wells = demo_people()[0]
    with Gunicorn(demo_database, tmp_path, workers=2) as server:
        phone = Phone(server, employee_no, DEMO_PASSWORD).login()
        post = lambda body: phone.http.post(server.base + "/api/v1/sync", data=body,
                                            headers={**phone.headers(), "Content-Type": "application/json"}, timeout=60)
        good = patrol(wells[0])
        poisoned = [json.dumps(patrol(wells[1])).replace('"note": ""', f'"note": "渗油{HALF}"'),
                    json.dumps(patrol(wells[1])).replace('"type": "patrol"', f'"type": "patrol{HALF}"'),
                    json.dumps({**patrol(wells[1]), "uuid": "X"}).replace('"X"', f'"{HALF}"'),
                    json.dumps(patrol(wells[1])).replace('"readings": {', f'"readings": {{"{HALF}": 1, '),
                    json.dumps({**patrol(wells[2]), "data": {**patrol(wells[2])["data"],
                                                             "readings": {"stroke_m": "1_0"}}})]
        answer = post(_raw_batch([json.dumps(good), *poisoned]))
        assert answer.status_code == 200, answer.text[:500]
        results = json.loads(answer.content.decode("utf-8"))["results"]
        assert results[0]["status"] == "created" and len(results) == 6
        assert all(r["status"] in ("created", "rejected") for r in results)

        assert post("[" * 100_000).status_code == 400
        far = patrol(wells[3], created_at="2199-12-31T23:58:00+00:00")
        clock = phone.http.post(server.base + "/api/v1/sync", headers=phone.headers(), timeout=60,
                                json={"device_id": "d", "sent_at": "2199-12-31T23:59:00+00:00", "records": [far]})
        assert clock.status_code == 200 and clock.json()["results"][0]["status"] == "created"
        for path in ("/w/%00", "/c/%00", "/w/%ED%A0%BD", "/review/?date=0001-01-01", "/handover/?date=9999-12-31"):
            assert phone.http.get(server.base + path, timeout=30).status_code < 500, path

        # Two phones with the same records in opposite order, at once (a deadlock on PostgreSQL, once).
        records = [patrol(wells[i % len(wells)]) for i in range(40)]
        other = Phone(server, employee_no, DEMO_PASSWORD).login()
        codes = {}
        threads = [threading.Thread(target=lambda n, p, r: codes.__setitem__(n, p.sync(r).status_code), args=args)
                   for args in (("a", phone, records), ("b", other, list(reversed(records))))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert codes == {"a": 200, "b": 200}, server.log()[-6000:]
        assert_clean_log(server)
    with db.connection_context():
        assert Patrol.select().where(Patrol.uuid == uuid_module.UUID(good["uuid"])).exists()
        assert Patrol.select().where(Patrol.uuid.in_([r["uuid"] for r in records])).count() == 40
