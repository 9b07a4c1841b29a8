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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context

from models import TallyBasis, TallySlot, WorkArea, db, utcnow

from .coverage import epoch_seconds, fixed_offset, starts
from .database import is_postgres
from .shifts import Shift, parse_shifts


def _starts_text(shifts: list[Shift]) -> str:
    return " ".join(map(str, starts(shifts)))


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
        f"SELECT r.well_id, r.delta, {epoch_seconds('r.clock_time')} + b.offset_s AS s, b.work_area_id AS area "
        f"FROM {source} r JOIN well w ON w.id = r.well_id JOIN station st ON st.id = w.station_id "
        "JOIN tally_basis b ON b.work_area_id = st.work_area_id) x) y "
        "GROUP BY 1, 2, 3 HAVING SUM(y.delta) <> 0"
    )


def _shifts_kept(source: str) -> str:
    """SQL: a change of patrols (`source`, as for _grouped) added to shift_tally. SQLite needs a WHERE in an
    INSERT … SELECT that has an ON CONFLICT (a parsing ambiguity); ordered, so that two transactions lock the rows
    they share in the same order."""
    return (f"INSERT INTO shift_tally (well_id, day, slot, patrols) SELECT * FROM ({_grouped(source)}) g WHERE 1 = 1 "
            "ORDER BY 1, 2, 3 ON CONFLICT (well_id, day, slot) DO UPDATE SET patrols = shift_tally.patrols + excluded.patrols")


def month_of(day: str) -> str:
    """SQL: the month (year × 12 + month − 1) of a day number."""
    if is_postgres():
        moment = f"(DATE '1970-01-01' + CAST({day} AS INTEGER))"
        return f"(CAST(date_part('year', {moment}) AS INTEGER) * 12 + CAST(date_part('month', {moment}) AS INTEGER) - 1)"
    return (f"(CAST(strftime('%Y', {day} * 86400, 'unixepoch') AS INTEGER) * 12 "
            f"+ CAST(strftime('%m', {day} * 86400, 'unixepoch') AS INTEGER) - 1)")


def _months_kept(source: str) -> str:
    """SQL: shifts leaving or joining a month's bucket of their count (`source`: well_id, day, slot, patrols and
    delta −1 for a shift's row before a change, +1 after), buckets being of counts ≥ 1."""
    return (
        f"INSERT INTO month_tally (well_id, month, slot, patrols, shifts) SELECT r.well_id, {month_of('r.day')}, "
        f"r.slot, r.patrols, SUM(r.delta) FROM {source} r WHERE r.patrols > 0 GROUP BY 1, 2, 3, 4 "
        "HAVING SUM(r.delta) <> 0 ORDER BY 1, 2, 3, 4 ON CONFLICT (well_id, month, slot, patrols) "
        "DO UPDATE SET shifts = month_tally.shifts + excluded.shifts"
    )


COUNTED = "review_status <> 'returned'"


@dataclass(frozen=True)
class Kept:
    """A table whose rows are counted into a tally by triggers: the columns a change carries, the rows that count,
    the statement that counts a change (given a relation of those columns and `delta`), the columns whose update is a
    change and how an updated row's old (o) and new (n) versions are paired."""

    table: str
    columns: tuple[str, ...]
    counted: str
    kept: Callable[[str], str]
    watched: tuple[str, ...]
    key: tuple[str, ...]

    def changed(self, old: str = "o", new: str = "n") -> str:
        """SQL: an update of a row counted before or after that changes what is counted."""
        counted = f"({old}.{self.counted}) <> ({new}.{self.counted})"
        return "(" + " OR ".join([counted, *(f"{old}.{c} <> {new}.{c}" for c in self.watched if c not in self.key)]) + ")"

    def row(self, who: str, delta: int) -> str:
        """SQL (SQLite's row triggers): the row NEW or OLD as a change, if it counts."""
        return f"SELECT {', '.join(f'{who}.{c} AS {c}' for c in self.columns)}, {delta} AS delta WHERE {who}.{self.counted}"

    def sqlite(self) -> list[str]:
        """Row triggers; the update trigger only for its columns, and only for a change."""
        events = {"insert": (f"NEW.{self.counted}", f"({self.row('NEW', 1)})"),
                  "update": (self.changed("OLD", "NEW"), f"({self.row('OLD', -1)} UNION ALL {self.row('NEW', 1)})"),
                  "delete": (f"OLD.{self.counted}", f"({self.row('OLD', -1)})")}
        columns = {"update": f" OF {', '.join(self.watched)}"}
        return [(f"CREATE TRIGGER {self.table}_tally_{event} AFTER {event.upper()}{columns.get(event, '')} ON {self.table} "
                 f"WHEN {when} BEGIN {self.kept(source)}; END") for event, (when, source) in events.items()]

    def postgres(self) -> list[str]:
        """Statement triggers over the statement's transition tables (which cannot go with a column list: the update
        trigger sees every update and keeps the changes)."""
        pairs = f"tally_old o JOIN tally_new n ON {' AND '.join(f'n.{c} = o.{c}' for c in self.key)}"
        names = ", ".join(self.columns)
        old, new = ", ".join(f"o.{c}" for c in self.columns), ", ".join(f"n.{c}" for c in self.columns)
        changes = (f"(SELECT {old}, -1 AS delta FROM {pairs} WHERE o.{self.counted} AND {self.changed()} "
                   f"UNION ALL SELECT {new}, 1 AS delta FROM {pairs} WHERE n.{self.counted} AND {self.changed()})")
        sources = {"insert": f"(SELECT {names}, 1 AS delta FROM tally_new WHERE {self.counted})",
                   "update": changes,
                   "delete": f"(SELECT {names}, -1 AS delta FROM tally_old WHERE {self.counted})"}
        tables = {"insert": "NEW TABLE AS tally_new", "update": "OLD TABLE AS tally_old NEW TABLE AS tally_new",
                  "delete": "OLD TABLE AS tally_old"}
        statements = []
        for event, source in sources.items():
            name = f"{self.table}_tally_{event}"
            statements += [
                (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $tally$ "
                 f"BEGIN {self.kept(source)}; RETURN NULL; END $tally$"),
                (f"CREATE TRIGGER {name} AFTER {event.upper()} ON {self.table} REFERENCING {tables[event]} "
                 f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"),
            ]
        return statements


# A patrol counts into its shift's row; a shift's row counts into its month's bucket — the same kind of trigger one
# level down, so a change of a shift's count moves it between buckets wherever the change came from.
KEPT = (
    Kept("patrol", ("well_id", "clock_time"), COUNTED, _shifts_kept, ("review_status", "well_id", "clock_time"), ("id",)),
    Kept("shift_tally", ("well_id", "day", "slot", "patrols"), "patrols > 0", _months_kept, ("patrols",),
         ("well_id", "day", "slot")),
)
TRIGGERS = [(k.table, f"{k.table}_tally_{event}") for k in KEPT for event in ("insert", "update", "delete")]


def install() -> None:
    """Create (or create again) the triggers that keep shift_tally and month_tally; the tables exist already."""
    for table, name in TRIGGERS:
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if is_postgres() else ""))
    for kept in KEPT:
        for statement in kept.postgres() if is_postgres() else kept.sqlite():
            db.execute_sql(statement)


def adopt(work_area_id: int, shifts: list[Shift], tz: str, now: datetime | None = None) -> None:
    """Count a work area's tallies under these shifts and the zone's offset now, from its patrols (in one
    transaction: a patrol written meanwhile is counted by its trigger under the new basis)."""
    with db.atomic():
        TallyBasis.delete().where(TallyBasis.work_area == work_area_id).execute()
        TallySlot.delete().where(TallySlot.work_area == work_area_id).execute()
        begins = starts(shifts)
        TallyBasis.create(work_area=work_area_id, starts=_starts_text(shifts), offset_s=fixed_offset([now or utcnow()], tz))
        TallySlot.insert_many([{"work_area": work_area_id, "slot": n, "start_s": s} for n, s in enumerate(begins)]).execute()
        mark = "%s" if is_postgres() else "?"
        wells = f"SELECT w.id FROM well w JOIN station st ON st.id = w.station_id WHERE st.work_area_id = {mark}"
        # The shifts first (their trigger empties the month buckets), then the buckets left at zero.
        for table in ("shift_tally", "month_tally"):
            db.execute_sql(f"DELETE FROM {table} WHERE well_id IN ({wells})", [work_area_id])  # nosec B608 — no input
        source = f"(SELECT p.well_id, p.clock_time, 1 AS delta FROM patrol p WHERE p.{COUNTED} AND p.well_id IN ({wells}))"
        db.execute_sql(_shifts_kept(source), [work_area_id])  # nosec B608 — the text holds no input


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
    return basis is not None and basis.starts == _starts_text(shifts) and basis.offset_s == offset
