"""Patrol check-ins (巡检打卡): the readings and operations a patrol records, their ranges, and proof of presence."""
import json
import math
import re
import uuid as uuid_module
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext as _l

from models import Patrol, Well, WellOperation

from .fluctuations import detect as detect_fluctuations
from .readings import CATALOGUE, Field, alert_rules, set_for
from .recorded import RECORDED, Recorded
from .text import clean_text

# Every reading the server can store, by its key: (label, unit, lowest, highest). Which a patrol records at a
# well, how far and how strictly, is the well's reading set (webapp/readings.py).
READINGS = CATALOGUE

# The ten operations of 十字油井管理法; each field: (label, unit or None for text, min, max).
OPERATIONS = {
    "bie": (_l("憋"), _l("憋压"), {"minutes": (_l("憋压时间"), "min", 1, 60), "start_mpa": (_l("起压"), "MPa", 0, 40),
                                   "end_mpa": (_l("止压"), "MPa", 0, 40)}),
    "peng": (_l("碰"), _l("碰泵"), {"times": (_l("碰泵次数"), _l("次"), 1, 20)}),
    "tiao": (_l("调"), _l("调参"), {"param": (_l("调整参数"), None, 0, 20), "old": (_l("原值"), "", 0, 5000),
                                    "new": (_l("新值"), "", 0, 5000)}),
    "kong": (_l("控"), _l("控套压"), {"before_mpa": (_l("控前套压"), "MPa", 0, 40), "after_mpa": (_l("控后套压"), "MPa", 0, 40)}),
    "xi": (_l("洗"), _l("热洗"), {"volume_m3": (_l("洗井液量"), "m³", 0, 200), "temp_c": (_l("洗井温度"), "°C", 0, 120)}),
    "xun": (_l("巡"), _l("巡回检查"), {}),
    "bu": (_l("补"), _l("补/换盘根"), {"action": (_l("补或换"), None, 0, 10)}),
    "liang": (_l("量"), _l("量油"), {"hours": (_l("量油时间"), "h", 0.1, 24), "liquid_t": (_l("量得液量"), "t", 0, 500)}),
    "bi": (_l("比"), _l("对比分析"), {"finding": (_l("对比结论"), None, 0, 200)}),
    "jiao": (_l("校"), _l("校对校验"), {"item": (_l("校验对象"), None, 0, 60)}),
}

# Text fields of operations that take one of a few values: the values are stored as they are (in Chinese).
CHOICES = {("tiao", "param"): ("冲程", "冲次", "泵深"), ("bu", "action"): ("补盘根", "换盘根")}  # i18n: data
# What a page shows for each of those values (keyed by the stored value).
CHOICE_LABELS = {"冲程": _l("冲程"), "冲次": _l("冲次"), "泵深": _l("泵深"), "补盘根": _l("补盘根"), "换盘根": _l("换盘根")}  # i18n: data (keys)
MAX_NOTE = 500
PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class RecordError(Exception):
    """A record the server refuses, with a code for programs and a Chinese message for people."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _number(value, label, low, high, field):
    """A number as sent: a JSON number, or a string of plain ASCII decimal digits (what an older phone sent) —
    never what Python's float() would also read ("1_0", "٣", " 12", "1e3", "nan")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordError("invalid_value", gettext("%(label)s应为数字。", label=label), field)
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
        raise RecordError("invalid_value", gettext("%(label)s应为数字。", label=label), field)
    try:
        number = float(value)
    except ValueError:
        raise RecordError("invalid_value", gettext("%(label)s应为数字。", label=label), field) from None
    except OverflowError:  # an integer of hundreds of digits: no float holds it, and no reading is that large
        number = math.inf
    if not math.isfinite(number) or not low <= number <= high:
        raise RecordError("out_of_range", gettext("%(label)s应在 %(low)s–%(high)s 之间。", label=label, low=f"{low:g}", high=f"{high:g}"), field)
    return number


def _text(value, label, max_length, field):
    """Text as sent: absent (None) is empty; anything but a string ([], 0, {}) is refused, never read as empty."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RecordError("invalid_value", gettext("%(label)s应为文字。", label=label), field)
    if len(value) > max_length:
        raise RecordError("too_long", gettext("%(label)s不能超过 %(count)s 字。", label=label, count=max_length), field)
    return clean_text(value)


def clean_readings(data: dict, fields: list[Field]) -> dict:
    """The readings of a patrol as floats, checked against the well's reading set: presence and range."""
    readings = data.get("readings")
    readings = {} if readings is None else readings
    if not isinstance(readings, dict):
        raise RecordError("invalid_value", gettext("读数格式不对。"), "readings")
    known = {f.key for f in fields}
    unknown = set(readings) - known
    if unknown:
        names = "、".join(sorted(str(CATALOGUE[k][0]) if k in CATALOGUE else str(k) for k in unknown))
        raise RecordError("unknown_field", gettext("这口井不记录：%(fields)s", fields=names[:100]), "readings")
    cleaned = {}
    for field in fields:
        value = readings.get(field.key)
        if value is None or value == "":
            if field.required:
                raise RecordError("missing_reading", gettext("请填写%(label)s。", label=field.label), field.key)
            continue
        # The label as the lazy text of the catalogue: translated only when a message needs it (a batch of 500
        # patrols spent a quarter of its time translating the labels of valid readings).
        cleaned[field.key] = _number(value, CATALOGUE[field.key][0], field.low, field.high, field.key)
    return cleaned


def clean_confirmed(data: dict, readings: dict) -> list[str]:
    """The readings whose change against the baseline the worker confirmed on the phone (keys of this record's
    readings; others are left out: what was confirmed is only ever a reading the record carries)."""
    confirmed = data.get("confirmed")
    confirmed = [] if confirmed is None else confirmed
    if not isinstance(confirmed, list) or len(confirmed) > len(CATALOGUE) or not all(isinstance(k, str) for k in confirmed):
        raise RecordError("invalid_value", gettext("确认的读数格式不对。"), "confirmed")
    return [k for k in dict.fromkeys(confirmed) if k in readings]


def clean_operations(data: dict) -> dict:
    """The operations done during the patrol: {code: {field: value}}, checked."""
    operations = data.get("operations")
    operations = {} if operations is None else operations
    if not isinstance(operations, dict) or len(operations) > len(OPERATIONS):
        raise RecordError("invalid_value", gettext("作业项格式不对。"), "operations")
    cleaned = {}
    for code, values in operations.items():
        if code not in OPERATIONS:
            raise RecordError("unknown_operation", gettext("未知的作业项：%(code)s", code=str(code)[:20]), "operations")
        char, name, fields = OPERATIONS[code]
        values = values or {}
        if not isinstance(values, dict) or set(values) - set(fields):
            raise RecordError("invalid_value", gettext("%(char)s（%(name)s）的内容不对。", char=char, name=name), f"operations.{code}")
        kept = {}
        for field, raw in values.items():
            label, unit, low, high = fields[field]
            if raw is None or raw == "":
                continue
            where = f"operations.{code}.{field}"
            kept[field] = _text(raw, label, high, where) if unit is None else _number(raw, label, low, high, where)
            choices = CHOICES.get((code, field))
            if choices and kept[field] not in choices:
                allowed = gettext("、").join(str(CHOICE_LABELS.get(choice, choice)) for choice in choices)
                raise RecordError("invalid_value", gettext("%(label)s只能是%(choices)s。", label=label, choices=allowed), where)
        cleaned[code] = kept
    return cleaned


def distance_m(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (float(lat1), float(lon1), float(lat2), float(lon2)))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(min(1.0, h)))


LATITUDE, LONGITUDE, ACCURACY, NOTE = _l("纬度"), _l("经度"), _l("定位精度"), _l("备注")  # translated when shown


def clean_position(data: dict):
    """(latitude, longitude, accuracy) from the phone's GPS, or Nones when it gave none."""
    position = data.get("position")
    if position in (None, {}):
        return None, None, None
    if not isinstance(position, dict):
        raise RecordError("invalid_value", gettext("定位格式不对。"), "position")
    lat = _number(position.get("latitude"), LATITUDE, -90, 90, "position")
    lon = _number(position.get("longitude"), LONGITUDE, -180, 180, "position")
    accuracy = position.get("accuracy")
    accuracy = None if accuracy is None else _number(accuracy, ACCURACY, 0, 100000, "position")
    return lat, lon, accuracy


@dataclass
class Context:
    """Who sent a record and when: what every record handler is given besides the record's data."""

    user: object
    device_time: datetime  # naive UTC, as the phone's clock said
    received_at: datetime  # naive UTC, the server's clock
    clock_offset_s: int
    uuid: str
    settings: dict
    data: dict | None = None  # the record's data, for the evidence every handler judges the same way
    timing: object = None  # webapp.evidence.Timing: the record's chain and the bounds of its time
    cache: dict | None = None  # kept for the whole batch: reference data its records share (reading sets)
    presence: object = None  # webapp.evidence.Presence, once a handler has judged it
    known: Recorded = RECORDED  # what the rules look back at: the database, or a sync batch's set (sync_sets.py)

    @property
    def clock_time(self) -> datetime:
        """When the record was made on the server's clock: the phone's time corrected by its measured offset and
        bounded by what the server knows (docs/evidence.md)."""
        if self.timing is not None:
            return self.timing.bounded
        return self.device_time + timedelta(seconds=self.clock_offset_s)


def find_well(user, data: dict, known: Recorded = RECORDED) -> Well:
    """The patrolled well: only wells of the author's station (any, for an admin). How it was identified (NFC, label
    or typed) is judged with the record's other evidence, never refused (webapp/evidence.py)."""
    well_id = data.get("well_id")
    if isinstance(well_id, bool) or not isinstance(well_id, int):
        raise RecordError("invalid_value", gettext("缺少井的编号。"), "well_id")
    well = known.well(well_id)
    if well is None or well.station.work_area_id != user.work_area_id:
        raise RecordError("unknown_well", gettext("找不到这口井。"), "well_id")
    if well.station_id != user.station_id and not user.has_role("admin"):
        raise RecordError("well_not_in_station", gettext("%(code)s 不属于您所在的站，不能打卡。", code=well.code), "well_id")
    return well


def find_corrected(model, user, raw, what: str, **same):
    """The record (a patrol or a check) that a new one corrects: the author's own, of the same well or equipment
    (`same`: field=value), returned by the leader or still waiting for review — the worker may correct a mistake of
    his own before the leader gets to it. The original is never edited; the correction links to it."""
    if raw is None:
        return None
    try:
        wanted = uuid_module.UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        wanted = None
    original = model.get_or_none(model.uuid == wanted) if wanted else None
    if original is None or original.author_id != user.id or any(getattr(original, f"{k}_id") != v for k, v in same.items()):
        raise RecordError("unknown_original", gettext("找不到要更正的那条%(what)s记录。", what=what), "corrects_uuid")
    if original.review_status == "approved":
        raise RecordError("already_approved", gettext("这条%(what)s站长已审核通过，不能再更正；如确有错误，请告诉站长。", what=what),
                          "corrects_uuid")
    if model.select().where(model.corrects == original.id).exists():
        raise RecordError("already_corrected", gettext("这条%(what)s已经更正过了；要改，请更正后来的那条。", what=what),
                          "corrects_uuid")
    return original


REPEAT_RUN = 3  # this patrol and the two before it at the well, every reading the same to the last digit


def repeats(well: Well, ctx: Context, readings: dict) -> bool:
    """True when the well's previous patrols (REPEAT_RUN − 1 of them) carried exactly these readings: measured
    currents and pressures do not repeat to the last digit — a run like that was copied, not read off the gauges."""
    if not readings:
        return False
    fields = sorted(readings)
    earlier = ctx.known.earlier_readings(well.id, ctx.device_time, fields, REPEAT_RUN - 1)
    wanted = tuple(readings[f] for f in fields)
    return len(earlier) == REPEAT_RUN - 1 and all(row == wanted for row in earlier)


@dataclass
class JudgedPatrol:
    """A patrol record checked and judged, ready to be written: the row's columns, its operations, its well and
    the thresholds its readings raise alerts by."""

    columns: dict
    operations: dict
    well: Well
    thresholds: dict


def judge_patrol(ctx: Context, data: dict) -> JudgedPatrol:
    """Check everything a patrol record says and judge its evidence; RecordError for what is refused."""
    from .evidence import all_flags, judge_presence, read_method

    if not isinstance(data, dict):
        raise RecordError("invalid_value", gettext("记录内容格式不对。"), "data")
    well = find_well(ctx.user, data, ctx.known)
    method = read_method(data)
    # Judged by the set the phone's form was made from (the record names it), else the current one.
    reading_set, fields = set_for(well.kind, ctx.user.work_area_id, data.get("reading_set_id"), ctx.cache)
    readings = clean_readings(data, fields)
    confirmed = clean_confirmed(data, readings)
    operations = clean_operations(data)
    is_abnormal = data.get("abnormal", False)
    if not isinstance(is_abnormal, bool):
        raise RecordError("invalid_value", gettext("正常/异常只能二选一。"), "abnormal")
    note = _text(data.get("note"), NOTE, MAX_NOTE, "note")
    if is_abnormal and not note:
        raise RecordError("missing_note", gettext("异常时请写明情况。"), "note")
    corrects = find_corrected(Patrol, ctx.user, data.get("corrects_uuid"), gettext("巡检"), well=well.id)
    copied = data.get("copied", False)
    if not isinstance(copied, bool):
        raise RecordError("invalid_value", gettext("“沿用上次读数”标记只能是是或否。"), "copied")
    edited = data.get("edited_from")  # the uuid of the record withdrawn on the phone to be made again, corrected
    if edited is not None and not (isinstance(edited, str) and UUID_TEXT.fullmatch(edited)):
        raise RecordError("invalid_value", gettext("改过的原记录编号无效。"), "edited_from")
    presence = judge_presence(ctx, well, method=method)
    reading_flags = ((["copied"] if copied else []) + (["repeated_readings"] if repeats(well, ctx, readings) else [])
                     + (["edited"] if edited else []))
    columns = dict(
        uuid=ctx.uuid, well=well.id, station=well.station_id, author=ctx.user.id, method=method,
        device_time=ctx.device_time, received_at=ctx.received_at, clock_offset_s=ctx.clock_offset_s,
        clock_time=ctx.clock_time,
        latitude=presence.latitude, longitude=presence.longitude, accuracy_m=presence.accuracy,
        distance_m=presence.distance, is_abnormal=is_abnormal, note=note,
        flags=" ".join(dict.fromkeys(all_flags(ctx) + reading_flags)),
        corrects=corrects.id if corrects else None, reading_set=reading_set.id if reading_set else None,
        confirmed=" ".join(confirmed), **readings,
    )
    return JudgedPatrol(columns, operations, well, alert_rules(fields))


def operation_rows(patrol_id: int, well_id: int, operations: dict) -> list[dict]:
    return [{"patrol": patrol_id, "well": well_id, "code": code, "values": json.dumps(values, ensure_ascii=False)}
            for code, values in operations.items()]


def create_patrol(ctx: Context, data: dict) -> Patrol:
    """Handler of the `patrol` record type: check everything, then write the patrol and its operations."""
    judged = judge_patrol(ctx, data)
    patrol = Patrol.create(**judged.columns)
    detect_fluctuations(patrol, judged.well, judged.thresholds, ctx.known)
    if judged.operations:
        WellOperation.insert_many(operation_rows(patrol.id, judged.well.id, judged.operations)).execute()
    return patrol
