"""Patrols counted by shift in the database: which shift a patrol fell in, worked out in SQL, so that a quarter or a
year of coverage is a few hundred summed rows rather than every patrol replayed shift by shift in Python.

A shift is named by its day (the local date it starts on, as a day number: days since 1970-01-01) and its *slot*
(its place among the work area's shifts ordered by start time). Shifts tile the local day, so a patrol's slot is the
number of shift starts at or before its local time of day, less one; before the first start it belongs to the last
shift of the day before. The local time is the UTC time plus the zone's offset — one offset, so this serves a period
in which the zone's offset never changes (Asia/Shanghai since 1991); `fixed_offset` says whether it does, and the
callers replay shifts in Python (webapp.shifts.shift_table, exactly) when it does not.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from .database import is_postgres
from .shifts import Shift

EPOCH_DAY = date(1970, 1, 1).toordinal()


def fixed_offset(moments: list[datetime], tz: str) -> int | None:
    """The zone's UTC offset in seconds if it is the same at every one of these naive-UTC moments (the windows'
    bounds, which straddle any change of offset between them), else None."""
    zone = ZoneInfo(tz)
    offsets = {moment.replace(tzinfo=timezone.utc).astimezone(zone).utcoffset() for moment in moments}
    if len(offsets) != 1:
        return None
    return round(offsets.pop().total_seconds())


def slots(shifts: list[Shift]) -> list[Shift]:
    """The shifts in slot order: by start time of day."""
    return sorted(shifts, key=lambda s: (s.start.hour, s.start.minute))


def minutes(shift: Shift) -> int:
    return round(shift.hours * 60)


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_DAY


def starts(shifts: list[Shift]) -> list[int]:
    """The shifts' start times in slot order, as seconds after local midnight."""
    return [s.start.hour * 3600 + s.start.minute * 60 for s in slots(shifts)]


def epoch_seconds(column: str) -> str:
    """Whole seconds since 1970 of a naive-UTC timestamp column, floored: 07:59:59.9999 is not yet 08:00 (SQLite
    keeps text, and its date functions round a fraction to the millisecond: the fraction is cut off first)."""
    if is_postgres():
        return f"CAST(FLOOR(date_part('epoch', {column})) AS BIGINT)"
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


def local_seconds(column: str, offset: int) -> str:
    """SQL: seconds since 1970 of a naive-UTC timestamp column on the local clock (offset: seconds east of UTC)."""
    return f"({epoch_seconds(column)} + {int(offset)})"


def shift_of(local: str, shifts: list[Shift]) -> tuple[str, str]:
    """SQL expressions (day number, slot) of the shift a moment falls in, from its local seconds (local_seconds, or
    a column holding them: computed once per row, as this repeats it), for moments after 1970 (integer division
    truncates toward zero on both databases). Numbers only: the text holds no input."""
    second = f"({local} - {local} / 86400 * 86400)"  # the second of the day (no %: psycopg2's placeholder mark)
    begins = starts(shifts)
    early = f"(CASE WHEN {second} < {begins[0]} THEN 1 ELSE 0 END)"
    last = len(begins) - 1
    slot = ("(CASE WHEN " + f"{second} < {begins[0]} THEN {last} "
            + "".join(f"WHEN {second} < {following} THEN {index} " for index, following in enumerate(begins[1:]))
            + f"ELSE {last} END)")
    return f"({local} / 86400 - {early})", slot


def kept_apart() -> str:
    """What keeps a subquery from being merged into the query around it, so that an expression it computes once per
    row is not computed again wherever the outer query uses it: SQLite flattens a subquery without a LIMIT, and
    PostgreSQL one without an OFFSET (it then wrote the epoch's arithmetic out in every grouping key and join
    filter: 147 ms for a year of a work area)."""
    return " OFFSET 0" if is_postgres() else " LIMIT -1"


def required_sql(interval: str, shifts: list[Shift], slot: str) -> str:
    """SQL: the patrols due in a shift of this slot at a well patrolled every `interval` hours — webapp.shifts.
    well_status's max(1, ceil(hours / interval)), in integers (minutes)."""
    guarded = f"{'GREATEST' if is_postgres() else 'MAX'}({interval}, 1)"
    cases = "".join(f"WHEN {index} THEN ({minutes(s)} + 60 * {guarded} - 1) / (60 * {guarded}) "
                    for index, s in enumerate(slots(shifts)))
    return f"(CASE {slot} {cases}END)"


def least() -> str:
    return "LEAST" if is_postgres() else "MIN"
