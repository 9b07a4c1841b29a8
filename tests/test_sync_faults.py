"""Sync under faults: a model of the phone's outbox driving the real server, and a fuzz of sync payloads.

The state machine keeps a Python model of the outbox protocol of `static/js/outbox.js` (records saved with a
uuid; the logged-in user's pending records sent oldest first; a record leaves the outbox only when the server
answered `created` or `duplicate` for it; a rejected one stays, with its reason) and sends its batches to the real
app through Flask's test client, while the network loses requests, loses answers after the server committed,
reorders and duplicates batches, the session runs out and the phone's clock jumps. After every step:

- every record ever saved is on the server or still in the outbox (server ∪ outbox = saved);
- no record is on the server twice, and the server holds no row the phone did not send;
- nothing left the outbox without an answer `created`/`duplicate` that reached the phone;
- every answer the server gave is the one the contract predicts (created once, duplicate after, rejected with
  the reason), whatever came before.

The JS module itself is tested by tests/js/outbox.test.mjs (Node) against the same rules.
"""
import json
import os
import re
import threading
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from models import Patrol, SyncReceipt, User, Well, db
from tests.conftest import DEMO_PASSWORD, login

PHONE_TZ = timezone(timedelta(hours=8))
MAX_FUTURE = timedelta(minutes=5)  # webapp.sync.MAX_FUTURE
READINGS = {
    "current_up_a": 42.5, "current_down_a": 38.1, "stroke_m": 3.0, "strokes_per_min": 4.5,
    "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38,
}
# Clock jumps in whole even minutes, so that the difference between the clock at saving and at sending is never
# near the server's 5-minute limit (a few seconds of real time pass during a run).
CLOCK_JUMPS = [timedelta(minutes=m) for m in (-2 * 24 * 60, -60, -10, -4, -2, 2, 4, 10, 60, 2 * 24 * 60)]
# What can be wrong with a record the phone saved, and the server's answer for it.
FAULTS = {None: None, "other_station": "well_not_in_station", "out_of_range": "out_of_range", "missing_note": "missing_note"}


def _well(code):
    return Well.get(Well.code == code)


def login(client, employee_no):
    """Log in as a browser does: open the login page, then post the form with the token it carries (if any)."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form = {"employee_no": employee_no, "password": DEMO_PASSWORD}
    if token:
        form["csrf_token"] = token.group(1)
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _post(client, payload):
    return client.post("/api/v1/sync", data=json.dumps(payload), content_type="application/json")


class Record:
    """One record in the phone's outbox (what outbox.js keeps in IndexedDB)."""

    def __init__(self, seq, user, body, *, expect_error, saved_skew):
        self.seq, self.user, self.body = seq, user, body
        self.uuid = body["uuid"]
        self.expect_error = expect_error  # the handler's code when the content is refused, else None
        self.saved_skew = saved_skew  # the phone clock's error when the record was saved
        self.state, self.error = "pending", None


def make_machine(app, clients, anonymous, wells):
    """The state machine class, bound to one app (its database is shared by all examples; uuids are fresh)."""

    class OutboxAgainstServer(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.outbox: list[Record] = []  # oldest first, like the IndexedDB store keyed by seq
            self.saved: dict[str, Record] = {}
            self.acked: set[str] = set()  # uuids the phone saw `created` or `duplicate` for
            self.committed: dict[str, str] = {}  # uuid → author, what the server must hold (the model's belief)
            self.refused: set[str] = set()  # uuids the server answered `rejected` and holds nothing for
            self.stale: list[dict] = []  # requests whose answer was lost: the network may deliver them again later
            self.user = "HN1003"
            self.logged_in = {u: True for u in clients}
            self.skew = timedelta()
            self.seq = 0
            with db.connection_context():
                self.baseline = Patrol.select().count()
            for i in range(4):  # a shift's work saved offline before the first step
                self.save(None if i else "out_of_range", "海1-0" + str(2 + i % 3), "")

        # ---- the phone ----------------------------------------------------------------------------------

        def phone_now(self):
            return datetime.now(PHONE_TZ) + self.skew

        @rule(faults=st.lists(st.sampled_from([None, None, None, "other_station", "out_of_range", "missing_note"]),
                              min_size=1, max_size=5),
              well=st.sampled_from(["海1-02", "海1-03", "海1-04"]),
              note=st.sampled_from(["", "盘根漏油", "<script>alert(1)</script>", "'; DROP TABLE patrol; --"]))
        def save_records(self, faults, well, note):
            """The worker saves patrols (outbox.saveRecord): a fresh uuid each, the phone's clock, pending."""
            for fault in faults:
                self.save(fault, well, note)

        def save(self, fault, well, note):
            w = wells["海2-03" if fault == "other_station" else well]
            readings = dict(READINGS, oil_pressure_mpa=99) if fault == "out_of_range" else READINGS
            body = {
                "uuid": str(uuid_module.uuid4()),
                "type": "patrol",
                "created_at": self.phone_now().isoformat(timespec="seconds"),
                "data": {
                    "well_id": w.id, "method": "scan", "qr_token": w.qr_token, "readings": readings,
                    "position": {"latitude": float(w.latitude), "longitude": float(w.longitude), "accuracy": 8},
                    "abnormal": fault == "missing_note", "note": "" if fault == "missing_note" else note,
                },
            }
            self.seq += 1
            record = Record(self.seq, self.user, body, expect_error=FAULTS[fault], saved_skew=self.skew)
            self.outbox.append(record)
            self.saved[record.uuid] = record

        @rule(jump=st.sampled_from(CLOCK_JUMPS))
        def clock_jumps(self, jump):
            """The phone's clock is set wrong or corrected (battery swap, NTP, a worker fiddling)."""
            self.skew += jump

        @rule(user=st.sampled_from(["HN1003", "HN1004"]))
        def hand_phone_to(self, user):
            """Another worker of the station logs in on the same phone: only their records are sent now."""
            self.user = user

        @rule()
        def session_expires(self):
            self.logged_in[self.user] = False

        @rule()
        def log_in_again(self):
            self.logged_in[self.user] = True

        def take(self, size, skip=0):
            """The next batch: this user's pending records, oldest first (outbox.syncNow)."""
            pending = [r for r in self.outbox if r.user == self.user and r.state == "pending"]
            return pending[skip:skip + size]

        def request(self, records):
            return {
                "device_id": "phone-under-test",
                "sent_at": self.phone_now().isoformat(timespec="seconds"),
                "records": [r.body for r in records],
                "_skew": self.skew,  # the model's note of the clock at sending; not sent
            }

        def apply(self, answer):
            """outbox.applyResults: delete what the server has, mark what it refused, leave the rest."""
            by_uuid = {r["uuid"]: r for r in answer["results"]}
            kept = []
            for record in self.outbox:
                result = by_uuid.get(record.uuid)
                if result and result["status"] in ("created", "duplicate"):
                    self.acked.add(record.uuid)
                    continue
                if result and result["status"] == "rejected":
                    record.state, record.error = "rejected", result["error"]
                kept.append(record)
            self.outbox = kept

        # ---- the network and the server -----------------------------------------------------------------

        def deliver(self, payload, client=None, *, expect_session=True):
            """The request reaches the server; check the answer against the contract and return it (or None)."""
            client = client or (clients[self.user][0] if self.logged_in[self.user] else anonymous)
            wire = {k: v for k, v in payload.items() if not k.startswith("_")}
            response = _post(client, wire)
            if client is anonymous:
                assert response.status_code == 401 and response.is_json and "Location" not in response.headers
                return None
            assert response.status_code == 200, response.get_data(as_text=True)
            answer = response.get_json()
            self.check_answer(payload, answer)
            return answer

        def predict(self, record, sent_skew, author):
            """What the contract says the server answers for this record now, and update the model's server."""
            if record.uuid in self.committed:
                return "duplicate" if self.committed[record.uuid] == author else "conflict"
            if record.saved_skew - sent_skew > MAX_FUTURE:
                return "time_in_future"
            if record.expect_error:
                return record.expect_error
            self.committed[record.uuid] = author
            return "created"

        def check_answer(self, payload, answer, author=None):
            author = author or self.user
            assert len(answer["results"]) == len(payload["records"])
            for body, result in zip(payload["records"], answer["results"], strict=True):
                record = self.saved[body["uuid"]]
                expected = self.predict(record, payload["_skew"], author)
                assert result["uuid"] == record.uuid
                if expected in ("created", "duplicate"):
                    assert result["status"] == expected, (expected, result)
                    assert isinstance(result["id"], int)
                else:
                    assert result["status"] == "rejected", (expected, result)
                    assert result["error"]["code"] == expected, (expected, result)
                    assert not result["error"]["message"].isascii()
                    self.refused.add(record.uuid)

        @rule(size=st.integers(1, 6))
        def send(self, size):
            """A normal round trip."""
            batch = self.take(size)
            if batch:
                answer = self.deliver(self.request(batch))
                if answer is not None:
                    self.apply(answer)

        @rule(size=st.integers(1, 6))
        def request_lost(self, size):
            """No signal: fetch fails before anything reaches the server. The outbox keeps everything."""
            self.take(size)

        @rule(size=st.integers(1, 6))
        def answer_lost(self, size):
            """The server commits, then the connection drops: the phone never hears back and keeps the records."""
            batch = self.take(size)
            if batch:
                payload = self.request(batch)
                if self.deliver(payload) is not None:
                    self.stale.append(payload)

        @rule(size=st.integers(1, 4))
        def batches_reordered(self, size):
            """Two batches in flight arrive the other way round (the later one first)."""
            first, second = self.take(size), self.take(size, skip=size)
            payloads = [self.request(first), self.request(second)] if second else [self.request(first)]
            answers = [self.deliver(p) for p in reversed(payloads) if p["records"]]
            for answer in answers:
                if answer is not None:
                    self.apply(answer)

        @rule(size=st.integers(1, 6), phone_sees_second=st.booleans(), concurrently=st.booleans())
        def batch_duplicated(self, size, phone_sees_second, concurrently):
            """The network delivers one request twice (one after the other, or both at once on two connections);
            the phone gets one of the two answers."""
            batch = self.take(size)
            if not batch or not self.logged_in[self.user]:
                return
            payload = self.request(batch)
            if not concurrently:
                answers = [self.deliver(payload), self.deliver(payload)]
            else:
                wire = {k: v for k, v in payload.items() if not k.startswith("_")}
                raw = [None, None]

                def send(i):
                    raw[i] = _post(clients[self.user][i], wire)

                threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                assert [r.status_code for r in raw] == [200, 200]
                answers = [r.get_json() for r in raw]
                # Whichever committed first answers `created`, the other `duplicate`: check them as if in that order.
                for i in range(len(payload["records"])):
                    pair = [answers[0]["results"][i], answers[1]["results"][i]]
                    if pair[1]["status"] == "created":
                        answers[0]["results"][i], answers[1]["results"][i] = pair[1], pair[0]
                for answer in answers:
                    self.check_answer(payload, answer)
            self.apply(answers[1] if phone_sees_second else answers[0])

        @precondition(lambda self: self.stale)
        @rule(data=st.data())
        def stale_copy_arrives(self, data):
            """A copy of a request whose answer was lost arrives again much later; its answer goes nowhere."""
            payload = data.draw(st.sampled_from(self.stale))
            author = next(iter(self.saved[b["uuid"]].user for b in payload["records"]))
            client = clients[author][1]
            wire = {k: v for k, v in payload.items() if not k.startswith("_")}
            response = _post(client, wire)
            assert response.status_code == 200
            self.check_answer(payload, response.get_json(), author=author)

        # ---- what must always hold ----------------------------------------------------------------------

        @invariant()
        def nothing_lost_nothing_twice(self):
            saved = set(self.saved)
            in_outbox = {r.uuid for r in self.outbox}
            assert len(in_outbox) == len(self.outbox), "a record is twice in the outbox"
            with db.connection_context():
                on_server = {str(r.uuid) for r in SyncReceipt.select(SyncReceipt.uuid).where(SyncReceipt.uuid.in_(list(saved)))} if saved else set()
                patrols = list(Patrol.select(Patrol.uuid, Patrol.author).where(Patrol.uuid.in_(list(saved)))) if saved else []
                total = Patrol.select().count()
                authors = {u.id: u.employee_no for u in User.select().where(User.employee_no.in_(list(clients)))}
            # server ∪ outbox = every record saved
            assert on_server | in_outbox == saved, f"lost: {saved - on_server - in_outbox}"
            # none deleted from the outbox before the server acknowledged it (and an acknowledgement is true)
            assert saved - in_outbox <= self.acked
            assert self.acked <= on_server
            # the server holds exactly what the model says it must: one row per uuid, by its author, nothing else
            assert on_server == set(self.committed)
            assert len(patrols) == len(on_server)
            assert total == self.baseline + len(self.committed), "rows that no record accounts for"
            for patrol in patrols:
                assert authors[patrol.author_id] == self.committed[str(patrol.uuid)]
            # rejected records stay, with the server's reason, and are on the server never
            for record in self.outbox:
                if record.state == "rejected":
                    assert record.uuid in self.refused and record.uuid not in on_server
                    assert record.error and not record.error["message"].isascii()

        def teardown(self):
            """Back in signal, logged in, clock right: the outbox drains to its rejected records."""
            if not hasattr(self, "outbox"):
                return
            self.skew = timedelta()
            for user in clients:
                self.user, self.logged_in[user] = user, True
                while self.take(100):
                    self.send(100)
            self.nothing_lost_nothing_twice()
            assert all(r.state == "rejected" for r in self.outbox)
            good = {u for u, r in self.saved.items() if r.expect_error is None}
            assert set(self.committed) <= good

    return OutboxAgainstServer


def test_outbox_protocol_under_network_faults(app):
    clients = {}
    for employee_no in ("HN1003", "HN1004"):
        pair = []
        for _ in range(2):  # two connections (sessions) per worker, for batches delivered at the same time
            c = app.test_client()
            login(c, employee_no)
            pair.append(c)
        clients[employee_no] = pair
    with db.connection_context():
        wells = {code: _well(code) for code in ("海1-02", "海1-03", "海1-04", "海2-03")}
    machine = make_machine(app, clients, app.test_client(), wells)
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=30, stateful_step_count=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )


# ---- the fuzz: whatever the phone (or anyone) sends, a per-record answer or a clear 400, never a 500 -------------

# Any Unicode, lone surrogates included (half an emoji a phone's slice() cut: JSON.stringify escapes it as \ud83d,
# as json.dumps does here), in values and in keys.
# (st.text leaves surrogates out whatever its alphabet: strings are built from characters instead.)
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
ANY_TEXT = st.lists(ANY_CHAR, max_size=40).map("".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.lists(ANY_CHAR, max_size=12).map("".join), children, max_size=4),
    max_leaves=12,
)
TYPES = ["patrol", "equipment_check", "hazard", "hazard_step", "commitment_progress", "attendance", "suggestion"]
DATA_KEYS = [
    "well_id", "method", "qr_token", "readings", "position", "abnormal", "note", "operations", "corrects_uuid",
    "equipment_id", "template_id", "items", "photos", "severity", "description", "deadline", "hazard_uuid",
    "step", "assignee_id", "action", "commitment_id", "quantity", "activity_id", "code", "title", "body", "text",
    "source_item", "source_check_uuid", "show",
]
TIMES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                 timezones=st.just(PHONE_TZ) | st.just(timezone.utc) | st.none()).map(lambda d: d.isoformat()),
    st.sampled_from(["", "Z", "2026-13-40T99:99:99+08:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00"]),
    JSON,
)
IDS = st.one_of(st.integers(-2, 40), st.integers(-2**63, 2**64), st.floats(), st.booleans(),
                st.lists(ANY_CHAR, max_size=5).map("".join), st.none())
DATA_VALUES = st.one_of(IDS, JSON, st.sampled_from(["scan", "manual", "report", "rectify", "海1-02", "高"]),
                        st.dictionaries(st.sampled_from(list(READINGS) + ["bie", "xun", "latitude", "longitude"]),
                                        st.one_of(IDS, JSON), max_size=4))
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "uuid": st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.text(max_size=40), JSON),
        "type": st.one_of(st.sampled_from(TYPES), JSON),
        "created_at": TIMES,
        "data": st.one_of(st.dictionaries(st.sampled_from(DATA_KEYS), DATA_VALUES, max_size=6), JSON),
        "sig": JSON,
    },
)
RECENT = st.integers(0, 60 * 24 * 30).map(lambda m: (datetime.now(PHONE_TZ) - timedelta(minutes=m)).isoformat(timespec="seconds"))
# Records that pass the envelope checks, so that each type's handler sees the fuzzed data.
WELL_FORMED = st.fixed_dictionaries({
    "uuid": st.uuids(version=4).map(str),
    "type": st.sampled_from(TYPES),
    "created_at": RECENT,
    "data": st.dictionaries(st.sampled_from(DATA_KEYS), DATA_VALUES, max_size=8),
})
PAYLOADS = st.one_of(
    JSON,
    st.fixed_dictionaries({"device_id": st.just("fuzz"), "sent_at": RECENT,
                           "records": st.lists(WELL_FORMED, min_size=1, max_size=5)}),
    st.fixed_dictionaries(
        {},
        optional={
            "device_id": st.one_of(ANY_TEXT, st.text(max_size=70), JSON),
            "sent_at": TIMES,
            "records": st.one_of(st.lists(st.one_of(RECORDS, JSON), max_size=5), JSON),
        },
    ),
)


@settings(max_examples=int(os.environ.get("JINGZHAN_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=PAYLOADS)
def test_fuzzed_sync_payloads_never_fail_the_server(worker_client, payload):
    try:
        data = json.dumps(payload, allow_nan=False)
    except (ValueError, OverflowError):
        return
    response = worker_client.post("/api/v1/sync", data=data, content_type="application/json")
    assert response.is_json, response.status_code
    body = response.get_json()
    if response.status_code == 200:
        results = body["results"]
        assert isinstance(payload, dict) and len(results) == len(payload["records"])
        for result in results:
            assert result["status"] in ("created", "duplicate", "rejected")
            if result["status"] == "rejected":
                assert isinstance(result["error"]["code"], str)
                assert not result["error"]["message"].isascii(), result
            else:
                assert isinstance(result["id"], int)
    else:
        assert response.status_code in (400, 413), (response.status_code, body)
        assert not body["error"]["message"].isascii(), body


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_sync_bodies_that_are_not_json(worker_client, raw):
    response = worker_client.post("/api/v1/sync", data=raw, content_type="application/json")
    assert response.is_json and response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert not response.get_json()["error"]["message"].isascii()


@pytest.fixture
def worker_client(client):
    login(client, "HN1003")
    return client


def _values_that_once_failed(wells):
    """Records the fuzz found answered with a 500 (the whole batch lost): each must be one rejected record."""
    well = wells["海1-02"]
    patrol = {"well_id": well.id, "method": "scan", "qr_token": well.qr_token, "readings": READINGS}
    return [
        ("type", {"type": ["patrol"], "data": patrol}, "unknown_type"),
        ("patrol method", {"data": dict(patrol, method=["scan"])}, "invalid_value"),
        ("patrol well_id", {"data": dict(patrol, well_id=2**70)}, "unknown_well"),
        ("hazard severity", {"type": "hazard", "data": {"well_id": well.id, "description": "漏油", "severity": {}}},
         "invalid_value"),
        ("hazard well_id", {"type": "hazard", "data": {"well_id": -(2**70), "description": "漏油"}}, "unknown_well"),
        ("hazard equipment_id", {"type": "hazard", "data": {"equipment_id": 2**64, "description": "漏油"}},
         "unknown_equipment"),
        ("check equipment_id", {"type": "equipment_check", "data": {"equipment_id": 2**70, "method": "manual"}},
         "unknown_equipment"),
        ("progress commitment_id", {"type": "commitment_progress", "data": {"commitment_id": 2**70}}, "unknown_commitment"),
    ]


def test_values_that_once_failed_the_server_are_rejected_per_record(worker_client):
    with db.connection_context():
        wells = {"海1-02": _well("海1-02")}
    cases = _values_that_once_failed(wells)
    good = {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": datetime.now(PHONE_TZ).isoformat(timespec="seconds"),
            "data": {"well_id": wells["海1-02"].id, "method": "scan", "qr_token": wells["海1-02"].qr_token, "readings": READINGS}}
    records = [dict({"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": good["created_at"]}, **case)
               for _, case, _ in cases] + [good]
    payload = {"device_id": "fuzz", "sent_at": good["created_at"], "records": records}
    response = _post(worker_client, payload)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    results = response.get_json()["results"]
    for (name, _, code), result in zip(cases, results[:-1], strict=True):
        assert result["status"] == "rejected" and result["error"]["code"] == code, (name, result)
        assert not result["error"]["message"].isascii()
    assert results[-1]["status"] == "created"


def test_hazard_step_with_an_assignee_beyond_the_database(app):
    """The leader's assign step with an id no database integer holds: refused as an unknown person, not a 500."""
    worker, leader = app.test_client(), app.test_client()
    login(worker, "HN1003")
    login(leader, "HN1001")
    with db.connection_context():
        well = _well("海1-02")
    now = datetime.now(PHONE_TZ).isoformat(timespec="seconds")
    hazard = {"uuid": str(uuid_module.uuid4()), "type": "hazard", "created_at": now, "data": {"well_id": well.id, "description": "漏油"}}
    assert _post(worker, {"sent_at": now, "records": [hazard]}).get_json()["results"][0]["status"] == "created"
    step = {"uuid": str(uuid_module.uuid4()), "type": "hazard_step", "created_at": now,
            "data": {"hazard_uuid": hazard["uuid"], "action": "assign", "assignee_id": 2**70, "deadline": "2099-01-01"}}
    result = _post(leader, {"sent_at": now, "records": [step]}).get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_assignee"


@pytest.mark.parametrize("path", ["/api/v1/sync"])
def test_json_nested_beyond_any_parser_is_a_400(app, path):
    """100,000 `[` made the JSON parser recurse out of its stack: a RecursionError through get_json (a 500)."""
    client = app.test_client()
    login(client, "HN1003")
    response = client.post(path, data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400


def test_an_imported_file_nested_beyond_any_parser_is_said_plainly(app):
    import io

    leader = app.test_client()
    login(leader, "HN1001")
    response = leader.post("/imports/", data={"file": (io.BytesIO(b"[" * 100_000), "records.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "不是有效的 JSON" in response.get_data(as_text=True)
