"""POST /api/v1/sync: the sync contract — idempotent by uuid, per-record outcomes, the author from the session."""
import hashlib
import json
import threading
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

import pytest

from models import Patrol, SyncReceipt, User, Well, WellOperation, db, utcnow
from tests.conftest import get_well, login

TZ = timezone(timedelta(hours=8))
OIL_READINGS = {
    "current_up_a": 42.5, "current_down_a": 38.1, "stroke_m": 3.0, "strokes_per_min": 4.5,
    "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38,
}


def now_iso(delta=timedelta()):
    return (datetime.now(TZ) + delta).isoformat(timespec="seconds")


def patrol_record(well, *, uid=None, method="scan", readings=None, created_at=None, **data):
    body = {
        "well_id": well.id,
        "method": method,
        "qr_token": well.qr_token if method == "scan" else None,
        "readings": OIL_READINGS if readings is None else readings,
        "position": {"latitude": float(well.latitude), "longitude": float(well.longitude), "accuracy": 8},
        "abnormal": False,
        "note": "",
    }
    body.update(data)
    return {"uuid": uid or str(uuid_module.uuid4()), "type": "patrol", "created_at": created_at or now_iso(), "data": body}


def record_link(record):
    """A record's link in its phone's chain, computed here as docs/evidence.md says (not with the app's code)."""
    body = {key: record.get(key) for key in ("uuid", "type", "created_at", "data", "chain")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # A lone surrogate as the phone's JSON.stringify writes it: escaped, lower-case hex.
    text = "".join(f"\\u{ord(ch):04x}" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return hashlib.sha256(text.encode()).hexdigest()


def chain(*records, device=None, seq=1, prev=None, seen=None):
    """Number and link the records as one phone's chain would (in place); returns the last link."""
    device = device or f"phone-{uuid_module.uuid4()}"
    for record in records:
        record["chain"] = {"device": device, "seq": seq, "prev": prev, "seen": seen}
        prev, seq = record_link(record), seq + 1
    return prev


def batch(*records, sent_at=None, chained=True):
    """A sync request; records without a chain are chained as a new phone's first records, unless chained=False
    (an old version of the app)."""
    fresh = [r for r in records if isinstance(r, dict) and "chain" not in r]
    if chained and fresh:
        chain(*fresh)
    return {"device_id": "test-phone", "sent_at": sent_at or now_iso(), "records": list(records)}


def post(client, payload, **kwargs):
    return client.post("/api/v1/sync", data=json.dumps(payload), content_type="application/json", **kwargs)


@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


def patrol_count():
    with db.connection_context():
        return Patrol.select().count()


def test_created_then_duplicate(worker):
    well = get_well("海1-02")
    record = patrol_record(well)
    first = post(worker, batch(record))
    assert first.status_code == 200
    result = first.json["results"][0]
    assert result["status"] == "created" and result["uuid"] == record["uuid"]
    for _ in range(3):
        again = post(worker, batch(record)).json["results"][0]
        assert again == {"uuid": record["uuid"], "status": "duplicate", "id": result["id"]}
    assert patrol_count() == 1


def test_stored_patrol(worker):
    well = get_well("海1-02")
    record = patrol_record(well, operations={"bie": {"minutes": 10, "start_mpa": 0.8, "end_mpa": 3.5}, "xun": {}})
    post(worker, batch(record))
    with db.connection_context():
        patrol = Patrol.get(Patrol.uuid == record["uuid"])
        assert patrol.author.employee_no == "HN1003"
        assert patrol.well_id == well.id and patrol.station_id == well.station_id
        assert patrol.current_up_a == 42.5 and patrol.wellhead_temp_c == 38
        assert patrol.method == "scan" and patrol.flags == ""
        assert patrol.distance_m == 0
        ops = {o.code: json.loads(o.values) for o in WellOperation.select().where(WellOperation.patrol == patrol)}
        assert ops == {"bie": {"minutes": 10.0, "start_mpa": 0.8, "end_mpa": 3.5}, "xun": {}}
        receipt = SyncReceipt.get(SyncReceipt.uuid == record["uuid"])
        assert receipt.object_id == patrol.id and receipt.device_id == "test-phone"


def test_author_is_the_session_user_never_the_payload(worker):
    well = get_well("海1-02")
    leader = User.select().where(User.employee_no == "HN1001")
    with db.connection_context():
        leader_id = leader.get().id
    record = patrol_record(well, author_id=leader_id, user_id=leader_id)
    result = post(worker, batch(record)).json["results"][0]
    # Unknown fields in data are ignored; the author comes from the session.
    assert result["status"] == "created"
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).author.employee_no == "HN1003"


def test_same_uuid_other_content_is_a_conflict(worker):
    well = get_well("海1-02")
    record = patrol_record(well)
    post(worker, batch(record))
    changed = dict(record, data=dict(record["data"], note="改过", abnormal=True))
    result = post(worker, batch(changed)).json["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "conflict"
    assert patrol_count() == 1


def test_same_uuid_from_another_user_is_a_conflict(app, worker):
    well = get_well("海1-02")
    record = patrol_record(well)
    post(worker, batch(record))
    other = app.test_client()
    login(other, "HN1001")
    result = post(other, batch(record)).json["results"][0]
    assert result["error"]["code"] == "conflict"


def test_duplicate_within_one_batch(worker):
    record = patrol_record(get_well("海1-02"))
    results = post(worker, batch(record, record)).json["results"]
    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert patrol_count() == 1


def test_one_bad_record_does_not_sink_the_batch(worker):
    good = patrol_record(get_well("海1-02"))
    bad = patrol_record(get_well("海1-03"), readings=dict(OIL_READINGS, oil_pressure_mpa=99))
    results = post(worker, batch(bad, good)).json["results"]
    assert [r["status"] for r in results] == ["rejected", "created"]
    assert results[0]["error"] == {"code": "out_of_range", "message": "油压应在 0–40 之间。", "field": "oil_pressure_mpa"}
    assert patrol_count() == 1
    with db.connection_context():
        assert SyncReceipt.select().count() == 1 and WellOperation.select().count() == 0


def test_rejected_record_leaves_no_partial_rows(worker):
    bad = patrol_record(get_well("海1-02"), operations={"bie": {"minutes": 10}, "nope": {}})
    result = post(worker, batch(bad)).json["results"][0]
    assert result["error"]["code"] == "unknown_operation"
    with db.connection_context():
        assert Patrol.select().count() == 0 and WellOperation.select().count() == 0


def test_well_of_another_station_is_rejected_with_reason(worker):
    result = post(worker, batch(patrol_record(get_well("海2-03")))).json["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == "well_not_in_station"
    assert "海2-03 不属于您所在的站" in result["error"]["message"]


def test_a_visit_recorded_before_the_label_was_replaced_is_kept_and_marked(worker):
    well = get_well("海1-02")
    record = patrol_record(well)
    with db.connection_context():
        well.regenerate_token()
    result = post(worker, batch(record)).json["results"][0]
    assert result["status"] == "created"
    with db.connection_context():
        assert "old_label" in Patrol.get(Patrol.uuid == record["uuid"]).flag_list


def test_unknown_well_is_rejected(worker):
    record = patrol_record(get_well("海1-02"))
    record["data"]["well_id"] = 999999
    assert post(worker, batch(record)).json["results"][0]["error"]["code"] == "unknown_well"


INJECTION_READINGS = {"injection_m3_per_day": 48, "pump_pressure_mpa": 16.2, "oil_pressure_mpa": 12.5}


def test_an_injection_well_records_its_own_set(worker):
    well = get_well("海1-07")
    record = patrol_record(well, readings=dict(INJECTION_READINGS, casing_pressure_mpa=3.1))
    assert post(worker, batch(record)).json["results"][0]["status"] == "created"
    with db.connection_context():
        patrol = Patrol.get(Patrol.uuid == record["uuid"])
        assert (patrol.injection_m3_per_day, patrol.pump_pressure_mpa, patrol.casing_pressure_mpa) == (48, 16.2, 3.1)
        assert patrol.reading_set.well_kind == "injection"


@pytest.mark.parametrize("readings, code, words", [
    ({"oil_pressure_mpa": 12.5, "pump_pressure_mpa": 16}, "missing_reading", "请填写日注水量"),
    (dict(INJECTION_READINGS, liquid_t_per_day=20), "unknown_field", "这口井不记录：产液量"),
    (dict(INJECTION_READINGS, injection_m3_per_day=2000.5), "out_of_range", "日注水量应在 0–2000 之间"),
])
def test_an_injection_well_refuses_what_its_set_does_not_allow(worker, readings, code, words):
    result = post(worker, batch(patrol_record(get_well("海1-07"), readings=readings))).json["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == code
    assert words in result["error"]["message"]


@pytest.mark.parametrize(
    "mutate, code, field",
    [
        (lambda r: r.update(uuid="not-a-uuid"), "invalid_uuid", "uuid"),
        (lambda r: r.update(uuid=123), "invalid_uuid", "uuid"),
        (lambda r: r.update(uuid="x" * 100_000), "invalid_uuid", "uuid"),
        (lambda r: r.update(type="bonus"), "unknown_type", "type"),
        (lambda r: r.update(created_at="yesterday"), "invalid_time", "created_at"),
        (lambda r: r.update(created_at="2026-11-26T08:00:00"), "invalid_time", "created_at"),
        (lambda r: r.update(created_at=now_iso(timedelta(days=3))), "time_in_future", "created_at"),
        (lambda r: r.update(data="x"), "invalid_record", "data"),
        (lambda r: r["data"]["readings"].pop("oil_pressure_mpa"), "missing_reading", "oil_pressure_mpa"),
        (lambda r: r["data"]["readings"].update(stroke_m=-1), "out_of_range", "stroke_m"),
        (lambda r: r["data"]["readings"].update(stroke_m="abc"), "invalid_value", "stroke_m"),
        (lambda r: r["data"]["readings"].update(stroke_m=float("nan")), "out_of_range", "stroke_m"),
        (lambda r: r["data"]["readings"].update(stroke_m=True), "invalid_value", "stroke_m"),
        (lambda r: r["data"]["readings"].update(bogus=1), "unknown_field", "readings"),
        (lambda r: r["data"].update(note="长" * 100_000), "too_long", "note"),
        (lambda r: r["data"].update(abnormal=True, note=""), "missing_note", "note"),
        (lambda r: r["data"].update(abnormal="yes"), "invalid_value", "abnormal"),
        (lambda r: r["data"].update(method="teleport"), "invalid_value", "method"),
        (lambda r: r["data"].update(well_id="12"), "invalid_value", "well_id"),
        (lambda r: r["data"].update(position={"latitude": 200, "longitude": 0}), "out_of_range", "position"),
        (lambda r: r["data"].update(operations={"bie": {"minutes": 999}}), "out_of_range", "operations.bie.minutes"),
        (lambda r: r["data"].update(operations={"bi": {"finding": "x" * 1000}}), "too_long", "operations.bi.finding"),
        (lambda r: r["data"].update(operations=[1, 2]), "invalid_value", "operations"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(worker, mutate, code, field):
    record = patrol_record(get_well("海1-02"))
    record["data"]["readings"] = dict(record["data"]["readings"])
    mutate(record)
    response = post(worker, batch(record))
    assert response.status_code == 200
    result = response.json["results"][0]
    assert result["status"] == "rejected"
    assert result["error"]["code"] == code and result["error"].get("field") == field
    assert not result["error"]["message"].isascii()
    assert patrol_count() == 0


@pytest.mark.parametrize(
    "payload, status, code",
    [
        ("not json at all", 400, "invalid_json"),
        ([], 400, "invalid_batch"),
        ({"records": "x"}, 400, "invalid_batch"),
        ({"records": [], "sent_at": "nope"}, 400, "invalid_batch"),
        ({"records": [], "sent_at": now_iso(), "device_id": "d" * 100}, 400, "invalid_batch"),
        ({"records": [{}] * 501, "sent_at": now_iso()}, 413, "too_many_records"),
    ],
)
def test_bad_batches_are_refused_whole(worker, payload, status, code):
    data = payload if isinstance(payload, str) else json.dumps(payload)
    response = worker.post("/api/v1/sync", data=data, content_type="application/json")
    assert response.status_code == status
    assert response.json["error"]["code"] == code


def test_batch_over_the_size_limit_is_413(worker):
    huge = json.dumps(batch(patrol_record(get_well("海1-02"), note="x" * (3 * 1024 * 1024))))
    response = worker.post("/api/v1/sync", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert response.is_json and "分批" in response.json["error"]["message"]


def test_wrong_content_type_is_415(worker):
    response = worker.post("/api/v1/sync", data="records=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.is_json


def test_no_session_is_401_json_and_nothing_stored(client):
    response = post(client, batch(patrol_record(get_well("海1-02"))))
    assert response.status_code == 401 and response.is_json
    assert "Location" not in response.headers
    assert patrol_count() == 0


def test_cross_site_sync_is_refused(worker):
    response = post(worker, batch(patrol_record(get_well("海1-02"))), headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403 and response.is_json
    assert patrol_count() == 0


def test_clock_offset_is_stored_and_flagged(worker):
    well = get_well("海1-02")
    # The phone's clock runs one hour behind: sent_at and created_at both say an hour ago.
    record = patrol_record(well, created_at=now_iso(timedelta(hours=-1, minutes=-2)))
    result = post(worker, batch(record, sent_at=now_iso(timedelta(hours=-1)))).json["results"][0]
    with db.connection_context():
        patrol = Patrol.get_by_id(result["id"])
    assert 3590 <= patrol.clock_offset_s <= 3610
    assert patrol.clock_time == patrol.device_time + timedelta(seconds=patrol.clock_offset_s)
    assert "clock" in patrol.flag_list


def test_presence_flags(worker):
    near = get_well("海1-02")
    manual = patrol_record(near, method="manual", position=None)
    far = patrol_record(get_well("海1-03"), position={"latitude": float(near.latitude) + 0.01, "longitude": float(near.longitude)})
    results = post(worker, batch(manual, far)).json["results"]
    with db.connection_context():
        flags = [Patrol.get_by_id(r["id"]).flag_list for r in results]
    assert "manual" in flags[0] and "no_gps" in flags[0]
    assert "far" in flags[1] and "manual" not in flags[1]


def test_impossible_travel_is_flagged(worker):
    a, b = get_well("海1-02"), get_well("海1-30")
    with db.connection_context():
        Well.update(latitude=float(a.latitude) + 0.2).where(Well.id == b.id).execute()  # ~22 km apart
        b = Well.get_by_id(b.id)
    first = patrol_record(a, created_at=now_iso(timedelta(minutes=-10)))
    second = patrol_record(b, created_at=now_iso(timedelta(minutes=-5)))
    results = post(worker, batch(first, second)).json["results"]
    with db.connection_context():
        assert "too_fast" in Patrol.get_by_id(results[1]["id"]).flag_list
        assert "too_fast" not in Patrol.get_by_id(results[0]["id"]).flag_list


def test_concurrent_identical_batches_make_one_row_per_uuid(app):
    records = [patrol_record(get_well(code)) for code in ("海1-02", "海1-03", "海1-04")]
    payload = batch(*records)
    clients = []
    for _ in range(4):
        c = app.test_client()
        login(c, "HN1003")
        clients.append(c)
    answers = []

    def send(c):
        answers.append(post(c, payload).json)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 4
    statuses = sorted(r["status"] for a in answers for r in a["results"])
    assert statuses.count("created") == 3 and statuses.count("duplicate") == 9
    assert patrol_count() == 3


def test_wells_directory(worker):
    record = patrol_record(get_well("海1-02"))
    post(worker, batch(record))
    body = worker.get("/api/v1/wells").json
    assert body["station"]["name"] == "海南一号站"
    codes = [w["code"] for w in body["wells"]]
    assert codes == sorted(codes) and all(c.startswith("海1-") for c in codes)
    well = next(w for w in body["wells"] if w["code"] == "海1-02")
    # The label by its hash only, and no coordinates: nothing on the phone makes a scan or a position.
    token = get_well("海1-02").qr_token
    assert well["label_hash"] == hashlib.sha256(f"jingzhan-label:{token}".encode()).hexdigest()[:32]
    assert "qr_token" not in well and "latitude" not in well and token not in json.dumps(body)
    assert {e["kind"] for e in well["equipment"]} >= {"pumping_unit", "motor"}
    assert well["last_patrol"]["readings"]["current_up_a"] == 42.5
    assert next(w for w in body["wells"] if w["code"] == "海1-03")["last_patrol"] is None


def test_wells_directory_needs_login(client):
    assert client.get("/api/v1/wells").status_code == 401


def test_note_keeps_line_breaks_and_loses_control_characters(worker):
    record = patrol_record(get_well("海1-02"), abnormal=True, note="盘根漏油\n已紧固\x00\x07")
    result = post(worker, batch(record)).json["results"][0]
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).note == "盘根漏油\n已紧固"


@pytest.mark.parametrize("value", ["1_0", "٣", " 12", "12 ", "1e1", "nan", "inf", "0x10", "+3", "３"])
def test_a_reading_as_text_must_be_plain_decimal_digits(worker, value):
    """openapi.yaml says number: a string is read only when it is plain ASCII decimal (as older phones sent), never
    the way Python's float() would ("1_0" was stored as 10, "٣" as 3)."""
    record = patrol_record(get_well("海1-02"), readings=dict(OIL_READINGS, stroke_m=value))
    [result] = post(worker, batch(record)).json["results"]
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_value"
    assert result["error"]["field"] == "stroke_m" and "冲程应为数字" in result["error"]["message"]


def test_a_reading_as_plain_decimal_text_is_still_read(worker):
    record = patrol_record(get_well("海1-02"), readings=dict(OIL_READINGS, stroke_m="3.5", strokes_per_min="4"))
    [result] = post(worker, batch(record)).json["results"]
    assert result["status"] == "created"
    with db.connection_context():
        assert Patrol.get_by_id(result["id"]).stroke_m == 3.5


@pytest.mark.parametrize("field, value", [("note", []), ("note", 0), ("note", {}), ("note", False), ("readings", []),
                                          ("operations", []), ("readings", 0)])
def test_text_or_a_map_of_the_wrong_type_is_refused_not_read_as_empty(worker, field, value):
    record = patrol_record(get_well("海1-02"), **{field: value})
    [result] = post(worker, batch(record)).json["results"]
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_value", result


@pytest.mark.parametrize("sent_at", ["2199-12-31T23:59:59+00:00", "2000-01-01T00:00:00+00:00"])
def test_a_phone_clock_at_either_end_of_the_accepted_range_costs_no_record(worker, sent_at):
    """A clock reading 2199 overflowed PostgreSQL's 32-bit clock_offset_s (a 500, the batch lost)."""
    made = datetime.fromisoformat(sent_at) - timedelta(minutes=1)  # the phone's clock says when it was made, too
    record = patrol_record(get_well("海1-02"), created_at=made.isoformat())
    [result] = post(worker, batch(record, sent_at=sent_at)).json["results"]
    assert result["status"] == "created", result
    with db.connection_context():
        patrol = Patrol.get_by_id(result["id"])
        assert abs(patrol.clock_offset_s) <= 2**31 - 1
        assert patrol.clock_time <= utcnow() + timedelta(minutes=5)  # judged with the true offset: now, not 2131
