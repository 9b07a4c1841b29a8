"""Well history (井史): the well's timeline of patrols, operations, checks and hazard steps, newest first and paged
by a cursor, and the series of each reading for the charts. A page costs a fixed number of queries."""
import json
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext, ngettext
from peewee import JOIN

from models import Equipment, EquipmentCheck, Hazard, HazardStep, Patrol, User, Well, WellOperation

from .fluctuations import BASELINE_DAYS, MIN_SAMPLES
from .patrols import OPERATIONS, READINGS

PAGE_SIZE = 30
RANGES = (7, 30, 90)
DEFAULT_RANGE = 30
MAX_POINTS = 120  # more readings than this in the range are drawn as daily means with a min–max band
# Rank of each kind among records of the same time, so the order (time, rank, id) is total and a cursor exact.
KIND_ORDER = {"hazard": 0, "check": 1, "patrol": 2}
KEY_PATTERN = re.compile(r"(patrol|check|hazard)-(\d{1,18})")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the time, kind and id of its last entry (records after it in the order come next)."""

    time: datetime  # naive UTC
    kind: str | None = None
    id: int | None = None

    def params(self) -> dict:
        """The query parameters of the next page's URL."""
        params = {"before": self.time.isoformat()}
        if self.kind:
            params["key"] = f"{self.kind}-{self.id}"
        return params


def parse_cursor(before: str | None, key: str | None = None) -> Cursor | None:
    """The cursor of ?before=<ISO time>&key=<kind>-<id>; None (the first page) for anything that does not parse."""
    if not before or len(before) > 40:
        return None
    try:
        moment = datetime.fromisoformat(before)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    match = KEY_PATTERN.fullmatch(key or "")
    return Cursor(moment, match[1], int(match[2])) if match else Cursor(moment)


def parse_range(value: str | None) -> int:
    """Days shown in the charts: one of RANGES, else the default."""
    return int(value) if value in {str(days) for days in RANGES} else DEFAULT_RANGE


@dataclass
class Entry:
    """One line of the timeline: a patrol (with its operations), an equipment check or a hazard step."""

    kind: str
    time: datetime
    record: object
    summary: list[str] = field(default_factory=list)  # a patrol's readings, a check's abnormal count
    details: list[str] = field(default_factory=list)  # a patrol's operations, a check's notes

    @property
    def sort_key(self) -> tuple:
        return self.time, KIND_ORDER[self.kind], self.record.id

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.time, self.kind, self.record.id)


@dataclass
class Page:
    entries: list[Entry]
    next: Cursor | None


def _after(query, cursor: Cursor | None, kind: str, time_field, id_field):
    """query narrowed to rows of kind that come after the cursor in the order (time, rank, id) descending."""
    if cursor is None:
        return query
    return query.where(_after_condition(cursor, kind, time_field, id_field))


def _after_condition(cursor: Cursor, kind: str, time_field, id_field):
    if cursor.kind is None or KIND_ORDER[kind] > KIND_ORDER[cursor.kind]:
        return time_field < cursor.time
    if KIND_ORDER[kind] < KIND_ORDER[cursor.kind]:
        return time_field <= cursor.time
    return (time_field < cursor.time) | ((time_field == cursor.time) & (id_field < cursor.id))


def number(value: float) -> str:
    """A reading as people write it: at most two decimals, no trailing zeros."""
    return f"{round(value, 2):g}"


def readings_summary(patrol: Patrol) -> list[str]:
    """The patrol's readings as short texts, e.g. "油压 0.8 MPa", in READINGS order."""
    return [f"{label} {number(getattr(patrol, name))} {unit}"
            for name, (label, unit, *_rest) in READINGS.items() if getattr(patrol, name) is not None]


def operation_summary(code: str, values: dict) -> str:
    """One operation as text, e.g. "憋压：憋压时间 10 min，起压 0.8 MPa"."""
    _char, name, fields = OPERATIONS[code]
    parts = []
    for key, value in values.items():
        label, unit = fields[key][:2] if key in fields else (key, None)
        text = number(value) if isinstance(value, (int, float)) else str(value)
        parts.append(f"{label} {text}{' ' + str(unit) if unit else ''}")
    return gettext("%(operation)s：%(values)s", operation=name, values=gettext("，").join(parts)) if parts else str(name)


def _patrols(well: Well, cursor, limit: int) -> list[Entry]:
    query = Patrol.select(Patrol, User).join(User, on=Patrol.author).where(Patrol.well == well.id)
    rows = _after(query, cursor, "patrol", Patrol.device_time, Patrol.id).order_by(
        Patrol.device_time.desc(), Patrol.id.desc()).limit(limit)
    return [Entry("patrol", p.device_time, p, readings_summary(p)) for p in rows]


def _checks(well: Well, cursor, limit: int) -> list[Entry]:
    query = (EquipmentCheck.select(EquipmentCheck, Equipment, User)
             .join(Equipment).switch(EquipmentCheck).join(User, on=EquipmentCheck.author)
             .where(EquipmentCheck.well == well.id))  # a check keeps its equipment's well (webapp/checks.py)
    rows = _after(query, cursor, "check", EquipmentCheck.device_time, EquipmentCheck.id).order_by(
        EquipmentCheck.device_time.desc(), EquipmentCheck.id.desc()).limit(limit)
    entries = []
    for check in rows:
        results = list(json.loads(check.results or "{}").values())
        abnormal = sum(1 for r in results if not r.get("ok", True))
        entries.append(Entry("check", check.device_time, check, [ngettext("%(num)s 项异常", "%(num)s 项异常", abnormal)] if abnormal else [],
                             [r["note"] for r in results if r.get("note")]))
    return entries


def _hazard_steps(well: Well, cursor, limit: int) -> list[Entry]:
    assignee = User.alias()
    query = (HazardStep.select(HazardStep, Hazard, User, assignee)
             .join(Hazard).switch(HazardStep).join(User, on=HazardStep.actor)
             .switch(HazardStep).join(assignee, JOIN.LEFT_OUTER, on=HazardStep.assignee)
             .where(Hazard.well == well.id))
    rows = _after(query, cursor, "hazard", HazardStep.at, HazardStep.id).order_by(
        HazardStep.at.desc(), HazardStep.id.desc()).limit(limit)
    return [Entry("hazard", step.at, step) for step in rows]


def timeline(well: Well, cursor: Cursor | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of the well's records after cursor, newest first: one query per kind (each LIMIT size + 1, so the
    merge knows whether more follow) and one for the operations of the page's patrols — never more, however much
    data the well has."""
    merged = _patrols(well, cursor, size + 1) + _checks(well, cursor, size + 1) + _hazard_steps(well, cursor, size + 1)
    merged.sort(key=lambda e: e.sort_key, reverse=True)
    entries = merged[:size]
    patrols = {e.record.id: e for e in entries if e.kind == "patrol"}
    if patrols:
        operations = (WellOperation.select().where(WellOperation.patrol.in_(list(patrols)))
                      .order_by(WellOperation.id))
        for operation in operations:
            # 巡 is the patrol itself; codes no longer in OPERATIONS are skipped rather than guessed at.
            if operation.code in OPERATIONS and operation.code != "xun":
                patrols[operation.patrol_id].details.append(operation_summary(operation.code, json.loads(operation.values)))
    return Page(entries, entries[-1].cursor if len(merged) > size else None)


@dataclass
class Point:
    """A point of a chart: one reading, or a day's mean with its lowest and highest reading."""

    time: datetime  # naive UTC
    value: float
    low: float
    high: float
    abnormal: bool


@dataclass
class Series:
    """One reading of the well over the chart range, ready to draw."""

    name: str
    label: str
    unit: str
    points: list[Point]
    values: list[float]  # every reading in the range, oldest first (for the summary)
    daily: bool  # points are per-day means
    median: float | None  # of the last BASELINE_DAYS days, as the fluctuation alerts use

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def latest(self) -> float:
        return self.values[-1]


def _daily(points: list[Point], zone: ZoneInfo) -> list[Point]:
    """Per local day: the mean, the lowest and highest reading, abnormal if any patrol was; placed at noon."""
    days: dict = {}
    for point in points:
        day = point.time.replace(tzinfo=timezone.utc).astimezone(zone).date()
        days.setdefault(day, []).append(point)
    merged = []
    for day, group in days.items():
        noon = datetime.combine(day, time(12), zone).astimezone(timezone.utc).replace(tzinfo=None)
        values = [p.value for p in group]
        merged.append(Point(noon, statistics.fmean(values), min(values), max(values), any(p.abnormal for p in group)))
    return merged


def series(well: Well, days: int, now: datetime, tz: str) -> list[Series]:
    """Each reading that has values in the last `days` days, in READINGS order, from one query."""
    since = now - timedelta(days=days)
    columns = [getattr(Patrol, name) for name in READINGS]
    rows = list(Patrol.select(Patrol.device_time, Patrol.is_abnormal, *columns)
                .where((Patrol.well == well.id) & (Patrol.device_time >= since))
                .order_by(Patrol.device_time, Patrol.id).tuples())
    recent = now - timedelta(days=BASELINE_DAYS)
    zone = ZoneInfo(tz)
    charts = []
    for index, (name, (label, unit, *_rest)) in enumerate(READINGS.items(), start=2):
        points = [Point(row[0], row[index], row[index], row[index], bool(row[1])) for row in rows if row[index] is not None]
        if not points:
            continue
        last_week = [p.value for p in points if p.time >= recent]
        daily = len(points) > MAX_POINTS
        charts.append(Series(
            name, str(label), str(unit), _daily(points, zone) if daily else points, [p.value for p in points], daily,
            statistics.median(last_week) if len(last_week) >= MIN_SAMPLES else None,
        ))
    return charts
