"""Patrols counted per well and shift, kept by the database itself (docs/shift-tallies.md).

A year of a work area's 承包井巡检完成率 groups ~70 k patrols by well and shift; `shift_tally` holds those counts
already — the patrols of a well in a shift that are not returned, the number coverage caps per shift —, so the year
is read as one small row per well and shift. Triggers on `patrol` keep the rows whatever writes a patrol (the record
handler, the set-based sync, review decisions, the generator, a hand-written SQL statement): no write path has to
remember them. SQLite's are row triggers; PostgreSQL's are statement triggers over the statement's transition tables,
so a sync batch of 500 patrols is one grouped upsert, not 500.

A shift is named as webapp.coverage.shift_of names it: its local day (days since 1970-01-01) and its slot (its place
among the work area's shifts by start time), from the patrol's UTC time plus the offset of the work area's
`tally_basis`. The triggers count only wells of a work area that has a basis. Readers use the tallies only while the
basis still is the work area's shifts and its zone's offset over the period read (`matches`); otherwise they count
the patrols as before. `adopt` sets a work area's basis and counts its tallies afresh: when a work area is made,
when its shifts change, by `jingzhan db-upgrade` (schema 21) and `jingzhan tallies`.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from models import TallyBasis, TallySlot, WorkArea, db, utcnow

from .coverage import slots
from .database import is_postgres
from .shifts import Shift, parse_shifts


def starts(shifts: list[Shift]) -> list[int]:
    """The shifts' start times in slot order, as seconds after local midnight."""
    return [s.start.hour * 3600 + s.start.minute * 60 for s in slots(shifts)]


def offset_now(tz: str, now: datetime | None = None) -> int:
    """The zone's UTC offset in seconds at a naive-UTC moment (now by default)."""
    moment = (now or utcnow()).replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
    return round(moment.utcoffset().total_seconds())


def _seconds(column: str) -> str:
    """Whole seconds since 1970 of a naive-UTC timestamp column, floored (as webapp.coverage counts them)."""
    if is_postgres():
        return f"CAST(FLOOR(date_part('epoch', {column})) AS BIGINT)"
    return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"


def _grouped(source: str) -> str:
    """SQL: (well_id, day, slot, change) summed per shift, from `source` — a relation with the columns well_id,
    clock_time and delta (+1 a patrol counted, −1 one no longer counted) — for the wells of work areas with a basis.
    The slot is the last shift starting at or before the local time of day; before the first start the moment is in
    the last shift of the day before (webapp.coverage.shift_of). No % anywhere: psycopg2's placeholder mark."""
    second = "(x.s - x.s / 86400 * 86400)"
    return (
        "SELECT y.well_id, y.s / 86400 - (CASE WHEN y.slot IS NULL THEN 1 ELSE 0 END) AS day, "
        "COALESCE(y.slot, y.last) AS slot, SUM(y.delta) AS change FROM ("
        "SELECT x.well_id, x.s, x.delta, "
        f"(SELECT MAX(t.slot) FROM tally_slot t WHERE t.work_area_id = x.area AND t.start_s <= {second}) AS slot, "
        "(SELECT MAX(t.slot) FROM tally_slot t WHERE t.work_area_id = x.area) AS last FROM ("
        f"SELECT r.well_id, r.delta, {_seconds('r.clock_time')} + b.offset_s AS s, b.work_area_id AS area "
        f"FROM {source} r JOIN well w ON w.id = r.well_id JOIN station st ON st.id = w.station_id "
        "JOIN tally_basis b ON b.work_area_id = st.work_area_id) x) y "
        "GROUP BY 1, 2, 3 HAVING SUM(y.delta) <> 0"
    )


def _upsert(source: str) -> str:
    # SQLite needs a WHERE in an INSERT … SELECT that has an ON CONFLICT (a parsing ambiguity); ordered, so that two
    # transactions lock the rows they share in the same order.
    return (f"INSERT INTO shift_tally (well_id, day, slot, patrols) SELECT * FROM ({_grouped(source)}) g WHERE 1 = 1 "
            "ORDER BY 1, 2, 3 ON CONFLICT (well_id, day, slot) DO UPDATE SET patrols = shift_tally.patrols + excluded.patrols")


def month_of(day: str) -> str:
    """SQL: the month (year × 12 + month − 1) of a day number."""
    if is_postgres():
        moment = f"(DATE '1970-01-01' + CAST({day} AS INTEGER))"
        return f"(CAST(date_part('year', {moment}) AS INTEGER) * 12 + CAST(date_part('month', {moment}) AS INTEGER) - 1)"
    return (f"(CAST(strftime('%Y', {day} * 86400, 'unixepoch') AS INTEGER) * 12 "
            f"+ CAST(strftime('%m', {day} * 86400, 'unixepoch') AS INTEGER) - 1)")


def _months(source: str) -> str:
    """SQL run after _upsert(source): each changed shift leaves the month's bucket of its count before (its count now
    less the change) and joins the bucket of its count now; buckets are of counts ≥ 1."""
    changed = (f"FROM ({_grouped(source)}) g JOIN shift_tally s ON s.well_id = g.well_id AND s.day = g.day "
               "AND s.slot = g.slot")
    return (
        "INSERT INTO month_tally (well_id, month, slot, patrols, shifts) SELECT h.well_id, h.month, h.slot, h.patrols, "
        f"SUM(h.shifts) FROM (SELECT g.well_id, {month_of('g.day')} AS month, g.slot, s.patrols - g.change AS patrols, "
        f"-1 AS shifts {changed} WHERE s.patrols - g.change > 0 UNION ALL SELECT g.well_id, {month_of('g.day')}, "
        f"g.slot, s.patrols, 1 {changed} WHERE s.patrols > 0) h WHERE 1 = 1 GROUP BY 1, 2, 3, 4 "
        "HAVING SUM(h.shifts) <> 0 ORDER BY 1, 2, 3, 4 ON CONFLICT (well_id, month, slot, patrols) "
        "DO UPDATE SET shifts = month_tally.shifts + excluded.shifts"
    )


def _kept(source: str) -> str:
    """The statements that count a change of patrols (`source`, as for _grouped) into both tallies."""
    return f"{_upsert(source)}; {_months(source)};"


COUNTED = "review_status <> 'returned'"
CHANGED = ("((o.review_status = 'returned') <> (n.review_status = 'returned') OR o.well_id <> n.well_id "
           "OR o.clock_time <> n.clock_time)")


def _sqlite_triggers() -> list[str]:
    def row(who: str, delta: int) -> str:
        return f"(SELECT {who}.well_id AS well_id, {who}.clock_time AS clock_time, {delta} AS delta WHERE {who}.{COUNTED})"

    changed = CHANGED.replace("o.", "OLD.").replace("n.", "NEW.")
    return [
        (f"CREATE TRIGGER patrol_tally_insert AFTER INSERT ON patrol WHEN NEW.{COUNTED} BEGIN "
         f"{_kept(row('NEW', 1))} END"),
        (f"CREATE TRIGGER patrol_tally_update AFTER UPDATE OF review_status, well_id, clock_time ON patrol "
         f"WHEN {changed} BEGIN {_kept('(' + row('OLD', -1)[1:-1] + ' UNION ALL ' + row('NEW', 1)[1:-1] + ')')} END"),
        (f"CREATE TRIGGER patrol_tally_delete AFTER DELETE ON patrol WHEN OLD.{COUNTED} BEGIN "
         f"{_kept(row('OLD', -1))} END"),
    ]


def _postgres_triggers() -> list[str]:
    def function(name: str, source: str) -> str:
        return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $tally$ BEGIN "
                f"{_kept(source)} RETURN NULL; END $tally$")

    pairs = "tally_old o JOIN tally_new n ON n.id = o.id"
    changes = (f"(SELECT o.well_id, o.clock_time, -1 AS delta FROM {pairs} WHERE o.{COUNTED} AND {CHANGED} "
               f"UNION ALL SELECT n.well_id, n.clock_time, 1 AS delta FROM {pairs} WHERE n.{COUNTED} AND {CHANGED})")
    return [
        function("patrol_tally_insert", f"(SELECT well_id, clock_time, 1 AS delta FROM tally_new WHERE {COUNTED})"),
        function("patrol_tally_update", changes),
        function("patrol_tally_delete", f"(SELECT well_id, clock_time, -1 AS delta FROM tally_old WHERE {COUNTED})"),
        ("CREATE TRIGGER patrol_tally_insert AFTER INSERT ON patrol REFERENCING NEW TABLE AS tally_new "
         "FOR EACH STATEMENT EXECUTE FUNCTION patrol_tally_insert()"),
        ("CREATE TRIGGER patrol_tally_update AFTER UPDATE ON patrol REFERENCING OLD TABLE AS tally_old "
         "NEW TABLE AS tally_new FOR EACH STATEMENT EXECUTE FUNCTION patrol_tally_update()"),
        ("CREATE TRIGGER patrol_tally_delete AFTER DELETE ON patrol REFERENCING OLD TABLE AS tally_old "
         "FOR EACH STATEMENT EXECUTE FUNCTION patrol_tally_delete()"),
    ]


TRIGGERS = ("patrol_tally_insert", "patrol_tally_update", "patrol_tally_delete")


def install() -> None:
    """Create (or create again) the triggers that keep shift_tally; the tables exist already."""
    for name in TRIGGERS:
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON patrol" if is_postgres() else ""))
    for statement in _postgres_triggers() if is_postgres() else _sqlite_triggers():
        db.execute_sql(statement)


def adopt(work_area_id: int, shifts: list[Shift], tz: str, now: datetime | None = None) -> None:
    """Count a work area's tallies under these shifts and the zone's offset now, from its patrols (in one
    transaction: a patrol written meanwhile is counted by its trigger under the new basis)."""
    with db.atomic():
        TallyBasis.delete().where(TallyBasis.work_area == work_area_id).execute()
        TallySlot.delete().where(TallySlot.work_area == work_area_id).execute()
        TallyBasis.create(work_area=work_area_id, starts=" ".join(map(str, starts(shifts))), offset_s=offset_now(tz, now))
        TallySlot.insert_many([{"work_area": work_area_id, "slot": n, "start_s": s}
                               for n, s in enumerate(starts(shifts))]).execute()
        mark = "%s" if is_postgres() else "?"
        wells = ("SELECT w.id FROM well w JOIN station st ON st.id = w.station_id "
                 f"WHERE st.work_area_id = {mark}")
        for table in ("shift_tally", "month_tally"):
            db.execute_sql(f"DELETE FROM {table} WHERE well_id IN ({wells})", [work_area_id])  # nosec B608 — no input
        source = (f"(SELECT p.well_id, p.clock_time, 1 AS delta FROM patrol p WHERE p.{COUNTED} "
                  f"AND p.well_id IN ({wells}))")
        db.execute_sql(_upsert(source), [work_area_id])  # nosec B608 — the text holds no input
        db.execute_sql(f"INSERT INTO month_tally (well_id, month, slot, patrols, shifts) SELECT well_id, "  # nosec B608
                       f"{month_of('day')}, slot, patrols, COUNT(*) FROM shift_tally WHERE patrols > 0 "
                       f"AND well_id IN ({wells}) GROUP BY 1, 2, 3, 4", [work_area_id])


def zone(area: WorkArea) -> str:
    """The zone the app counts shifts in (its TIMEZONE setting, as webapp.assessment's Clock), or, outside an app
    (the generator run on its own), the work area's."""
    return current_app.config["TIMEZONE"] if has_app_context() else area.timezone


def adopt_area(area: WorkArea) -> None:
    """A work area's tallies counted afresh under its shifts, in the zone the app counts in: when it is made."""
    adopt(area.id, parse_shifts(area.shifts), zone(area))


def adopt_all(tz: str) -> int:
    """Every work area's tallies counted afresh under its shifts; how many work areas."""
    areas = list(WorkArea.select(WorkArea.id, WorkArea.shifts))
    for area in areas:
        adopt(area.id, parse_shifts(area.shifts), tz)
    return len(areas)


def matches(work_area_id: int | None, shifts: list[Shift], offset: int) -> bool:
    """Whether the work area's tallies were counted under these shifts and this UTC offset."""
    if work_area_id is None:
        return False
    basis = TallyBasis.get_or_none(TallyBasis.work_area == work_area_id)
    return basis is not None and basis.starts == " ".join(map(str, starts(shifts))) and basis.offset_s == offset
