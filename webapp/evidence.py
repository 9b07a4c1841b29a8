"""Evidence of presence and time for every synced record (docs/evidence.md): the phone's record chain, the bounds
of a record's time, how the well was identified (NFC tag, QR label, typed) and where the phone was."""
import hashlib
import json
import re
import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext as _l

from peewee import IntegrityError

from models import ChainLink, Discard, Evidence, NfcTag, SyncReceipt, db

from .access import MAX_ID
from .nfc import NfcError, verify_sun
from .patrols import RecordError, clean_position, distance_m
from .recorded import RECORDED, Recorded

CHAIN_SLACK = timedelta(seconds=60)  # phone clocks are adjusted by the network by a few seconds
CLOCK_FLAG_SECONDS = 600
LATE_AFTER = timedelta(hours=24)
OLD_AFTER = timedelta(days=30)
NFC_SAME_VISIT = timedelta(minutes=30)
MAX_SPEED_KMH = 80.0
MAX_SEQ = 2**31 - 1
MAX_DISCARDED_BYTES = 64 * 1024
HEX = frozenset("0123456789abcdef")
ERROR_CODE = re.compile(r"[a-z_]{1,40}")  # the codes the server answers refusals with (and record types)

# Every flag a record can carry, in the words a station leader reads (the evidence panel, the review).
FLAG_LABELS = {
    "manual": _l("手工输入井号（非扫码）"),
    "no_gps": _l("无定位"),
    "far": _l("离井位置过远"),
    "too_fast": _l("与上一口井间隔时间不合理"),
    "clock": _l("手机时间偏差大"),
    "time_out_of_bounds": _l("记录时间早于手机已知的时间（手机时间被调早）"),
    "late": _l("记录一天后才送达"),
    "old": _l("记录时间在 30 天以前"),
    "unchained": _l("记录无本机编号（旧版应用），时间无法核实"),
    "chain_gap": _l("本机前一条记录缺失（可能被删除）"),
    "chain_fork": _l("本机记录编号被改写"),
    "old_label": _l("使用换标签前的旧标签（离线时扫的）"),
    "revoked_label": _l("使用已作废的标签"),
    "label_mismatch": _l("扫描的标签不是这口井的"),
    "nfc_invalid": _l("NFC 标签信息校验失败（伪造或损坏）"),
    "nfc_unknown_tag": _l("NFC 标签未登记"),
    "nfc_revoked": _l("NFC 标签已停用"),
    "nfc_other_well": _l("NFC 标签登记在另一口井"),
    "nfc_replayed": _l("NFC 读数重复使用（重放或过期的贴卡）"),
    "copied": _l("沿用上次读数，未改动"),
    "repeated_readings": _l("连续三次巡检读数完全相同"),
    "edited": _l("员工在手机上撤回原记录、改过后重存"),
}


def flag_labels(flags) -> list[str]:
    """The leader's words for each flag (an unknown one as it is)."""
    return [str(FLAG_LABELS.get(flag, flag)) for flag in flags]


def canonical_json(value) -> str:
    """The one JSON spelling of a value that the phone (outbox.js canonicalJson) and the server both hash and sign."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)



LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def record_link(record: dict) -> str:
    """The record's link in its chain: sha256 of its uuid, type, time, data and chain entry. A lone surrogate (a note
    cut in the middle of an emoji) is written \\udXXX, as the phone's JSON.stringify writes it."""
    signed = {key: record.get(key) for key in ("uuid", "type", "created_at", "data", "chain")}
    text = LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", canonical_json(signed))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Chain:
    """A record's claimed place in its phone's chain."""

    device: str
    seq: int
    prev: str | None
    seen: datetime | None
    link: str


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no database can store it
        return False
    return True


def _is_hash(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


def read_chain(record: dict, parse_time) -> Chain | None:
    """The record's chain entry, or None when it has none or a malformed one (judged as unchained)."""
    raw = record.get("chain")
    if not isinstance(raw, dict):
        return None
    device, seq, prev, seen = raw.get("device"), raw.get("seq"), raw.get("prev"), raw.get("seen")
    if not isinstance(device, str) or not 0 < len(device) <= 64 or not device.isprintable() or not _encodable(device):
        return None
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq <= MAX_SEQ:
        return None
    if (seq == 1) != (prev is None) or (prev is not None and not _is_hash(prev)):
        return None
    try:
        seen_at = None if seen is None else parse_time(seen)
    except (TypeError, ValueError):
        return None
    return Chain(device=device, seq=seq, prev=prev, seen=seen_at, link=record_link(record))


@dataclass
class Timing:
    """The bounds of a record's time and what its chain says, judged on arrival."""

    claimed: datetime  # the phone's created_at, naive UTC
    offset_s: int
    received_at: datetime
    bound_low: datetime | None
    bounded: datetime  # what shifts, reports, scores and rotating codes count by
    chain: Chain | None
    chain_status: str
    flags: list[str] = field(default_factory=list)


MAX_STORED_OFFSET_S = 2**31 - 1


def stored_offset(seconds: int) -> int:
    """A phone clock's offset as the 32-bit columns keep it: a clock set to 2199 (allowed, and flagged) is ±68 years
    off at most there; the record's time is judged with the true offset."""
    return max(-MAX_STORED_OFFSET_S, min(MAX_STORED_OFFSET_S, seconds))


def judge_time(user, chain: Chain | None, claimed: datetime, offset_s: int, received_at: datetime,
               known: Recorded = RECORDED) -> Timing:
    """Bound the record's time by its chain (the previous record, the last server time the phone had seen) and its
    arrival; flag what cannot be trusted."""
    flags, low = [], None
    corrected = claimed + timedelta(seconds=offset_s)
    status = "unchained"
    if chain is None:
        flags.append("unchained")
    else:
        status = "ok"
        if any(link != chain.link for link, _ in known.chain_links(user.id, chain.device, chain.seq)):
            status = "fork"
        if chain.seq > 1:
            before = known.chain_links(user.id, chain.device, chain.seq - 1)
            if not before:
                status = "gap" if status == "ok" else status
            else:
                link, low = before[0]
                if link != chain.prev:
                    status = "fork"
        if chain.seen is not None:
            seen = min(chain.seen, received_at)  # a server time "seen" after the arrival was never seen
            low = seen if low is None else max(low, seen)
        if status != "ok":
            flags.append(f"chain_{status}")
    bounded = corrected
    if low is not None and corrected < low - CHAIN_SLACK:
        flags.append("time_out_of_bounds")
        bounded = low
    bounded = min(bounded, received_at)
    if abs(offset_s) > CLOCK_FLAG_SECONDS:
        flags.append("clock")
    if received_at - corrected > OLD_AFTER:
        flags.append("old")
    elif received_at - bounded > LATE_AFTER:
        flags.append("late")
    return Timing(claimed=claimed, offset_s=offset_s, received_at=received_at, bound_low=low, bounded=bounded,
                  chain=chain, chain_status=status, flags=flags)


@dataclass
class Presence:
    """How the well was identified and where the phone was, judged by the server."""

    method: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None
    distance: float | None = None
    well: object = None
    nfc_tag: NfcTag | None = None
    nfc_counter: int | None = None
    nfc_status: str = ""
    flags: list[str] = field(default_factory=list)


def read_method(data: dict, allowed=("nfc", "scan", "manual")) -> str:
    """The record's identification method, or RecordError."""
    method = data.get("method")
    if not isinstance(method, str) or method not in allowed:
        raise RecordError("invalid_value", gettext("缺少识别方式（NFC、扫码或手工输入）。"), "method")
    return method


def _label_flag(well, token, timing: Timing, known: Recorded) -> str | None:
    """None for the well's current label; else why the scanned token is not a clean scan of this well."""
    if isinstance(token, str) and token == well.qr_token:
        return None
    # Only a token that could be one is looked up (a NUL or a lone surrogate would fail in PostgreSQL's driver).
    plausible = isinstance(token, str) and 0 < len(token) <= 64 and token.isprintable() and _encodable(token)
    replaced_at = known.label_replaced_at(token, well.id) if plausible else None
    if replaced_at is None:
        return "label_mismatch"
    # Made before the label was replaced, as far as the chain can tell: a real visit recorded offline.
    certainly_after = timing.bound_low is not None and timing.bound_low > replaced_at
    return "revoked_label" if certainly_after else "old_label"


def _nfc(user, well, raw, timing: Timing, presence: Presence) -> None:
    """Verify the tag's SUN message; set the presence's tag, counter and status (a flag when it is not clean)."""
    e, c = (raw.get("e"), raw.get("c")) if isinstance(raw, dict) else (None, None)
    area = user.work_area
    try:
        if not area.nfc_master_key:
            raise NfcError("nfc_unknown_tag", "no key")
        reading = verify_sun(bytes.fromhex(area.nfc_master_key), e, c)
    except NfcError:
        presence.nfc_status = "nfc_invalid"
        return
    tag = (NfcTag.select().where((NfcTag.work_area == area.id) & (NfcTag.uid == reading.uid_hex))
           .order_by(NfcTag.revoked_at.is_null(False), NfcTag.id.desc()).first())
    if tag is None:
        presence.nfc_status = "nfc_unknown_tag"
        return
    presence.nfc_tag, presence.nfc_counter = tag, reading.counter
    if tag.revoked_at is not None:
        presence.nfc_status = "nfc_revoked"
    elif well is None or tag.well_id != well.id:
        presence.nfc_status = "nfc_other_well"
    elif NfcTag.update(last_counter=reading.counter).where(
            (NfcTag.id == tag.id) & (NfcTag.last_counter.is_null() | (NfcTag.last_counter < reading.counter))).execute():
        presence.nfc_status = "verified"
    else:
        # Not higher than a counter seen before: the same tap, used again by the same worker on the same visit
        # (a patrol and then a check of that well), is still the tap; anything else is a replay.
        same_visit = (Evidence.select(Evidence.id).where(
            (Evidence.nfc_tag == tag.id) & (Evidence.nfc_counter == reading.counter) & (Evidence.author == user.id)
            & (Evidence.nfc_status == "verified")
            & (Evidence.bounded_time.between(timing.bounded - NFC_SAME_VISIT, timing.bounded + NFC_SAME_VISIT)))
            .exists())
        presence.nfc_status = "verified" if same_visit else "nfc_replayed"


def judge_presence(ctx, well, *, method: str | None = None) -> Presence:
    """Judge how the record identified its well (NFC, QR label, typed) and where the phone was; the same rules for
    every record type. `method` is given when the handler has read it already."""
    data = ctx.data
    method = read_method(data) if method is None else method
    lat, lon, accuracy = clean_position(data)
    presence = Presence(method=method, latitude=lat, longitude=lon, accuracy=accuracy, well=well)
    flags = presence.flags
    timing = ctx.timing
    if method == "manual":
        flags.append("manual")
    elif method == "scan":
        flag = _label_flag(well, data.get("qr_token"), timing, ctx.known) if well is not None else "label_mismatch"
        if flag:
            flags.append(flag)
    elif method == "nfc":
        _nfc(ctx.user, well, data.get("nfc"), timing, presence)
        if presence.nfc_status != "verified":
            flags.append(presence.nfc_status)
    if lat is None:
        if well is not None:
            flags.append("no_gps")
    elif well is not None and well.latitude is not None:
        presence.distance = round(distance_m(lat, lon, well.latitude, well.longitude), 1)
        if presence.distance > ctx.settings["PRESENCE_MAX_DISTANCE_M"]:
            flags.append("far")
    if well is not None and well.latitude is not None and _too_fast(ctx, well):
        flags.append("too_fast")
    ctx.presence = presence
    return presence


def _too_fast(ctx, well) -> bool:
    """True when reaching this well from the author's previous well would need more than MAX_SPEED_KMH."""
    previous = ctx.known.previous_place(ctx.user.id, ctx.timing.bounded, well.id)
    if not previous or None in previous[1:]:
        return False
    hours = max((ctx.timing.bounded - previous[0]).total_seconds(), 1) / 3600
    km = distance_m(previous[1], previous[2], well.latitude, well.longitude) / 1000
    return km / hours > MAX_SPEED_KMH


def all_flags(ctx) -> list[str]:
    """The presence flags (when the handler judged presence) and the time flags, in one list without repeats."""
    flags = (ctx.presence.flags if ctx.presence else []) + ctx.timing.flags
    return list(dict.fromkeys(flags))


def evidence_columns(ctx, receipt_id: int, receipt_device: str, object_id: int, row_station_id, record_type: str) -> dict:
    """The evidence row of a record the handler created (its receipt, the object it made)."""
    presence, timing = ctx.presence or Presence(), ctx.timing
    well = presence.well
    station = getattr(well, "station_id", None) or row_station_id or ctx.user.station_id
    chain = timing.chain
    return dict(
        receipt=receipt_id, record_type=record_type, object_id=object_id, author=ctx.user.id, station=station,
        well=getattr(well, "id", None), method=presence.method, latitude=presence.latitude,
        longitude=presence.longitude, accuracy_m=presence.accuracy, distance_m=presence.distance,
        device_id=chain.device if chain else receipt_device, chain_seq=chain.seq if chain else None,
        chain_status=timing.chain_status, claimed_time=timing.claimed, clock_offset_s=stored_offset(timing.offset_s),
        received_at=timing.received_at, bound_low=timing.bound_low, bounded_time=timing.bounded,
        nfc_tag=presence.nfc_tag.id if presence.nfc_tag else None, nfc_counter=presence.nfc_counter,
        nfc_status=presence.nfc_status, flags=" ".join(all_flags(ctx)),
    )


def keep(ctx, receipt: SyncReceipt, row, record_type: str) -> Evidence:
    """Store the evidence of a record the handler created."""
    return Evidence.create(**evidence_columns(ctx, receipt.id, receipt.device_id, row.id, getattr(row, "station_id", None),
                                              record_type))


def note_link(user, uuid: str, record_type: str, timing: Timing, outcome: str) -> None:
    """Keep the record's place in its chain (stored or refused alike), and heal the gap it filled."""
    chain = timing.chain
    if chain is None:
        return
    existing = ChainLink.get_or_none(ChainLink.uuid == uuid)
    if existing is not None:
        if existing.author_id == user.id:  # a refused record sent again: its place is the same
            ChainLink.update(outcome=outcome, bounded_time=timing.bounded).where(ChainLink.id == existing.id).execute()
        return
    try:
        with db.atomic():
            ChainLink.create(author=user.id, device_id=chain.device, seq=chain.seq, link=chain.link, prev=chain.prev,
                             uuid=uuid, record_type=record_type, bounded_time=timing.bounded, outcome=outcome,
                             received_at=timing.received_at)
    except IntegrityError:  # the same uuid noted by a concurrent batch
        return
    heal_gap(user, chain.device, chain.seq, chain.link)


def heal_gap(user, device: str, seq: int, link: str) -> None:
    """The record after seq was judged with a gap before it: now that seq is here and links to it, it is whole."""
    after = (ChainLink.select(ChainLink.uuid).where(
        (ChainLink.author == user.id) & (ChainLink.device_id == device) & (ChainLink.seq == seq + 1)
        & (ChainLink.prev == link)))
    for row in (Evidence.select(Evidence, SyncReceipt.uuid).join(SyncReceipt)
                .where((SyncReceipt.uuid.in_(after)) & (Evidence.chain_status == "gap"))):
        flags = [flag for flag in row.flag_list if flag != "chain_gap"]
        Evidence.update(chain_status="ok", flags=" ".join(flags)).where(Evidence.id == row.id).execute()
        model = _models_with_flags().get(row.record_type)
        if model is not None:
            kept = model.get_by_id(row.object_id)
            model.update(flags=" ".join(f for f in kept.flag_list if f != "chain_gap")).where(
                model.id == row.object_id).execute()


def _models_with_flags() -> dict:
    """Record types whose own row keeps a copy of the flags (what the review lists and filters by)."""
    from models import EquipmentCheck, HazardStep, Patrol

    return {"patrol": Patrol, "equipment_check": EquipmentCheck, "hazard_step": HazardStep}


def create_discard(ctx, data: dict) -> Discard:
    """Handler of the `discard` record type: the worker discarded a refused record on the phone after seeing why;
    the record is kept whole, and its place in the chain shows as discarded, not as a gap."""
    record = data.get("record")
    if not isinstance(record, dict) or not isinstance(record.get("type"), str) or not ERROR_CODE.fullmatch(record["type"]):
        raise RecordError("invalid_value", gettext("放弃的记录内容不对。"), "record")
    raw = record.get("uuid")
    try:
        discarded = uuid_module.UUID(raw) if isinstance(raw, str) and len(raw) <= 36 else None
    except ValueError:
        discarded = None
    if discarded is None:
        raise RecordError("invalid_uuid", gettext("放弃的记录编号（uuid）无效。"), "record")
    # ASCII-escaped: whatever the phone had (a lone surrogate too) is kept exactly and stored by any database.
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    if len(body) > MAX_DISCARDED_BYTES:
        raise RecordError("too_long", gettext("放弃的记录太大。"), "record")
    code = data.get("error_code")
    if code is not None and not (isinstance(code, str) and ERROR_CODE.fullmatch(code)):
        raise RecordError("invalid_value", gettext("拒收原因代码不对。"), "error_code")
    error_code = code or ""
    from .envelope import parse_time

    chain = read_chain(record, parse_time)
    if chain is not None:
        timing = Timing(claimed=ctx.device_time, offset_s=0, received_at=ctx.received_at, bound_low=None,
                        bounded=ctx.timing.bounded, chain=chain, chain_status="ok")
        note_link(ctx.user, str(discarded), record["type"][:32], timing, "discarded")
    return Discard.create(author=ctx.user.id, discarded_uuid=discarded, discarded_type=record["type"][:32],
                          error_code=error_code, record=body, discarded_at=ctx.timing.bounded,
                          received_at=ctx.received_at)


def evidence_of(record_type: str, object_id: int) -> Evidence | None:
    """The evidence kept for a record (None for records made before evidence was kept, or on the web)."""
    return (Evidence.select().where((Evidence.record_type == record_type) & (Evidence.object_id == object_id))
            .order_by(Evidence.id).first())



PLACE_TYPES = ("patrol", "equipment_check", "hazard", "hazard_step")


@dataclass
class WorkerMix:
    """One worker's field records of a month by how the well was identified, and what was flagged."""

    author: object
    methods: dict = field(default_factory=lambda: {"nfc": 0, "scan": 0, "manual": 0})
    total: int = 0
    flagged: int = 0
    flags: dict = field(default_factory=dict)  # flag → count, most frequent first once built

    @property
    def manual_share(self) -> float:
        return self.methods["manual"] / self.total if self.total else 0.0


@dataclass
class GivenUp:
    """A record a worker of the station gave up on the phone: withdrawn before it was sent, or discarded after the
    server refused it — with what it was (its type, its well, when it was made) and whether the server had it anyway."""

    discard: object
    well_code: str
    made_at: str
    arrived_anyway: bool

    @property
    def withdrawn(self) -> bool:
        return self.discard.error_code == "withdrawn"


def given_up(station_id: int, start: datetime, end: datetime) -> list[GivenUp]:
    """The station's workers' discarded and withdrawn records of [start, end), newest first (three queries)."""
    from models import Station, User, Well

    rows = list(Discard.select(Discard, User).join(User, on=Discard.author)
                .where((User.station == station_id) & (Discard.discarded_at >= start) & (Discard.discarded_at < end))
                .order_by(Discard.discarded_at.desc()).limit(500))
    bodies = {}
    for row in rows:
        try:
            bodies[row.id] = json.loads(row.record)
        except ValueError:
            bodies[row.id] = {}
    well_ids = set()
    for body in bodies.values():
        data = body.get("data") if isinstance(body, dict) else None
        well = data.get("well_id") if isinstance(data, dict) else None
        if isinstance(well, int) and not isinstance(well, bool) and 0 < well <= MAX_ID:
            well_ids.add(well)
    station = Station.get_by_id(station_id)
    codes = dict(Well.select(Well.id, Well.code).join(Station).where(Well.id.in_(well_ids)
                                                                    & (Station.work_area == station.work_area_id)).tuples())
    arrived = set(SyncReceipt.select(SyncReceipt.uuid).where(SyncReceipt.uuid.in_([r.discarded_uuid for r in rows])).scalars())
    found = []
    for row in rows:
        body = bodies[row.id] if isinstance(bodies[row.id], dict) else {}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        made = body.get("created_at")
        well = data.get("well_id")
        code = codes.get(well, "") if isinstance(well, int) and not isinstance(well, bool) else ""
        found.append(GivenUp(row, code, made[:16].replace("T", " ") if isinstance(made, str) else "",
                             row.discarded_uuid in arrived))
    return found


def station_mix(station_id: int, start: datetime, end: datetime) -> list[WorkerMix]:
    """Per worker of a station, the [start, end) records made at a well: NFC / QR / typed, and their flags — a
    pattern a leader can spot (always typed, always far, clock always set back), not only a record."""
    from models import User

    rows = (Evidence.select(Evidence.author, Evidence.method, Evidence.flags)
            .where((Evidence.station == station_id) & (Evidence.bounded_time >= start) & (Evidence.bounded_time < end)
                   & Evidence.record_type.in_(PLACE_TYPES) & (Evidence.method != "")).tuples())
    mixes: dict[int, WorkerMix] = {}
    for author_id, method, flags in rows:
        mix = mixes.setdefault(author_id, WorkerMix(author=None))
        mix.total += 1
        if method in mix.methods:
            mix.methods[method] += 1
        if flags:
            mix.flagged += 1
            for flag in flags.split():
                mix.flags[flag] = mix.flags.get(flag, 0) + 1
    users = {u.id: u for u in User.select().where(User.id.in_(list(mixes)))} if mixes else {}
    for author_id, mix in mixes.items():
        mix.author = users[author_id]
        mix.flags = dict(sorted(mix.flags.items(), key=lambda item: (-item[1], item[0])))
    return sorted(mixes.values(), key=lambda m: (-m.flagged, m.author.employee_no))
