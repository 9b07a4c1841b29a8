"""Shifts of a work area and what each well was due in one: done, due, overdue or missed — in the work area's time zone."""
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext, lazy_gettext as _l

SHIFT_NAMES = {2: (_l("白班"), _l("夜班")), 3: (_l("早班"), _l("中班"), _l("夜班"))}
SPEC = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")  # ASCII digits: ٠٨ is no hour


@dataclass(frozen=True)
class Shift:
    index: int
    name: str
    start: time
    end: time

    @property
    def hours(self) -> float:
        minutes = (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)
        return (minutes % (24 * 60) or 24 * 60) / 60


def parse_shifts(spec: str) -> list[Shift]:
    """'08:00-20:00 20:00-08:00' → shifts that cover the day without gaps or overlaps; ValueError otherwise."""
    parts = spec.split()
    shifts = []
    for index, part in enumerate(parts):
        match = SPEC.match(part)
        if not match:
            raise ValueError(gettext("班次格式应为 HH:MM-HH:MM：%(part)s", part=part))
        h1, m1, h2, m2 = map(int, match.groups())
        names = SHIFT_NAMES.get(len(parts))
        name = str(names[index]) if names else gettext("第%(number)s班", number=index + 1)
        shifts.append(Shift(index, name, time(h1, m1), time(h2, m2)))
    if not shifts:
        raise ValueError(gettext("至少要有一个班次。"))
    if abs(sum(s.hours for s in shifts) - 24) > 1e-9:
        raise ValueError(gettext("各班次加起来应为 24 小时。"))
    for current, following in zip(shifts, shifts[1:] + shifts[:1], strict=True):
        if current.end != following.start:
            raise ValueError(gettext("班次应首尾相接。"))
    return shifts


def window(day: date, shift: Shift, tz: str) -> tuple[datetime, datetime]:
    """(start, end) of a shift as naive UTC; a shift that crosses midnight belongs to the day it starts."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, shift.start, zone)
    end = start + timedelta(hours=shift.hours)
    to_utc = lambda moment: moment.astimezone(timezone.utc).replace(tzinfo=None)  # noqa: E731
    return to_utc(start), to_utc(end)


def shift_at(moment_utc: datetime, shifts: list[Shift], tz: str) -> tuple[date, Shift]:
    """The (day, shift) that a UTC moment falls in."""
    local = moment_utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
    for day in (local.date(), local.date() - timedelta(days=1)):
        for shift in shifts:
            start, end = window(day, shift, tz)
            if start <= moment_utc < end:
                return day, shift
    raise ValueError("no shift covers this moment")  # parse_shifts guarantees the day is covered


@dataclass
class WellShift:
    """One well in one shift: how many patrols it needed, how many were done, and what that makes it."""

    well: object
    required: int
    done: int
    status: str  # done, due, overdue, missed

    LABELS = {"done": _l("已巡"), "due": _l("待巡"), "overdue": _l("超时未巡"), "missed": _l("漏巡")}

    @property
    def label(self) -> str:
        return str(self.LABELS[self.status])


def required_patrols(interval_hours: int, shift: Shift) -> int:
    """Patrols due in a shift at a well patrolled every interval_hours: one per interval begun, at least one."""
    return max(1, math.ceil(shift.hours / max(interval_hours, 1)))


def well_status(interval_hours: int, shift: Shift, start: datetime, end: datetime, now: datetime, done: int) -> tuple[int, str]:
    """(required, status) of a well patrolled every interval_hours, with done patrols, seen at now (naive UTC)."""
    required = required_patrols(interval_hours, shift)
    if done >= required:
        return required, "done"
    if now >= end:
        return required, "missed"
    elapsed = max(0.0, (now - start).total_seconds() / 3600)
    # By now the well should have had one patrol per full interval elapsed.
    expected = min(required, math.floor(elapsed / max(interval_hours, 1)))
    return required, "overdue" if done < expected else "due"


def shift_table(wells, patrols, shift: Shift, start: datetime, end: datetime, now: datetime) -> list[WellShift]:
    """Every well's status in the shift [start, end), from the shift's patrols (see Patrol.clock_time). A patrol the
    leader returned does not count: its correction, a new patrol at the well, does."""
    counts: dict[int, int] = {}
    for patrol in patrols:
        if patrol.review_status != "returned":
            counts[patrol.well_id] = counts.get(patrol.well_id, 0) + 1
    rows = []
    for well in wells:
        required, status = well_status(well.patrol_interval_hours, shift, start, end, now, counts.get(well.id, 0))
        rows.append(WellShift(well, required, counts.get(well.id, 0), status))
    return rows


def coverage(rows: list[WellShift]) -> float:
    """Share of the shift's required patrols that were done (a well patrolled twice where once was due counts once)."""
    required = sum(r.required for r in rows)
    return 100.0 * sum(min(r.done, r.required) for r in rows) / required if required else 100.0
