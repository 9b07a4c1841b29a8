"""Real server processes: gunicorn killed in the middle of a 500-record sync, and many writers at once.

Each test starts `gunicorn 'webapp:create_app()'` on 127.0.0.1 (a free port) over a fresh copy of the demo
database, logs phones in through the login page (cookies, CSRF field, a browser's Origin and Sec-Fetch-Site) and
syncs as the outbox does. What must hold: a batch is committed whole or not at all, whatever kills the server;
the phone's resend after a restart makes every record exist exactly once; concurrent batches from many users on
several workers never meet "database is locked" nor a 5xx, and the row counts are exact.
"""
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from models import Patrol, SyncReceipt, db
from tests.conftest import BACKENDS, DEMO_PASSWORD, make_app
from tests.live_gunicorn import Gunicorn, Phone, demo_people, patrol

SERVER_ERRORS = ("database is locked", "Traceback", "[ERROR]", "[CRITICAL]")


@pytest.fixture
def demo_database(request, templates, tmp_path):
    """A fresh copy of the demo database for a server process; the models are bound to it for counting."""
    backend = getattr(request, "param", "sqlite")
    url, drop = templates[backend](tmp_path, True)
    make_app(url, tmp_path)
    yield url
    if not db.is_closed():
        db.close()
    drop()


def counts(uuids):
    with db.connection_context():
        return (
            SyncReceipt.select().where(SyncReceipt.uuid.in_(uuids)).count(),
            Patrol.select().where(Patrol.uuid.in_(uuids)).count(),
            Patrol.select().count(),
        )


def assert_clean_log(server):
    log = server.log()
    for marker in SERVER_ERRORS:
        assert marker not in log, f"{marker!r} in the server's log:\n{log[-4000:]}"


def writer_is_busy(path):
    """True while another connection holds SQLite's write lock (a transaction between BEGIN IMMEDIATE and COMMIT)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        probe.close()


def tapped(record):
    record["data"].update(method="nfc", nfc={"e": "00" * 16, "c": "00" * 8})
    record["data"].pop("qr_token", None)
    return record


@pytest.mark.parametrize("victim", ["worker", "master and workers"])
def test_server_killed_mid_sync_then_the_phone_resends(demo_database, tmp_path, victim):
    path = demo_database[len("sqlite:///"):]
    with db.connection_context():
        wells = dict(demo_people())["HN1003"]
    _, _, before = counts([])
    server = Gunicorn(demo_database, tmp_path, workers=1, password=DEMO_PASSWORD).start()
    try:
        phone = Phone(server, "HN1003", DEMO_PASSWORD).login()
        # NFC taps (that do not verify: flagged, stored) go record by record (webapp/sync_sets.py): a batch long
        # enough to be killed in the middle of its write; a set-based batch of 500 is written in ~0.15 s.
        records = [tapped(patrol(wells[i % len(wells)])) for i in range(500)]
        uuids = [r["uuid"] for r in records]
        [worker] = server.worker_pids()
        outcome = {}

        def send():
            try:
                outcome["response"] = phone.sync(records)
            except requests.RequestException as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send)
        started = time.monotonic()
        sender.start()
        # Kill once the batch's write transaction has held the lock for 100 ms (one batch takes ~0.6 s or more).
        busy_since = None
        while time.monotonic() - started < 30:
            if writer_is_busy(path):
                busy_since = busy_since or time.monotonic()
                if time.monotonic() - busy_since > 0.1:
                    break
            else:
                busy_since = None
            assert "response" not in outcome, "the batch finished before it could be killed"
            time.sleep(0.005)
        else:
            pytest.fail("the server never started writing the batch")
        if victim == "worker":
            os.kill(worker, signal.SIGKILL)
        else:
            server.kill_all()
        sender.join(timeout=30)
        assert "error" in outcome or outcome["response"].status_code >= 500, outcome
        # All or nothing: the killed transaction left no record behind.
        receipts, patrols, total = counts(uuids)
        assert (receipts, patrols) == (0, 0)
        assert total == before
        assert not writer_is_busy(path)

        # The server comes back (gunicorn's master starts a new worker; a killed service is restarted).
        if victim == "worker":
            server.wait_healthy()
            assert server.worker_pids() != [worker]
        else:
            server.start()
        # The phone resends the same batch with the same login cookie, as outbox.js does.
        response = phone.sync(records)
        assert response.status_code == 200, response.text[:500]
        assert Counter(r["status"] for r in response.json()["results"]) == {"created": 500}
        again = phone.sync(records)
        assert Counter(r["status"] for r in again.json()["results"]) == {"duplicate": 500}
        assert counts(uuids) == (500, 500, before + 500)
        check = sqlite3.connect(path)
        try:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            check.close()
        assert "database is locked" not in server.log()
    finally:
        server.stop()


@pytest.mark.parametrize("demo_database", BACKENDS, indirect=True)
def test_concurrent_writers_many_users_several_workers(demo_database, tmp_path):
    """200 batches at once from 20 workers' phones (some batches sent twice at the same time) on 4 gunicorn workers."""
    with db.connection_context():
        people = demo_people(limit_per_station=5)[:20]
    _, _, before = counts([])
    server = Gunicorn(demo_database, tmp_path, workers=4, password=DEMO_PASSWORD).start()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            phones = list(pool.map(lambda p: Phone(server, p[0], DEMO_PASSWORD).login(), people))
        wells = dict(people)
        batches = []
        for i in range(170):
            phone = phones[i % len(phones)]
            batches.append((phone, [patrol(wells[phone.employee_no][(i + k) % len(wells[phone.employee_no])])
                                    for k in range(10)]))
        # 30 batches delivered twice (a phone retrying while its first request is still in flight): 200 in all.
        plan = batches + [batches[i * 5] for i in range(30)]
        plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7919) % len(plan))]
        with ThreadPoolExecutor(max_workers=40) as pool:
            responses = list(pool.map(lambda b: b[0].sync(b[1]), plan))
        assert Counter(r.status_code for r in responses) == {200: 200}, [r.text[:300] for r in responses if r.status_code != 200][:3]
        statuses = Counter()
        created = Counter()
        for response in responses:
            for result in response.json()["results"]:
                statuses[result["status"]] += 1
                if result["status"] == "created":
                    created[result["uuid"]] += 1
        uuids = [r["uuid"] for _, records in batches for r in records]
        assert statuses == {"created": 1700, "duplicate": 300}
        assert set(created) == set(uuids) and set(created.values()) == {1}
        assert counts(uuids) == (1700, 1700, before + 1700)
        assert_clean_log(server)
    finally:
        server.stop()
