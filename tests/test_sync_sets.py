"""The set-based sync (webapp/sync_sets.py) against the path record by record: one generated corpus — every refusal,
duplicates and conflicts within a batch and across batches, corrections, NFC taps, chains with gaps, forks and
healed gaps, resent refused records, old labels, clock offsets, copied and repeated readings, baselines and alerts,
other record types between patrols, two authors — sent to two copies of the same database, one each way, under
the same clock. Every answer and every row of every table must be the same, ids included."""
import copy
import random
import uuid as uuid_module
from datetime import timedelta, timezone

import pytest
import time_machine

import models
from models import ReplacedLabel, SyncReceipt, User, Well, db, utcnow
from tests.conftest import login, make_app
from tests.test_sync import now_iso, record_link
from webapp import sync, sync_sets
from webapp.readings import DEFAULT_SETS, ReadingSet, save_set, set_for


@pytest.fixture(params=["sqlite", "postgresql"])
def twin_urls(request, templates, tmp_path):
    """Two fresh copies of the demo work area on one backend."""
    if request.param not in templates:
        pytest.skip("JINGZHAN_TEST_POSTGRES_URL not set")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, drop_first = templates[request.param](tmp_path / "a", True)
    second, drop_second = templates[request.param](tmp_path / "b", True)
    yield first, second, tmp_path
    if not db.is_closed():
        db.close()
    drop_first()
    drop_second()


class Phone:
    """One phone of one worker: numbers and links its records as the outbox does."""

    def __init__(self, name):
        self.device, self.seq, self.prev = name, 1, None

    def chain(self, record, *, skip=False):
        record["chain"] = {"device": self.device, "seq": self.seq, "prev": self.prev, "seen": None}
        if not skip:
            self.prev, self.seq = record_link(record), self.seq + 1
        return record


def _readings(rng, fields, *, spike=False):
    values = {}
    for f in fields:
        if not f.required and rng.random() < 0.3:
            continue
        middle = (f.low + f.high) / 2 if f.high < 1000 else f.low + 10
        value = round(middle * (2.5 if spike and f.alert else rng.uniform(0.97, 1.03)), 2)
        values[f.key] = min(max(value, f.low), f.high)
    return values


BOUNDS = (0, .12, .17, .20, .22, .24, .26, .27, .30, .32, .34, .36, .37, .39, .41, .43, .45, .46, .48, .50, .52, .54,
          .56, .60)
CASES = [(low + high) / 2 for low, high in zip(BOUNDS, BOUNDS[1:])] * 2


def _junk():
    """Records refused on their envelope."""
    return [{"uuid": "not-a-uuid", "type": "patrol", "created_at": "x", "data": {}},
            {"uuid": str(uuid_module.uuid4()), "type": "teleport", "created_at": "x", "data": {}},
            {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": "2026-01-01", "data": {}},
            {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": "2026-01-01T00:00:00Z", "data": []},
            "just text", None]


def corpus(seed: int, now) -> list[tuple[str, dict, int]]:
    """(employee no, sync payload, minutes after `now` it is sent) for every batch, built from the demo's wells."""
    rng = random.Random(seed)
    worker = User.get(User.employee_no == "HN1003")
    own = list(Well.select().where(Well.station == worker.station_id).order_by(Well.id))
    other_station = Well.select().where(Well.station != worker.station_id).first()
    key_wells = [w for w in own if w.is_key_well] or own[:2]
    plain = [w for w in own if not w.is_key_well]
    repeat_well = plain[-1]  # patrolled only with the same readings: a run of three repeats is flagged
    sets = {w.id: set_for(w.kind, worker.work_area_id)[1] for w in own}
    own = [w for w in own if w.id != repeat_well.id]
    versions = list(ReadingSet.in_area(worker.work_area_id).where(ReadingSet.well_kind == "oil")
                    .order_by(ReadingSet.id))
    older = (versions[-2], set_for("oil", worker.work_area_id, versions[-2].id)[1]) if len(versions) > 1 else None
    phones = {"HN1003": [Phone("phone-a"), Phone("phone-b")], "HN1004": [Phone("phone-c")]}
    made, refused_kept = [], []

    def patrol(well, minutes_ago, *, method="scan", spike=False, readings=None, **data):
        body = {"well_id": well.id, "method": method, "qr_token": well.qr_token if method == "scan" else None,
                "readings": readings if readings is not None else _readings(rng, sets.get(well.id, []), spike=spike),
                "abnormal": False, "note": ""}
        if well.latitude is not None and rng.random() < 0.85:
            far = 0.02 if rng.random() < 0.1 else 0.00005
            body["position"] = {"latitude": float(well.latitude) + far, "longitude": float(well.longitude),
                                "accuracy": rng.choice([5, 8, 30])}
        body.update(data)
        created = (now - timedelta(minutes=minutes_ago)).replace(tzinfo=timezone.utc).astimezone(
            timezone(timedelta(hours=8)))
        return {"uuid": str(uuid_module.uuid4()), "type": "patrol", "created_at": created.isoformat(timespec="seconds"),
                "data": body}

    batches = []
    for number in range(9):
        author = "HN1004" if number == 4 else "HN1003"
        phone = rng.choice(phones[author])
        records = []
        start = rng.randint(60, 600) + (9 - number) * 600  # minutes before now: older batches first
        for index in range(rng.randint(25, 70)):
            minutes = start - index * rng.choice([3, 7, 20, 45]) + rng.choice([0, 0, 0, -30])
            # The second batch walks every case once; then chance decides.
            roll = CASES[index] if number == 1 and index < len(CASES) else rng.random()
            if roll < 0.12 and key_wells:  # a key well's baseline, then sometimes a jump
                record = patrol(rng.choice(key_wells), minutes, spike=rng.random() < 0.3)
            elif roll < 0.17:  # typed, not scanned
                record = patrol(rng.choice(own), minutes, method="manual")
            elif roll < 0.20:  # the same readings again and again (copied / repeated)
                well = repeat_well
                same = {f.key: (f.low + f.high) / 4 for f in sets[well.id] if f.required}
                record = patrol(well, minutes, readings=same,
                                copied=rng.random() < 0.5)
            elif roll < 0.22:
                record = patrol(own[0], minutes, qr_token="old-label-token")  # its label before the new one
            elif roll < 0.24:
                record = patrol(rng.choice(own), minutes, qr_token=rng.choice(["forged", None, 7, ["t"], {"t": 1}]))
            elif roll < 0.26:
                record = patrol(other_station, minutes)
            elif roll < 0.27:
                record = patrol(rng.choice(own), minutes, well_id=[10**12, "3", -1, True, [1], {"id": 1}][index % 6])
            elif roll < 0.30:
                record = patrol(rng.choice(own), minutes, readings={"current_up_a": "high", "nonsense": 1})
            elif roll < 0.32:
                record = patrol(rng.choice(own), minutes, readings={})  # every required reading missing
            elif roll < 0.34:
                record = patrol(rng.choice(own), minutes, abnormal=True, note=rng.choice(["", "盘根漏油"]))
            elif roll < 0.36:
                operations = {"peng": {"times": 3}, "bu": {"action": "补盘根"}}
                record = patrol(rng.choice(own), minutes, operations=operations)
            elif roll < 0.37:
                record = patrol(rng.choice(own), minutes, operations={"zz": {}})
            elif roll < 0.39:
                record = patrol(rng.choice(own), minutes, edited_from=str(uuid_module.uuid4()))
            elif roll < 0.41:
                record = patrol(rng.choice(own), minutes, method="nfc", nfc={"e": "00" * 16, "c": "00" * 8})
            elif roll < 0.43 and made:  # a correction of an earlier patrol of this author (or of another well)
                original = rng.choice(made)
                same = [w for w in own if w.id == original["data"]["well_id"]]
                record = patrol(same[0] if same else own[0], minutes, corrects_uuid=original["uuid"])
            elif roll < 0.45:
                record = patrol(rng.choice(own), -30)  # an hour in the future
            elif roll < 0.46:
                record = patrol(rng.choice(own), 60 * 24 * 40)  # forty days old
            elif roll < 0.48:
                records.extend(rng.sample(_junk(), 2) if index % 2 else _junk())
                continue
            elif roll < 0.50:  # another type between patrols
                record = {"uuid": str(uuid_module.uuid4()), "type": "suggestion",
                          "created_at": patrol(own[0], minutes)["created_at"],
                          "data": {"title": f"建议{index}", "content": "把盘根盒换成新型的"}}
            elif roll < 0.52 and records and isinstance(records[-1], dict):  # the same uuid again in the batch
                record = copy.deepcopy(records[-1])
                if rng.random() < 0.5 and isinstance(record.get("data"), dict):
                    record["data"]["note"] = "改过"
                records.append(record)
                continue
            elif roll < 0.54 and made:  # sent before (its answer lost), or the uuid reused for other content
                record = copy.deepcopy(rng.choice(made))
                if rng.random() < 0.4:
                    record["data"]["note"] = "别的内容"
                records.append(record)
                continue
            elif roll < 0.56 and refused_kept:  # a refused record sent again, unchanged
                records.append(copy.deepcopy(refused_kept.pop()))
                continue
            elif roll < 0.60 and older:  # a form made offline from the set before the current one
                well = rng.choice([w for w in own if w.kind == "oil"])
                record = patrol(well, minutes, readings=_readings(rng, older[1]), reading_set_id=older[0].id)
            else:
                record = patrol(rng.choice(own), minutes)
            fate = rng.random()
            if fate < 0.05:
                record.pop("chain", None)  # an old version of the app
            elif fate < 0.08:
                phone.chain(record, skip=True)  # deleted on the phone: the next one leaves a gap
                continue
            elif fate < 0.10:
                seq = max(1, phone.seq - 2)  # a place already taken, by other content: a fork
                record["chain"] = {"device": phone.device, "seq": seq, "prev": None if seq == 1 else "ab" * 32,
                                   "seen": None}
            else:
                phone.chain(record)
            records.append(record)
            if record["type"] == "patrol":
                made.append(record)
                if rng.random() < 0.1:
                    refused_kept.append(record)
        # a gap left in an earlier batch healed by its record arriving now (or a record of the other phone)
        sent_at_skew = rng.choice([0, 0, 0, -900, 1200])
        sent = (now + timedelta(minutes=number * 10, seconds=sent_at_skew)).replace(tzinfo=timezone.utc)
        payload = {"device_id": phone.device, "sent_at": sent.isoformat(), "records": records}
        batches.append((author, payload, number * 10))
    return batches


def _run(url, instance, batches_of, *, set_based, now):
    """Send the corpus to one database; its answers and every table's rows."""
    app = make_app(url, instance)
    answers = []
    with app.app_context(), db.connection_context():
        worker = User.get(User.employee_no == "HN1003")
        well = Well.select().where(Well.station == worker.station_id).order_by(Well.id).first()
        ReplacedLabel.create(well=well.id, token="old-label-token", replaced_at=now - timedelta(hours=30))
        # Two versions of the oil wells' set: a form made from the first (with 电流) is judged by it; the current
        # one no longer asks for 含水.
        oil = [dict(f) for f in DEFAULT_SETS["oil"]]
        with time_machine.travel(now.replace(tzinfo=timezone.utc), tick=False):
            save_set("oil", oil + [{"key": "current_a", "required": False, "low": 0, "high": 500, "kind": "relative",
                                    "threshold": 0.2, "alert": False}], worker)
            save_set("oil", [f for f in oil if f["key"] != "water_cut_pct"], worker)
            batches = batches_of()
        for author, payload, minutes in batches:
            with time_machine.travel((now + timedelta(minutes=minutes)).replace(tzinfo=timezone.utc), tick=False):
                user = User.get(User.employee_no == author)
                answers.append(sync.sync_batch(user, copy.deepcopy(payload), settings=app.config, set_based=set_based))
        tables = {}
        # A month bucket left at zero shifts counts nothing: one statement per batch (PostgreSQL's statement
        # triggers) moves a shift from 0 to 2 patrols where record by record it passes through a bucket of 1.
        counting = {models.MonthTally: models.MonthTally.shifts != 0}
        for model in sorted(models.BaseModel.__subclasses__(), key=lambda m: m.__name__):
            if model._meta.table_name in db.get_tables():
                rows = model.select().where(counting.get(model, True)).order_by(*model._meta.sorted_fields)
                tables[model.__name__] = list(rows.tuples())
    db.close()
    return answers, tables


@pytest.mark.parametrize("seed", [1, 2])
def test_set_based_sync_answers_and_stores_what_the_record_by_record_path_does(twin_urls, seed, monkeypatch):
    first, second, tmp_path = twin_urls
    now = utcnow().replace(microsecond=0)
    memo = {}

    def batches_of():
        if "corpus" not in memo:  # built once, from the first copy (the two are the same)
            memo["corpus"] = corpus(seed, now)
        return memo["corpus"]

    taken, left = [], []
    real_take = sync_sets.Run.take

    def spy(run, record):
        try:
            answer = real_take(run, record)
        except sync_sets.NotInRun as exc:
            left.append(exc.__cause__)  # an exception of the set-based path itself would hide behind the fallback
            raise
        taken.append(answer)
        return answer

    monkeypatch.setattr(sync_sets.Run, "take", spy)
    fast = _run(first, tmp_path / "a", batches_of, set_based=True, now=now)
    monkeypatch.undo()
    assert [cause for cause in left if cause is not None] == []
    sent = sum(len(payload["records"]) for _, payload, _ in memo["corpus"])
    assert len(taken) > 0.6 * sent, (len(taken), sent)  # most of the corpus went the set-based way
    slow = _run(second, tmp_path / "b", batches_of, set_based=False, now=now)
    statuses = [r["status"] for answer in slow[0] for r in answer["results"]]
    codes = {r["error"]["code"] for answer in slow[0] for r in answer["results"] if r["status"] == "rejected"}
    # The corpus is what it says it is.
    assert statuses.count("created") > 100 and statuses.count("duplicate") and statuses.count("rejected") > 20
    assert {"conflict", "time_in_future", "unknown_well", "well_not_in_station", "invalid_value", "unknown_field",
            "missing_reading", "missing_note", "unknown_operation", "invalid_uuid", "unknown_type",
            "invalid_time"} <= codes, codes
    for answer_fast, answer_slow in zip(fast[0], slow[0], strict=True):
        assert answer_fast == answer_slow
    assert fast[1].keys() == slow[1].keys()
    for table in slow[1]:
        assert fast[1][table] == slow[1][table], table
    assert len(slow[1]["ShiftTally"]) > 50  # the triggers counted the batches' patrols per shift (webapp/tallies.py)
    flags = " ".join(row.flags for row in _patrols(second, tmp_path / "b"))
    for flag in ("manual", "far", "no_gps", "chain_gap", "chain_fork", "unchained", "old_label", "label_mismatch",
                 "nfc_invalid", "copied", "repeated_readings", "edited", "clock", "old"):
        assert flag in flags, flag


def _patrols(url, instance):
    make_app(url, instance)
    with db.connection_context():
        return list(models.Patrol.select())


def test_a_uuid_stored_by_another_batch_meanwhile_sends_the_run_record_by_record(app, monkeypatch):
    """Between reading what a run needs and writing it, another batch stored one of its uuids: the run's insert fails
    whole, and the records are answered one by one as they stand — the other batch's is a conflict."""
    from tests.test_sync import batch, patrol_record

    with app.app_context(), db.connection_context():
        worker, other = User.get(User.employee_no == "HN1003"), User.get(User.employee_no == "HN1004")
        wells = list(Well.select().where(Well.station == worker.station_id).order_by(Well.id).limit(3))
        records = [patrol_record(w) for w in wells]
        real_load = sync_sets.Run.load

        def load_then_race(run, chunk):
            real_load(run, chunk)
            if not SyncReceipt.select().where(SyncReceipt.uuid == records[1]["uuid"]).exists():
                SyncReceipt.create(uuid=records[1]["uuid"], type="patrol", author=other.id, content_hash="x" * 64,
                                   object_id=1, received_at=utcnow())

        monkeypatch.setattr(sync_sets.Run, "load", load_then_race)
        answer = sync.sync_batch(worker, batch(*records), settings=app.config)
        assert [r["status"] for r in answer["results"]] == ["created", "rejected", "created"]
        assert answer["results"][1]["error"]["code"] == "conflict"


def test_every_record_type_has_a_handler():
    from webapp.envelope import RECORD_TYPES

    assert set(RECORD_TYPES) == set(sync.HANDLERS)


NOTES = ['\\N', 'NULL', '"引号", 逗号', 'a\\b\\\\c', '第一行\n第二行', '油压 0.8 MPa；套压 "1.2"', '😀 表情', "'单引号'",
         ' ', ',']


@pytest.mark.parametrize("rounds", [1, 9])  # 9 stored: one INSERT on PostgreSQL; 81: COPY (sync_sets.COPY_FROM)
def test_text_reaches_the_database_exactly_through_the_bulk_insert(app, rounds):
    """The set-based path writes through one INSERT or COPY's CSV on PostgreSQL and executemany on SQLite: quotes,
    commas, line breaks, backslashes and a note reading \\N (COPY's NULL) come back as they were sent."""
    from tests.test_sync import batch, patrol_record
    from webapp.text import clean_text

    with app.app_context(), db.connection_context():
        worker = User.get(User.employee_no == "HN1003")
        wells = list(Well.select().where((Well.station == worker.station_id) & (Well.kind == "oil")).order_by(Well.id))
        records = [patrol_record(wells[i % len(wells)], abnormal=True, note=note)
                   for i, note in enumerate(NOTES * rounds)]
        answer = sync.sync_batch(worker, batch(*records), settings=app.config)
        statuses = [r["status"] for r in answer["results"]]
        stored = {str(p.uuid): p.note for p in models.Patrol.select().where(
            models.Patrol.uuid.in_([r["uuid"] for r in records]))}
    for record, status in zip(records, statuses, strict=True):
        note = record["data"]["note"]
        if not clean_text(note):
            assert status == "rejected"  # abnormal without a note
            continue
        assert status == "created" and stored[record["uuid"]] == clean_text(note), repr(note)


def test_a_failure_reading_for_a_run_costs_no_record(twin_urls, monkeypatch, caplog):
    """A bug met while reading for a run (here: every run's load fails) sends the run's records record by record:
    the same answers and rows as the path record by record, and the failure in the log."""
    first, second, tmp_path = twin_urls
    now = utcnow().replace(microsecond=0)
    memo = {}

    def batches_of():
        if "corpus" not in memo:
            memo["corpus"] = corpus(3, now)
        return memo["corpus"]

    def broken(run, records):
        raise RuntimeError("a bug in load")

    monkeypatch.setattr(sync_sets.Run, "load", broken)
    fast = _run(first, tmp_path / "a", batches_of, set_based=True, now=now)
    monkeypatch.undo()
    slow = _run(second, tmp_path / "b", batches_of, set_based=False, now=now)
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]
    assert "a bug in load" in caplog.text


HOSTILE = {
    "lone surrogate in the note": {"abnormal": True, "note": "盘根\ud83d漏油"},
    "lone surrogate as the label": {"qr_token": "\udc00" * 3},
    "NUL in the note": {"abnormal": True, "note": "a\x00b"},
    "NUL in the label": {"qr_token": "tok\x00en"},
    "400-digit reading": {"readings": {"current_up_a": 10**400}},
    "400-digit well id": {"well_id": 10**400},
    "400-digit reading set": {"reading_set_id": 10**400},
    "400-digit latitude": {"position": {"latitude": 10**400, "longitude": 121.8}},
    "non-ASCII digits as the well id": {"well_id": "١٢"},
    "non-ASCII digits as a reading": {"readings": {"current_up_a": "٤٢"}},
    "another station's well": "other station",
}
HOSTILE_ENVELOPES = {
    "created in year 1": {"created_at": "0001-01-01T00:00:00+08:00"},
    "created in year 9999": {"created_at": "9999-12-31T23:59:59+08:00"},
    "seen in year 1": {"chain": {"device": "p", "seq": 1, "prev": None, "seen": "0001-01-01T00:00:00Z"}},
    "chain place of 400 digits": {"chain": {"device": "p", "seq": 10**400, "prev": None, "seen": None}},
    "NUL in the chain's device": {"chain": {"device": "p\x00", "seq": 1, "prev": None, "seen": None}},
    "lone surrogate in the chain's device": {"chain": {"device": "p\udc00", "seq": 1, "prev": None, "seen": None}},
}


@pytest.mark.parametrize("good", [3, 70])  # a few rows: one INSERT on PostgreSQL; many: COPY
@pytest.mark.parametrize("device", ["phone-1", "bad\x00device", "half\ud83d"])
def test_hostile_values_in_a_set_based_run_answer_and_write_nothing(app, good, device):
    """Through the route, in a run with good patrols: lone surrogates, NUL bytes, 400-digit numbers, years 1 and
    9999, non-ASCII digits and another station's well — each record refused or stored cleaned, never a 500, a
    refused one leaving no row; the good ones stored; the device id whatever it holds."""
    import json

    from tests.test_sync import patrol_record

    client = app.test_client()
    login(client, "HN1003")
    with db.connection_context():
        worker = User.get(User.employee_no == "HN1003")
        wells = list(Well.select().where((Well.station == worker.station_id) & (Well.kind == "oil")).order_by(Well.id))
        other = Well.select().where(Well.station != worker.station_id).first()
    records = [patrol_record(wells[n % len(wells)]) for n in range(good)]
    hostile = {}
    for name, change in HOSTILE.items():
        record = patrol_record(other if change == "other station" else wells[0])
        if isinstance(change, dict):
            record["data"].update(change)
        hostile[record["uuid"]] = name
        records.insert(len(records) // 2, record)
    for name, change in HOSTILE_ENVELOPES.items():
        record = dict(patrol_record(wells[1]), **change)
        hostile[record["uuid"]] = name
        records.append(record)
    body = json.dumps({"device_id": device, "sent_at": now_iso(), "records": records},
                      ensure_ascii=True)
    response = client.post("/api/v1/sync", data=body, content_type="application/json")
    assert response.status_code == 200, response.data[:300]
    answers = {r["uuid"]: r for r in response.json["results"]}
    with db.connection_context():
        stored = {str(u): note for u, note in models.Patrol.select(models.Patrol.uuid, models.Patrol.note).tuples()}
    for uuid, name in hostile.items():
        answer = answers[uuid]
        assert answer["status"] in ("created", "rejected"), (name, answer)
        assert answer.get("error", {}).get("code") != "server_error", (name, answer)
        assert (uuid in stored) == (answer["status"] == "created"), name
    for uuid in stored:
        assert "\x00" not in stored[uuid] and not any("\ud800" <= ch <= "\udfff" for ch in stored[uuid])
    assert all(answers[r["uuid"]]["status"] == "created" for r in records if r["uuid"] not in hostile)


def test_a_failure_writing_a_run_costs_no_record(app, monkeypatch, caplog):
    """A bug met while writing a run (not the database's: here the rows cannot be built) sends its records record
    by record: all stored once, the failure in the log, no 500."""
    from tests.test_sync import batch, patrol_record

    def broken(tables):
        raise ValueError("a bug in writing")

    monkeypatch.setattr(sync_sets, "write_tables", broken)
    with app.app_context(), db.connection_context():
        worker = User.get(User.employee_no == "HN1003")
        wells = list(Well.select().where((Well.station == worker.station_id) & (Well.kind == "oil")).limit(3))
        records = [patrol_record(w) for w in wells]
        answer = sync.sync_batch(worker, batch(*records), settings=app.config)
        assert [r["status"] for r in answer["results"]] == ["created"] * 3
        assert models.Patrol.select().where(models.Patrol.uuid.in_([r["uuid"] for r in records])).count() == 3
    assert "a bug in writing" in caplog.text
