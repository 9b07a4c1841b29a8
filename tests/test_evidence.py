"""Evidence of presence and time (docs/evidence.md): the phone's chain, time bounded by what the server knows, old
and forged labels, NFC taps verified at sync, the same judgement on every record type, discards; hostile input."""
import json
import uuid as uuid_module
from datetime import datetime, timedelta, timezone

import pytest

from models import (ChainLink, Discard, EquipmentCheck, Evidence, Hazard, HazardStep, NfcTag, Patrol,
                    SyncReceipt, User, Well, WorkArea, db, utcnow)
from tests.conftest import get_user, get_well, login
from tests.ntag424_sim import SimulatedTag
from tests.test_sync import batch, chain, now_iso, patrol_record, post, record_link

TZ = timezone(timedelta(hours=8))


def iso(moment: datetime) -> str:
    """A naive-UTC moment as the phone writes it (with its +08:00 offset)."""
    return moment.replace(tzinfo=timezone.utc).astimezone(TZ).isoformat(timespec="seconds")


def server_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


@pytest.fixture
def worker(client):
    login(client, "HN1003")
    return client


def send(client, *records, **kwargs):
    response = post(client, batch(*records, **kwargs))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def evidence(uuid) -> Evidence:
    with db.connection_context():
        return Evidence.select().join(SyncReceipt).where(SyncReceipt.uuid == uuid).get()


def patrol(uuid) -> Patrol:
    with db.connection_context():
        return Patrol.get(Patrol.uuid == uuid)


def test_a_chained_scan_at_the_well_is_clean_and_its_evidence_kept(worker):
    well = get_well("海1-02")
    record = patrol_record(well)
    [result] = send(worker, record)
    assert result["status"] == "created"
    kept = evidence(record["uuid"])
    assert (kept.record_type, kept.object_id, kept.method, kept.chain_seq, kept.chain_status) == (
        "patrol", result["id"], "scan", 1, "ok")
    assert kept.flags == "" and patrol(record["uuid"]).flags == ""
    assert kept.distance_m == 0 and kept.well_id == well.id and kept.station_id == well.station_id
    with db.connection_context():
        link = ChainLink.get(ChainLink.uuid == record["uuid"])
    assert (link.seq, link.link, link.outcome) == (1, record_link(record), "created")


def test_an_old_phone_without_a_chain_still_syncs_flagged_unchained(worker):
    record = patrol_record(get_well("海1-02"))
    [result] = send(worker, record, chained=False)
    assert result["status"] == "created"
    assert evidence(record["uuid"]).chain_status == "unchained"
    assert patrol(record["uuid"]).flag_list == ["unchained"]


def test_a_deleted_record_shows_as_a_gap_that_heals_when_it_arrives(worker):
    well = get_well("海1-02")
    first, second, third = (patrol_record(well) for _ in range(3))
    chain(first, second, third, device="phone-a")
    send(worker, first)
    send(worker, third)  # the second was deleted on the phone, or is still on its way
    assert evidence(third["uuid"]).chain_status == "gap"
    assert "chain_gap" in patrol(third["uuid"]).flag_list
    send(worker, second)
    assert evidence(third["uuid"]).chain_status == "ok"
    assert "chain_gap" not in patrol(third["uuid"]).flag_list
    assert evidence(second["uuid"]).chain_status == "ok"


def test_a_rewritten_chain_is_a_fork(worker):
    well = get_well("海1-02")
    first, second = patrol_record(well), patrol_record(well)
    chain(first, second, device="phone-b")
    send(worker, first, second)
    other = patrol_record(well, note="改过的第二条")
    chain(other, device="phone-b", seq=2, prev=record_link(first))
    send(worker, other)
    assert evidence(other["uuid"]).chain_status == "fork"
    # And a record whose prev is not the link of the record before it.
    third = patrol_record(well)
    chain(third, device="phone-b", seq=3, prev="0" * 64)
    send(worker, third)
    assert "chain_fork" in patrol(third["uuid"]).flag_list


def test_chains_are_per_user(app):
    well = get_well("海1-02")
    one, two = app.test_client(), app.test_client()
    login(one, "HN1003")
    login(two, "HN1004")
    mine, theirs = patrol_record(well), patrol_record(well)
    chain(mine, device="shared-phone")
    chain(theirs, device="shared-phone")  # the colleague's first record on the same phone
    send(one, mine)
    send(two, theirs)
    assert evidence(theirs["uuid"]).chain_status == "ok" and evidence(mine["uuid"]).chain_status == "ok"


def test_a_clock_set_back_is_flagged_and_bounded_by_what_the_phone_had_seen(worker):
    """Made now with the clock set 3 hours back, sent later with the clock right: the phone had seen the server's
    time 10 minutes ago, so the record cannot be older than that; it counts at that bound, never 3 hours back."""
    well = get_well("海1-02")
    seen = utcnow() - timedelta(minutes=10)
    record = patrol_record(well, created_at=iso(utcnow() - timedelta(hours=3)))
    chain(record, seen=server_iso(seen))
    [result] = send(worker, record)
    assert result["status"] == "created"
    kept = evidence(record["uuid"])
    assert "time_out_of_bounds" in kept.flag_list and kept.bound_low == seen.replace(microsecond=0)
    assert kept.bounded_time == kept.bound_low
    assert patrol(record["uuid"]).clock_time == kept.bound_low  # what the shift is counted by


def test_a_record_older_than_the_one_before_it_on_the_same_phone_is_flagged(worker):
    well = get_well("海1-02")
    first = patrol_record(well, created_at=iso(utcnow() - timedelta(minutes=5)))
    second = patrol_record(get_well("海1-03"), created_at=iso(utcnow() - timedelta(hours=2)))
    chain(first, second)
    send(worker, first, second)
    kept = evidence(second["uuid"])
    assert "time_out_of_bounds" in kept.flag_list
    assert kept.bounded_time >= evidence(first["uuid"]).bounded_time


def test_records_years_old_or_a_day_late_are_flagged(worker):
    well = get_well("海1-02")
    ancient = patrol_record(well, created_at="2000-01-01T08:00:00+08:00")
    late = patrol_record(get_well("海1-03"), created_at=iso(utcnow() - timedelta(hours=30)))
    send(worker, ancient)
    send(worker, late)
    assert "old" in evidence(ancient["uuid"]).flag_list
    assert "late" in evidence(late["uuid"]).flag_list
    unchained = patrol_record(well, created_at="2000-01-01T08:00:00+08:00")
    send(worker, unchained, chained=False)
    assert {"old", "unchained"} <= set(patrol(unchained["uuid"]).flag_list)


def test_a_rotating_code_is_judged_at_the_bounded_time(app):
    """A photo of the attendance code taken 4 minutes ago, with the phone's clock set back to match: the phone had
    seen the server's time a minute ago, so the code is judged then — expired."""
    from tests.test_activities import make_activity, scan_record

    member = app.test_client()
    login(member, "HN1003")
    activity = make_activity(start=utcnow() - timedelta(minutes=30))
    stale = scan_record(activity, at=utcnow() - timedelta(minutes=4))
    chain(stale, seen=server_iso(utcnow() - timedelta(minutes=1)))
    [result] = send(member, stale)
    assert result["status"] == "rejected" and result["error"]["code"] == "code_expired"
    fresh = scan_record(activity)
    chain(fresh, seen=server_iso(utcnow() - timedelta(minutes=1)))
    [result] = send(member, fresh)
    assert result["status"] == "created"
    kept = evidence(fresh["uuid"])
    assert kept.record_type == "attendance" and kept.method == "" and kept.flags == ""


def test_a_visit_before_a_label_was_replaced_is_kept_after_it_is_revoked(worker):
    well = get_well("海1-02")
    old_token = well.qr_token
    offline = patrol_record(well)  # scanned offline with the old label, then the leader replaced it
    chain(offline, seen=server_iso(utcnow() - timedelta(minutes=30)))
    with db.connection_context():
        Well.get_by_id(well.id).regenerate_token()
    [result] = send(worker, offline)
    assert result["status"] == "created" and "old_label" in patrol(offline["uuid"]).flag_list
    # Scanned with the old label after the phone had already seen a time past the replacement: certainly after.
    after = patrol_record(well, qr_token=old_token)
    chain(after, seen=server_iso(utcnow() + timedelta(seconds=1)))
    [result] = send(worker, after)
    assert result["status"] == "created" and "revoked_label" in patrol(after["uuid"]).flag_list


def test_a_scan_built_from_anything_but_the_label_is_flagged(worker):
    well = get_well("海1-02")
    for forged in ("x", "", None, well.qr_token[:-1], "\x00" * 10, "a" * 5000, "\ud83d", 12, get_well("海1-03").qr_token):
        record = patrol_record(well, qr_token=forged)
        [result] = send(worker, record)
        assert result["status"] == "created", (forged, result)
        assert "label_mismatch" in patrol(record["uuid"]).flag_list


def enrol(well, uid=bytes.fromhex("04DE5F1EACC040")):
    """Enrol a simulated tag on the well; returns it, programmed with the keys the enrolment page shows."""
    with db.connection_context():
        area = WorkArea.get_by_id(well.station.work_area_id)
        master = area.issue_nfc_master_key()
        NfcTag.create(work_area=area.id, well=well.id, uid=uid.hex().upper())
    return SimulatedTag.enrolled(master, uid, "https://jz.example.cn", well.id)


def tap_record(well, url, **data):
    query = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))
    return patrol_record(well, method="nfc", qr_token=None, nfc={"e": query["e"], "c": query["c"]}, **data)


def test_an_nfc_tap_is_verified_at_sync_and_a_replay_is_flagged(app, worker):
    well = get_well("海1-02")
    tag = enrol(well)
    first = tap_record(well, tag.tap())
    [result] = send(worker, first)
    assert result["status"] == "created"
    kept = evidence(first["uuid"])
    assert (kept.method, kept.nfc_status, kept.nfc_counter, kept.flags) == ("nfc", "verified", 1, "")
    # The same tap used for a check of that well on the same visit is still the tap...
    again = tap_record(well, f"x?e={first['data']['nfc']['e']}&c={first['data']['nfc']['c']}")
    send(worker, again)
    assert evidence(again["uuid"]).nfc_status == "verified"
    # ...but a colleague replaying it is not.
    colleague = app.test_client()
    login(colleague, "HN1004")
    replay = tap_record(well, f"x?e={first['data']['nfc']['e']}&c={first['data']['nfc']['c']}")
    send(colleague, replay)
    assert "nfc_replayed" in patrol(replay["uuid"]).flag_list
    # A tap older than one already seen (a stale URL kept from an earlier visit) is flagged too.
    older, newer = tag.tap(), tag.tap()
    send(worker, tap_record(well, newer))
    stale = tap_record(well, older)
    send(worker, stale)
    assert "nfc_replayed" in patrol(stale["uuid"]).flag_list
    with db.connection_context():
        assert NfcTag.get().last_counter == 3


@pytest.mark.parametrize("flip", [0, 5, 31, 40])
def test_a_bit_flipped_or_forged_tap_is_flagged_invalid(worker, flip):
    well = get_well("海1-02")
    tag = enrol(well)
    record = tap_record(well, tag.tap())
    message = record["data"]["nfc"]
    text = message["e"] + message["c"]
    flipped = text[:flip] + format(int(text[flip], 16) ^ 1, "X") + text[flip + 1:]
    record["data"]["nfc"] = {"e": flipped[:32], "c": flipped[32:]}
    [result] = send(worker, record)
    assert result["status"] == "created"
    assert "nfc_invalid" in patrol(record["uuid"]).flag_list


@pytest.mark.parametrize("nfc", [None, "EF963FF7828658A599F3041510671E88", {"e": 1, "c": 2}, {"e": "\ud83d", "c": "x"},
                                 {"e": "A" * 10000, "c": "B" * 10000}, {"e": "\x00" * 32, "c": "0" * 16}, []])
def test_hostile_nfc_messages_never_break_the_sync(worker, nfc):
    well = get_well("海1-02")
    enrol(well)
    record = patrol_record(well, method="nfc", qr_token=None, nfc=nfc)
    [result] = send(worker, record)
    assert result["status"] == "created" and "nfc_invalid" in patrol(record["uuid"]).flag_list


def test_a_tag_moved_to_another_well_or_revoked_or_unknown_is_flagged(worker):
    well, elsewhere = get_well("海1-02"), get_well("海1-03")
    tag = enrol(well)
    moved = tap_record(elsewhere, tag.tap())
    send(worker, moved)
    assert "nfc_other_well" in patrol(moved["uuid"]).flag_list
    with db.connection_context():
        NfcTag.update(revoked_at=utcnow()).execute()
    revoked = tap_record(well, tag.tap())
    send(worker, revoked)
    assert "nfc_revoked" in patrol(revoked["uuid"]).flag_list
    with db.connection_context():
        master = WorkArea.get_by_id(well.station.work_area_id).issue_nfc_master_key()
    stranger = SimulatedTag.enrolled(master, bytes.fromhex("04AABBCCDDEEFF"), "https://jz.example.cn", well.id)
    unknown = tap_record(well, stranger.tap())
    send(worker, unknown)
    assert "nfc_unknown_tag" in patrol(unknown["uuid"]).flag_list
    other_area = SimulatedTag.enrolled(bytes(16), bytes.fromhex("04DE5F1EACC040"), "https://jz.example.cn", well.id)
    forged = tap_record(well, other_area.tap())
    send(worker, forged)
    assert "nfc_invalid" in patrol(forged["uuid"]).flag_list


def test_every_field_record_type_gets_the_same_evidence(app, worker):
    from tests.test_checks import check_record

    check = check_record("海1-02", method="manual")
    [result] = send(worker, check)
    assert result["status"] == "created"
    kept = evidence(check["uuid"])
    assert kept.record_type == "equipment_check" and kept.method == "manual" and kept.distance_m == 0
    with db.connection_context():
        assert "manual" in EquipmentCheck.get_by_id(result["id"]).flag_list
    well = get_well("海1-03")
    hazard = {"uuid": str(uuid_module.uuid4()), "type": "hazard", "created_at": now_iso(),
              "data": {"well_id": well.id, "description": "盘根漏油", "method": "scan", "qr_token": "forged"}}
    [result] = send(worker, hazard)
    assert result["status"] == "created"
    kept = evidence(hazard["uuid"])
    assert kept.record_type == "hazard" and {"label_mismatch", "no_gps"} <= set(kept.flag_list)
    suggestion = {"uuid": str(uuid_module.uuid4()), "type": "suggestion", "created_at": now_iso(),
                  "data": {"title": "加装报警", "body": "建议加装超温报警。"}}
    send(worker, suggestion)
    assert evidence(suggestion["uuid"]).chain_status == "ok"
    with db.connection_context():
        assert Hazard.select().count() >= 1 and HazardStep.select().count() >= 1


def test_a_refused_record_keeps_its_place_and_a_discard_is_kept_whole(worker):
    well = get_well("海1-02")
    refused = patrol_record(well, abnormal=True, note="")  # refused: an abnormal patrol needs a note
    after = patrol_record(well)
    chain(refused, after, device="phone-d")
    [bad, good] = send(worker, refused, after)
    assert bad["status"] == "rejected" and good["status"] == "created"
    assert evidence(after["uuid"]).chain_status == "ok"  # the refused record is known: no gap
    discard = {"uuid": str(uuid_module.uuid4()), "type": "discard", "created_at": now_iso(),
               "data": {"record": refused, "error_code": bad["error"]["code"]}}
    chain(discard, device="phone-d", seq=3, prev=record_link(after))
    [result] = send(worker, discard)
    assert result["status"] == "created"
    with db.connection_context():
        kept = Discard.get_by_id(result["id"])
        assert str(kept.discarded_uuid) == refused["uuid"] and kept.error_code == "missing_note"
        assert json.loads(kept.record)["data"] == refused["data"]
        assert ChainLink.get(ChainLink.uuid == refused["uuid"]).outcome == "discarded"
        assert not Patrol.select().where(Patrol.uuid == refused["uuid"]).exists()


def test_a_discard_of_a_record_that_never_arrived_fills_its_gap(worker):
    well = get_well("海1-02")
    lost, after = patrol_record(well), patrol_record(well)
    chain(lost, after, device="phone-e")
    send(worker, after)
    assert evidence(after["uuid"]).chain_status == "gap"
    discard = {"uuid": str(uuid_module.uuid4()), "type": "discard", "created_at": now_iso(),
               "data": {"record": lost, "error_code": None}}
    chain(discard, device="phone-e", seq=3, prev=record_link(after))
    send(worker, discard)
    assert evidence(after["uuid"]).chain_status == "ok"


@pytest.mark.parametrize("bad", [
    "not a dict", {"device": "", "seq": 1, "prev": None}, {"device": "p", "seq": True, "prev": None},
    {"device": "p", "seq": -1, "prev": None}, {"device": "p", "seq": 10**30, "prev": None},
    {"device": "p", "seq": 2, "prev": "zz"}, {"device": "p", "seq": 1, "prev": "0" * 64},
    {"device": "p" * 65, "seq": 1, "prev": None}, {"device": "\ud83d", "seq": 1, "prev": None},
    {"device": "p", "seq": 1, "prev": None, "seen": "yesterday"}, {"device": "p", "seq": 1, "prev": None, "seen": 5},
])
def test_a_malformed_chain_is_judged_unchained_never_a_500(worker, bad):
    record = patrol_record(get_well("海1-02"))
    record["chain"] = bad
    [result] = send(worker, record)
    assert result["status"] == "created"
    assert evidence(record["uuid"]).chain_status == "unchained"


@pytest.mark.parametrize("data", [{"record": "x"}, {"record": {"type": "patrol", "uuid": "nope"}}, {},
                                  {"record": {"type": "patrol", "uuid": str(uuid_module.uuid4()), "data": "x" * 70000}},
                                  {"record": {"type": "patrol", "uuid": str(uuid_module.uuid4())}, "error_code": 5},
                                  {"record": {"type": "patrol", "uuid": str(uuid_module.uuid4())}, "error_code": "\ud83d"}])
def test_a_bad_discard_is_refused_with_a_reason(worker, data):
    discard = {"uuid": str(uuid_module.uuid4()), "type": "discard", "created_at": now_iso(), "data": data}
    [result] = send(worker, discard)
    assert result["status"] == "rejected" and not result["error"]["message"].isascii()


def test_the_flags_are_explained_in_chinese():
    from webapp.evidence import FLAG_LABELS

    for flag in ("unchained", "chain_gap", "chain_fork", "time_out_of_bounds", "late", "old", "old_label",
                 "revoked_label", "label_mismatch", "nfc_invalid", "nfc_unknown_tag", "nfc_revoked", "nfc_other_well",
                 "nfc_replayed", "manual", "no_gps", "far", "too_fast", "clock"):
        assert not str(FLAG_LABELS[flag]).isascii(), flag


def test_no_user_is_taken_from_the_payload(worker):
    record = patrol_record(get_well("海1-02"), user_id=get_user("HN1001").id)
    send(worker, record)
    with db.connection_context():
        assert User.get_by_id(evidence(record["uuid"]).author_id).employee_no == "HN1003"


def test_the_leader_sees_the_evidence_panel_and_each_workers_mix(app, worker):
    well = get_well("海1-02")
    clean = patrol_record(well)
    typed = patrol_record(get_well("海1-03"), method="manual", qr_token=None,
                          created_at=iso(utcnow() - timedelta(hours=3)))
    chain(clean, typed, seen=server_iso(utcnow() - timedelta(minutes=10)))
    [one, two] = send(worker, clean, typed)
    leader = app.test_client()
    login(leader, "HN1001")
    page = leader.get(f"/review/patrols/{two['id']}").get_data(as_text=True)
    assert "到场与时间证据" in page and "手工输入井号" in page and "手机时间被调早" in page and "可信区间" in page
    assert "第 2 条" in page
    page = leader.get(f"/review/patrols/{one['id']}").get_data(as_text=True)
    assert "没有需要核实的地方" in page
    mix = leader.get("/review/evidence").get_data(as_text=True)
    assert "HN1003" in mix and "过半手工" in mix
    fragment = leader.get("/review/evidence?month=2000-13", headers={"HX-Request": "true"})
    assert fragment.status_code == 422 and "<html" not in fragment.get_data(as_text=True)
    other = app.test_client()
    login(other, "HN2001")  # the leader of another station: not this station's records
    assert "HN1003" not in other.get("/review/evidence").get_data(as_text=True)
    assert other.get(f"/review/evidence?station={well.station_id}").status_code in (403, 404)


def test_a_note_cut_in_the_middle_of_an_emoji_does_not_break_the_chain(worker):
    """JSON.stringify writes a lone surrogate as \\ud83d: the server's link must be the phone's, or the next record
    would look like a fork."""
    import hashlib

    well = get_well("海1-02")
    cut = patrol_record(well, abnormal=True, note="盘根漏油\ud83d")
    after = patrol_record(well)
    chain(cut, after, device="phone-emoji")
    phone_text = json.dumps({k: cut[k] for k in ("uuid", "type", "created_at", "data", "chain")}, sort_keys=True,
                            separators=(",", ":"), ensure_ascii=False).replace("\ud83d", "\\ud83d")
    assert record_link(cut) == hashlib.sha256(phone_text.encode()).hexdigest()
    results = send(worker, cut, after)
    assert [r["status"] for r in results] == ["created", "created"], results
    assert evidence(after["uuid"]).chain_status == "ok"
