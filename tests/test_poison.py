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


@pytest.mark.parametrize("second", ["HN1003", "HN1004"])
def test_two_phones_sending_the_same_records_in_opposite_order_both_get_answers(app, second):
    """PostgreSQL found a deadlock every time (one answered 500). The same worker's two phones now take turns (an
    advisory lock per author); two workers sending the same records — a hostile reuse of uuids — may still deadlock,
    and the loser is run again from the start. Each record is stored once, and both batches get every answer."""
    import threading

    from tests.test_sync import post

    for _round in range(2):
        records = [patrol_record(get_well("海1-02")) for _ in range(30)]
        forward = batch(*records)
        backward = dict(forward, records=list(reversed(forward["records"])))
        answers = {}

        def send(name, payload):
            client = app.test_client()
            login(client, "HN1003" if name == "a" else second)
            response = post(client, payload)
            answers[name] = (response.status_code, [r["status"] for r in response.json["results"]])

        threads = [threading.Thread(target=send, args=(n, p)) for n, p in (("a", forward), ("b", backward))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert {name: code for name, (code, _) in answers.items()} == {"a": 200, "b": 200}
        for _code, statuses in answers.values():
            # Another worker's copy of a stored uuid is a conflict; their patrol of 海1-02 not in their station
            # is refused as such: either way an answer, never a 500.
            assert set(statuses) <= ({"created", "duplicate"} if second == "HN1003" else {"created", "duplicate", "rejected"})
        with db.connection_context():
            assert Patrol.select().where(Patrol.uuid.in_([r["uuid"] for r in records])).count() == 30


def test_a_batch_run_again_after_a_deadlock_runs_alone(app):
    """Two workers sending the same uuids could deadlock, and the loser, run again at once, lose to the same winner
    four times in a row (the test above, one run in ten). Every batch holds the sync turns shared; one run again
    holds them alone, so no batch under way can deadlock with it."""
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("PostgreSQL's advisory locks")
    from peewee import OperationalError

    from webapp.sync import SYNC_TURNS, write_batch

    modes = []

    def write():
        held = db.execute_sql("SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
                              " AND pid = pg_backend_pid()", SYNC_TURNS).fetchall()
        modes.append([mode for (mode,) in held])
        if len(modes) == 1:
            raise OperationalError("deadlock detected")
        return "stored"

    with db.connection_context():
        assert write_batch(write, 1) == "stored"
    assert modes == [["ShareLock"], ["ExclusiveLock"]]


def test_a_record_the_server_fails_on_costs_that_record_only(app, monkeypatch, caplog):
    """A bug met by one record (here the patrol handler failing on one note) is that record's refusal, with a
    reason the worker can act on and the error in the log; the batch's other records are stored."""
    from webapp import patrols, sync_sets

    real = patrols.judge_patrol

    def failing(ctx, data):
        if data.get("note") == "trips a bug":
            raise RuntimeError("a bug")
        return real(ctx, data)

    # Both paths: the set-based one leaves the record to the path record by record, which answers it.
    monkeypatch.setattr(patrols, "judge_patrol", failing)
    monkeypatch.setattr(sync_sets, "judge_patrol", failing)
    client = app.test_client()
    login(client, "HN1003")
    good, bad, after = (patrol_record(get_well("海1-02"), note=n) for n in ("", "trips a bug", "之后"))
    from tests.test_sync import post

    results = post(client, batch(good, bad, after)).json["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert results[1]["error"]["code"] == "server_error" and "记录仍在手机上" in results[1]["error"]["message"]
    assert "a bug" in caplog.text
    with db.connection_context():
        assert not Patrol.select().where(Patrol.uuid == bad["uuid"]).exists()


def test_fifty_phones_at_once_on_make_runs_threaded_server_get_no_error(app):
    """`make run` serves with Werkzeug's threaded server: 50 phones syncing at once got "database is locked" (60 of
    629 requests answered 500) on SQLite, writers waiting past the busy timeout. Each phone here sends three batches
    at the same moment as the others, with the busy timeout cut to 50 ms so that waiting on SQLite's lock fails at
    once (this load, at 10 s, would not show it): the writers of one server must take turns, not race for the lock."""
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the dev server's database")
    database = db.obj
    database._pragmas = [(k, 50 if k == "busy_timeout" else v) for k, v in database._pragmas]
    database._timeout = 0.05
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from werkzeug.serving import make_server

    from tests.conftest import DEMO_PASSWORD
    from tests.live_gunicorn import Phone, demo_people, patrol

    with db.connection_context():
        people = demo_people()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        where = SimpleNamespace(base=f"http://127.0.0.1:{server.server_port}")
        phones = [(Phone(where, people[n % len(people)][0], DEMO_PASSWORD), people[n % len(people)][1])
                  for n in range(50)]
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda p: p[0].login(), phones))
        start = threading.Barrier(50, timeout=60)

        def work(phone_and_wells):
            phone, wells = phone_and_wells
            start.wait()
            codes, sent = [], []
            for round_ in range(3):
                records = [patrol(wells[(round_ * 3 + i) % len(wells)]) for i in range(3)]
                sent += [r["uuid"] for r in records]
                codes.append(phone.sync(records).status_code)
            return codes, sent

        with ThreadPoolExecutor(max_workers=50) as pool:
            outcomes = list(pool.map(work, phones))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert [code for codes, _ in outcomes for code in codes] == [200] * 150
    with db.connection_context():
        stored = Patrol.select().where(Patrol.uuid.in_([u for _, sent in outcomes for u in sent])).count()
    assert stored == 450
