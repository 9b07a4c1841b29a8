"""《3K+行为》党员量化考核: a party member's points per month from the records — KPI 关键指标, KO 关键目标, KSA 知识技能
and 行为表现 — by versioned rules an admin edits; the 四比 board; a branch's figures for a year.

A *source* is a fixed kind of record with its unit (one hazard, one training hour, a percentage point of patrol
coverage…); a *rule* gives points per unit and an optional monthly cap. A month is scored by the rules in force on its
first day. Each source reads a whole period for a whole set of members in one query (coverage: two), so scoring a
branch or the work area costs the same number of queries whatever the number of members, months or records.
"""
import json
import math
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from peewee import JOIN, Case, IntegrityError, fn

from models import (
    Activity,
    Attendance,
    Commitment,
    Deduction,
    FluctuationAlert,
    Hazard,
    HazardStep,
    Patrol,
    ScoreRules,
    Station,
    Suggestion,
    User,
    Well,
    WellContract,
    db,
    utcnow,
)

from .exports import Column, Sheet
from .reports import (
    EARLIEST,
    ReportError,
    bucket,
    month_text,
    parse_month,
    shift_windows,
)
from .periods import SETTLED, month_start, next_month, open_months
from . import coverage
from .tallies import matches as tallies_match
from .database import is_postgres
from .shifts import Shift, required_patrols, shift_table
from .text import clean_line, clean_text

DIMENSIONS = {"kpi": _l("关键指标（KPI）"), "ko": _l("关键目标（KO）"), "ksa": _l("知识技能（KSA）"), "behaviour": _l("行为表现")}
# 四比 → the dimension each compares, in the board's column order (docs/decisions.md says why).
FOUR_COMPARISONS = (("kpi", _l("比业绩")), ("behaviour", _l("比作风")), ("ko", _l("比形象")), ("ksa", _l("比成效")))
ALERT_HOURS = 24  # a fluctuation alert acknowledged within this many hours of being raised counts as in time
MAX_DEDUCTION = 20  # points of one deduction
MAX_REASON = 200
MAX_POINTS = 100  # points per unit of a rule
MAX_CAP = 1000
MAX_LABEL = 30
RULES_MONTHS_AHEAD = 12
FULFILLED = ("excellent", "good")


class AssessmentError(ValueError):
    """Input the rules refuse, with a Chinese message for people."""


# Periods

@dataclass(frozen=True)
class Period:
    """A month ("2026-11"), a quarter ("2026Q4") or a year ("2026"), and its months up to the current one."""

    text: str
    label: str
    months: tuple[tuple[int, int], ...]

    @property
    def keys(self) -> list[str]:
        return [month_text(*m) for m in self.months]


PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2})|[Qq]([1-4]))?$")


def parse_period(text: str, today: date) -> Period:
    """'2026-11', '2026Q4' or '2026' → the period, without months after today's; AssessmentError otherwise."""
    text = (text or "").strip()
    match = PERIOD.match(text)
    if not match:
        raise AssessmentError(gettext("期间格式不对：月份如“2026-11”，季度如“2026Q4”，年度如“2026”。"))
    year, month, quarter = int(match.group(1)), match.group(2), match.group(3)
    current = (today.year, today.month)
    if month:
        try:
            year, month = parse_month(f"{year}-{int(month):02d}", today)
        except ReportError as exc:
            raise AssessmentError(exc.message) from None
        return Period(month_text(year, month), gettext("%(year)s年%(month)s月", year=year, month=month), ((year, month),))
    if year < EARLIEST.year:
        raise AssessmentError(gettext("期间太早：请选择 2000 年以后的期间。"))
    wanted = range(3 * int(quarter) - 2, 3 * int(quarter) + 1) if quarter else range(1, 13)
    months = tuple((year, m) for m in wanted if (year, m) <= current)
    if not months:
        raise AssessmentError(gettext("不能查看未来的期间（本月是 %(month)s）。", month=month_text(*current)))
    if quarter:
        return Period(f"{year}Q{quarter}", gettext("%(year)s年第%(quarter)s季度", year=year, quarter=quarter), months)
    return Period(str(year), gettext("%(year)s年", year=year), months)


def this_month(today: date) -> Period:
    return parse_period(month_text(today.year, today.month), today)


@dataclass
class Clock:
    """The work area's zone, shifts and the present moment (naive UTC), which coverage counts by."""

    tz: str
    shifts: list[Shift]
    now: datetime
    work_area_id: int | None = None  # whose shift tallies coverage may read (webapp.tallies); None: count the patrols


# Sources

@dataclass(frozen=True)
class Message:
    """A line of text translated only when it is shown: scoring a year of a work area makes thousands of records, and
    the board shows none of them."""

    template: object  # a lazy_gettext message
    args: dict

    def __str__(self) -> str:
        return str(self.template) % self.args


@dataclass(frozen=True)
class Record:
    """A record a score came from: its kind (for the link), id, a line of text, when (naive UTC) and its units."""

    kind: str
    id: int
    message: str | Message
    at: datetime | None = None
    units: float | None = None

    @property
    def text(self) -> str:
        return str(self.message)


@dataclass
class Tally:
    """One member's units of one source in one month, with the records they came from."""

    units: float = 0.0
    records: list[Record] = field(default_factory=list)


@dataclass
class Scope:
    """What the sources read: whose records, the months (naive-UTC bounds) and the clock; `cache` shares a query
    between sources that read the same rows."""

    member_ids: list[int]
    months: list[tuple[int, int]]
    clock: Clock
    cache: dict = field(default_factory=dict)

    @property
    def keys(self) -> set[str]:
        return {month_text(*m) for m in self.months}

    @property
    def start(self) -> datetime:
        return month_start(*self.months[0], self.clock.tz)

    @property
    def end(self) -> datetime:
        return month_start(*next_month(*self.months[-1]), self.clock.tz)

    @property
    def first_day(self) -> date:
        return date(*self.months[0], 1)

    @property
    def last_day(self) -> date:
        return date(*next_month(*self.months[-1]), 1) - timedelta(days=1)

    @cached_property
    def bounds(self) -> tuple[list[datetime], list[datetime], list[str]]:
        """Each month's start and end (naive UTC) and name, in order: the month a moment is in, by bisection (a year
        of a work area's records would each be converted to the local zone)."""
        starts = [month_start(*m, self.clock.tz) for m in self.months]
        ends = [month_start(*next_month(*m), self.clock.tz) for m in self.months]
        return starts, ends, [month_text(*m) for m in self.months]

    def within(self, column):
        return (column >= self.start) & (column < self.end)

    def cached(self, name: str, query: Callable[[], list]) -> list:
        if name not in self.cache:
            self.cache[name] = list(query())
        return self.cache[name]


Collected = dict[tuple[int, str], Tally]


def _gather(scope: Scope, entries) -> Collected:
    """Tallies from (member id, naive-UTC moment, record) triples: one unit per record unless it says otherwise."""
    tallies: Collected = {}
    starts, ends, names = scope.bounds
    for member_id, at, record in entries:
        index = bisect_right(starts, at) - 1  # the month whose local first midnight is the last before the moment
        if index >= 0 and at < ends[index]:
            tally = tallies.setdefault((member_id, names[index]), Tally())
            tally.units += 1 if record.units is None else record.units
            tally.records.append(record)
    return tallies


def _coverage(scope: Scope) -> Collected:
    """承包井巡检完成率: over the finished shifts of each month, the patrols done at the wells the member held as 承包井
    that day (WellContract history) against those due — counted as on the dashboard (webapp.shifts). Two queries:
    the contracts, and the patrols done counted by contract, month and well in the database (webapp.coverage); in a
    zone whose offset changes within the period, the patrols instead, replayed shift by shift."""
    contracts = list(
        WellContract.select(WellContract, Well).join(Well)
        .where(WellContract.member.in_(scope.member_ids) & (WellContract.start_date <= scope.last_day)
               & (WellContract.end_date.is_null() | (WellContract.end_date > scope.first_day)))
    )
    days = [scope.first_day + timedelta(days=n) for n in range((scope.last_day - scope.first_day).days + 1)]
    windows = [w for w in shift_windows(days, scope.clock.shifts, scope.clock.tz) if w.end <= scope.clock.now]
    if not contracts or not windows:
        return {}
    wells = {c.well.id: c.well for c in contracts}
    offset = coverage.fixed_offset([w.start for w in windows] + [windows[-1].end], scope.clock.tz)
    if offset is None:
        counts = _replayed(contracts, windows, scope.clock.now)
    else:
        tallied = tallies_match(scope.clock.work_area_id, scope.clock.shifts, offset)
        counts = _counted(contracts, windows, scope.clock.shifts, offset, tallied)
    tallies: Collected = {}
    sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for (member_id, month, well_id), (required, done) in sorted(counts.items(),
                                                                key=lambda kv: (kv[0][:2], wells[kv[0][2]].code)):
        well = wells[well_id]
        text = Message(_l("%(well)s：应巡 %(required)s 次，已巡 %(done)s 次（%(rate)s%%）"),
                       dict(well=well.code, required=required, done=done, rate=format(100 * done / required, ".1f")))
        tallies.setdefault((member_id, month), Tally()).records.append(Record("well_history", well_id, text))
        sums[(member_id, month)][0] += required
        sums[(member_id, month)][1] += done
    for key, (required, done) in sums.items():
        tallies[key].units = round(100 * done / required, 1) if required else 0.0
    return tallies


Counts = dict[tuple[int, str, int], list[int]]  # (member, month, well) → [required, done]


def _held(contract: WellContract, day: date) -> bool:
    return contract.start_date <= day and (contract.end_date is None or day < contract.end_date)


class Holding(NamedTuple):
    """A contract with the day numbers it held its well from and until (exclusive), and what was due in a shift of
    each slot at that well."""

    contract: WellContract
    low: int
    high: float
    due: list[int]


def _counted(contracts: list[WellContract], windows, shifts: list[Shift], offset: int, tallied: bool = False) -> Counts:
    """The patrols due from the windows (per contract, month and slot: the days it held the well, by bisection), and
    those done from one query: the patrols of the windows per well and shift — read from the shift tallies when they
    were counted under these shifts and offset (`tallied`), else counted from the patrols —, each shift's count capped
    at what was due, summed per contract and month."""
    slot_of = {s.index: n for n, s in enumerate(coverage.slots(shifts))}
    month_firsts = sorted({date(w.day.year, w.day.month, 1) for w in windows})
    days: dict[tuple[date, int], list[int]] = defaultdict(list)  # (month, slot) → the day numbers of its windows
    for w in windows:
        days[(date(w.day.year, w.day.month, 1), slot_of[w.shift.index])].append(coverage.day_number(w.day))
    ordered = coverage.slots(shifts)
    names = {first: month_text(first.year, first.month) for first in month_firsts}
    counts: Counts = {}
    holdings = [Holding(c, coverage.day_number(c.start_date), coverage.day_number(c.end_date) if c.end_date else math.inf,
                        [required_patrols(c.well.patrol_interval_hours, shift) for shift in ordered]) for c in contracts]
    for h in holdings:
        for (first, slot), numbers in days.items():
            held = bisect_left(numbers, h.high) - bisect_left(numbers, h.low)
            if held:
                count = counts.setdefault((h.contract.member_id, names[first], h.contract.well_id), [0, 0])
                count[0] += held * h.due[slot]
    if tallied:
        _done_from_tallies(counts, holdings, windows, slot_of)
        return counts
    day, slot = coverage.shift_of("u.s", shifts)
    month = ("(CASE " + "".join(f"WHEN t.d < {coverage.day_number(following)} THEN {n} "
                                for n, following in enumerate([*month_firsts[1:], _after(month_firsts[-1])])) + "END)")
    mark = "%s" if is_postgres() else "?"
    well_ids = sorted({c.well_id for c in contracts})
    start_day = ("(c.start_date - DATE '1970-01-01')" if is_postgres()
                 else "CAST(julianday(c.start_date) - 2440587.5 AS INTEGER)")
    end_day = start_day.replace("start_date", "end_date")
    wells_in = f"IN ({', '.join([mark] * len(well_ids))})"
    shifts_of = (f"(SELECT u.well_id AS well_id, {day} AS d, {slot} AS slot, COUNT(*) AS n "
                 f"FROM (SELECT p.well_id AS well_id, {coverage.local_seconds('p.clock_time', offset)} AS s "
                 f"FROM patrol p WHERE p.well_id {wells_in} AND p.clock_time >= {mark} AND p.clock_time < {mark} "
                 f"AND p.review_status <> 'returned'{coverage.kept_apart()}) u GROUP BY 1, 2, 3)")
    bounds = [windows[0].start, windows[-1].end]
    # Only numbers and names of ours are written into the text; the ids and bounds are parameters.
    sql = (f"SELECT c.member_id, {month}, t.well_id, "
           f"SUM({coverage.least()}(t.n, {coverage.required_sql('w.patrol_interval_hours', shifts, 't.slot')})) "
           f"FROM {shifts_of} t "
           "JOIN well w ON w.id = t.well_id "
           f"JOIN well_contract c ON c.well_id = t.well_id AND t.d >= {start_day} "
           f"AND (c.end_date IS NULL OR t.d < {end_day}) GROUP BY 1, 2, 3")
    params = [*well_ids, *bounds]
    # Every contract of the wells is joined (a list of contract ids made SQLite probe each one for every row); the
    # members not asked about are left out here.
    members = {c.member_id for c in contracts}
    for member_id, month_index, well_id, done in db.execute_sql(sql, params):  # nosec B608 — see above
        if member_id not in members:
            continue
        counts[(member_id, names[month_firsts[month_index]], well_id)][1] += int(done)
    return counts


def _done_from_tallies(counts: Counts, holdings: list[Holding], windows, slot_of) -> None:
    """Add the patrols done to `counts` from the shift tallies (webapp/tallies.py), in one query: a month a contract
    held whole, within the windows, from its buckets (shifts × min(patrols, due) — a few rows a well); the rest (the
    month under way, a contract that begins or ends inside a month, a period that does not start on the 1st) shift
    by shift, each day given to the contracts that held the well then."""
    first, last = windows[0], windows[-1]
    lowest = (coverage.day_number(first.day), slot_of[first.shift.index])
    highest = (coverage.day_number(last.day), slot_of[last.shift.index])
    final = len(slot_of) - 1
    whole, whole_wells, partial = set(), set(), defaultdict(set)  # (contract, month); wells; (from, until) → wells
    for year, month in sorted({(w.day.year, w.day.month) for w in windows}):
        begins = coverage.day_number(date(year, month, 1))
        ends = coverage.day_number(date(*next_month(year, month), 1))
        finished = lowest <= (begins, 0) and highest >= (ends - 1, final)  # every shift of the month in the windows
        for h in holdings:
            start, stop = max(h.low, begins, lowest[0]), min(h.high, ends, highest[0] + 1)
            if start >= stop:
                continue
            if finished and h.low <= begins and h.high >= ends:
                whole.add((h.contract.id, year * 12 + month - 1))
                whole_wells.add(h.contract.well_id)
            else:
                partial[(start, stop)].add(h.contract.well_id)
    mark = "%s" if is_postgres() else "?"
    parts, params = [], []
    if whole:
        keys = sorted({m for _, m in whole})
        parts.append(f"SELECT 0, well_id, month, slot, patrols, shifts FROM month_tally WHERE well_id IN "
                     f"({', '.join([mark] * len(whole_wells))}) AND month IN ({', '.join([mark] * len(keys))}) "
                     "AND shifts > 0")
        params += [*sorted(whole_wells), *keys]
    for (start, stop), wells in sorted(partial.items()):
        parts.append(f"SELECT 1, well_id, day, slot, patrols, 1 FROM shift_tally WHERE well_id IN "
                     f"({', '.join([mark] * len(wells))}) AND day >= {mark} AND day < {mark} AND patrols > 0 "
                     f"AND (day < {mark} OR (day = {mark} AND slot <= {mark}))")
        params += [*sorted(wells), start, stop, highest[0], highest[0], highest[1]]
    if not parts:
        return
    by_well = defaultdict(list)
    for h in holdings:
        by_well[h.contract.well_id].append(h)
    single = {}  # (well, day, slot) → patrols: a shift two pieces both asked for is counted once
    # Only numbers and names of ours are written into the text; the ids and bounds are parameters.
    for kind, well_id, when, slot, patrols, shifts in db.execute_sql(" UNION ALL ".join(parts), params):  # nosec B608
        if kind == 1:
            single[(well_id, when, slot)] = patrols
            continue
        for h in by_well[well_id]:
            if (h.contract.id, when) in whole:
                name = month_text(when // 12, when % 12 + 1)
                counts[(h.contract.member_id, name, well_id)][1] += shifts * min(patrols, h.due[slot])
    months = {}  # day number → (month number, month name)
    for (well_id, when, slot), patrols in single.items():
        if when not in months:
            day = date.fromordinal(when + coverage.EPOCH_DAY)
            months[when] = (day.year * 12 + day.month - 1, month_text(day.year, day.month))
        month, name = months[when]
        for h in by_well[well_id]:
            if h.low <= when < h.high and (h.contract.id, month) not in whole:
                counts[(h.contract.member_id, name, well_id)][1] += min(patrols, h.due[slot])


def _after(first: date) -> date:
    return date(*next_month(first.year, first.month), 1)


def _replayed(contracts: list[WellContract], windows, now: datetime) -> Counts:
    """The same counts from every patrol of the windows, replayed shift by shift as the dashboard counts a shift."""
    wells = {c.well.id: c.well for c in contracts}
    held = defaultdict(list)
    for contract in contracts:
        held[contract.well_id].append(contract)
    # Plain rows, not models: a year of a work area's patrols is tens of thousands of them.
    patrols = Patrol.select(Patrol.well.alias("well_id"), Patrol.clock_time, Patrol.review_status).where(
        Patrol.well.in_(list(wells)) & (Patrol.clock_time >= windows[0].start) & (Patrol.clock_time < windows[-1].end)
    ).namedtuples()
    counts: Counts = {}
    for w, in_shift in zip(windows, bucket(patrols, windows), strict=True):
        for row in shift_table(wells.values(), in_shift, w.shift, w.start, w.end, now):
            for contract in held[row.well.id]:
                if _held(contract, w.day):
                    count = counts.setdefault((contract.member_id, month_text(w.day.year, w.day.month), row.well.id), [0, 0])
                    count[0] += row.required
                    count[1] += min(row.done, row.required)
    return counts


def _short(text: str, length: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[:length - 1] + "…"


def _hazards_reported(scope: Scope) -> Collected:
    # A hazard the leader judged invalid or a duplicate scores nothing: a bogus report must not pay.
    rows = Hazard.select(Hazard.id, Hazard.reporter, Hazard.reported_at, Hazard.description).where(
        Hazard.reporter.in_(scope.member_ids) & scope.within(Hazard.reported_at) & (Hazard.status != "rejected")
    ).order_by(Hazard.reported_at, Hazard.id)
    return _gather(scope, ((h.reporter_id, h.reported_at, Record("hazard", h.id, _short(h.description), h.reported_at))
                           for h in rows))


def unscored_reports(member_id: int, months, clock) -> list[tuple[object, str]]:
    """The member's hazard reports in the months that scored nothing, each with why in the leader's words: judged
    not a hazard, or a duplicate of another (two queries) — what the points page says beside the points."""
    scope = Scope([member_id], list(months), clock)
    hazards = list(Hazard.select().where((Hazard.reporter == member_id) & scope.within(Hazard.reported_at)
                                         & (Hazard.status == "rejected")).order_by(Hazard.reported_at, Hazard.id))
    reasons = {step.hazard_id: step.note for step in HazardStep.select(HazardStep.hazard, HazardStep.note).where(
        HazardStep.hazard.in_([h.id for h in hazards]) & (HazardStep.action == "reject"))}
    return [(h, reasons.get(h.id, "")) for h in hazards]


def _hazards_rectified(scope: Scope) -> Collected:
    rows = Hazard.select(Hazard.id, Hazard.rectified_by, Hazard.closed_at, Hazard.description).where(
        Hazard.rectified_by.in_(scope.member_ids) & (Hazard.status == "closed") & scope.within(Hazard.closed_at)
    ).order_by(Hazard.closed_at, Hazard.id)
    return _gather(scope, ((h.rectified_by_id, h.closed_at, Record("hazard", h.id, _short(h.description), h.closed_at))
                           for h in rows))


def _alerts(scope: Scope) -> Collected:
    rows = (FluctuationAlert.select(FluctuationAlert, Well.id, Well.code).join(Well)
            .where(FluctuationAlert.acknowledged_by.in_(scope.member_ids) & scope.within(FluctuationAlert.acknowledged_at))
            .order_by(FluctuationAlert.acknowledged_at, FluctuationAlert.id))
    # Compared in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
    in_time = (a for a in rows if a.acknowledged_at - a.created_at <= timedelta(hours=ALERT_HOURS))
    return _gather(scope, ((a.acknowledged_by_id, a.acknowledged_at,
                            Record("well", a.well_id, Message(_l("%(well)s %(metric)s波动：%(note)s"), dict(
                                       well=a.well.code, metric=a.metric_label, note=_short(a.action_note, 30))),
                                   a.acknowledged_at)) for a in in_time))


def _rated(scope: Scope, rating: str) -> Collected:
    rows = scope.cached("commitments", lambda: Commitment.select(
        Commitment.id, Commitment.member, Commitment.rating, Commitment.rated_at, Commitment.target).where(
        Commitment.member.in_(scope.member_ids) & Commitment.rating.in_(FULFILLED) & scope.within(Commitment.rated_at)
    ).order_by(Commitment.rated_at, Commitment.id))
    return _gather(scope, ((c.member_id, c.rated_at, Record("commitment", c.id, Message(
                                _l("%(target)s（%(rating)s）"), dict(target=_short(c.target), rating=Commitment.RATINGS.get(c.rating, ""))),
                                                             c.rated_at)) for c in rows if c.rating == rating))


def _attended(scope: Scope, kinds, units: Callable | None = None) -> Collected:
    """Activities of these kinds the members attended (present; cancelled ones never count), in the month they began.
    Plain rows, shared by the four sources: a year of a work area's attendance is thousands of them. The activities
    of the period lead (their start is indexed) and each one's attendance is looked up by activity and member — not
    every attendance the members ever had."""
    rows = scope.cached("attendance", lambda: Activity.select(
        Attendance.user.alias("user_id"), Activity.id, Activity.kind, Activity.topic, Activity.starts_at, Activity.hours,
        Activity.days).join(Attendance).where(
        # user_id + 0: not the index of each member's attendance over the years (SQLite chose it), the period's.
        (Attendance.user + 0).in_(scope.member_ids) & (Attendance.status == "present") & Activity.cancelled_at.is_null()
        & scope.within(Activity.starts_at)).order_by(Activity.starts_at, Activity.id).namedtuples())
    return _gather(scope, ((a.user_id, a.starts_at,
                            Record("activity", a.id, Message(_l("%(kind)s：%(topic)s"),
                                                             dict(kind=Activity.KINDS.get(a.kind, a.kind),
                                                                  topic=_short(a.topic))),
                                   a.starts_at, units(a) if units else None))
                           for a in rows if a.kind in kinds))


def _suggestions(scope: Scope) -> Collected:
    rows = Suggestion.select(Suggestion.id, Suggestion.author, Suggestion.title, Suggestion.decided_at).where(
        Suggestion.author.in_(scope.member_ids) & (Suggestion.status == "adopted") & scope.within(Suggestion.decided_at)
    ).order_by(Suggestion.decided_at, Suggestion.id)
    return _gather(scope, ((s.author_id, s.decided_at, Record("suggestion", s.id, _short(s.title), s.decided_at))
                           for s in rows))


@dataclass(frozen=True)
class Source:
    """A kind of record that earns points: its name, dimension, unit (and what one unit is), and how to collect it;
    `per` is the unit after 每 (每百分点: the measure word 个 dropped), its own text so that English can say "per"."""

    key: str
    label: str
    dimension: str
    unit: str
    per: str
    means: str
    collect: Callable[[Scope], Collected]


SOURCES = {s.key: s for s in (
    Source("patrol_coverage", _l("承包井巡检完成率"), "kpi", _l("个百分点"), _l("每百分点"), _l("承包井当月已结束班次应巡中已巡的比例"), _coverage),
    Source("hazards_reported", _l("排查发现隐患"), "kpi", _l("项"), _l("每项"), _l("本人上报、未被判定不成立的隐患，计入上报当月"), _hazards_reported),
    Source("hazards_rectified", _l("整改隐患销项"), "kpi", _l("项"), _l("每项"), _l("本人整改并已销项的隐患，计入销项当月"), _hazards_rectified),
    Source("alerts_in_time", _l("重点井波动及时处置"), "kpi", _l("次"), _l("每次"),
           _l("波动提醒 %(hours)s 小时内由本人记录处置措施", hours=ALERT_HOURS), _alerts),
    Source("commitments_excellent", _l("承诺评为优秀"), "ko", _l("项"), _l("每项"), _l("承诺评诺为优秀，计入评诺当月"),
           lambda s: _rated(s, "excellent")),
    Source("commitments_good", _l("承诺评为合格"), "ko", _l("项"), _l("每项"), _l("承诺评诺为合格，计入评诺当月"), lambda s: _rated(s, "good")),
    Source("training_hours", _l("教育培训学时"), "ksa", _l("学时"), _l("每学时"), _l("出席的培训按登记的学时计"),
           lambda s: _attended(s, ("training",), lambda a: a.hours or 0)),
    Source("study_sessions", _l("政治理论学习与党课"), "ksa", _l("次"), _l("每次"), _l("出席的政治理论学习、党课"),
           lambda s: _attended(s, ("study", "party_lecture"))),
    Source("meetings", _l("组织生活"), "behaviour", _l("次"), _l("每次"), _l("出席的支部党员大会、支委会、党小组会、主题党日"),
           lambda s: _attended(s, ("member_meeting", "committee", "group_meeting", "theme_day"))),
    Source("volunteer_days", _l("义务献工"), "behaviour", _l("天"), _l("每天"), _l("出席的义务献工按登记的天数计"),
           lambda s: _attended(s, ("volunteer",), lambda a: a.days or 0)),
    Source("suggestions_adopted", _l("合理化建议被采纳"), "behaviour", _l("条"), _l("每条"), _l("本人的合理化建议被采纳，计入采纳当月"),
           _suggestions),
)}


# Rules

@dataclass(frozen=True)
class Rule:
    """Points per unit of a source, with an optional cap on the points it gives in a month."""

    source: str
    label: str
    points: float
    cap: float | None = None

    def as_json(self) -> dict:
        return {"source": self.source, "label": self.label, "points": self.points, "cap": self.cap}


DEFAULT_RULES = [  # i18n: data (the seeded rules: stored in Chinese, edited like any version)
    Rule("patrol_coverage", "承包井巡检完成率", 0.3, 30),
    Rule("hazards_reported", "排查发现隐患", 2, 10),
    Rule("hazards_rectified", "整改隐患销项", 3, 15),
    Rule("alerts_in_time", "重点井波动及时处置", 2, 10),
    Rule("commitments_excellent", "承诺评为优秀", 10, 20),
    Rule("commitments_good", "承诺评为合格", 6, 12),
    Rule("training_hours", "教育培训学时", 0.5, 10),
    Rule("study_sessions", "政治理论学习与党课", 2, 10),
    Rule("meetings", "组织生活", 2, 10),
    Rule("volunteer_days", "义务献工", 2, 10),
    Rule("suggestions_adopted", "合理化建议被采纳", 5, 15),
]
DEFAULT_VALID_FROM = date(2000, 1, 1)


@dataclass
class RuleSet:
    """One version of the rules (version None: the defaults, for a database without any version yet)."""

    version: int | None
    valid_from: date
    rules: list[Rule]
    row: ScoreRules | None = None

    @property
    def label(self) -> str:
        return gettext("第 %(version)s 版", version=self.version) if self.version else gettext("默认规则")


def _rule_set(row: ScoreRules) -> RuleSet:
    rules = [Rule(r["source"], r.get("label") or str(SOURCES[r["source"]].label), float(r["points"]),
                  None if r.get("cap") is None else float(r["cap"]))
             for r in json.loads(row.rules) if r.get("source") in SOURCES]
    return RuleSet(row.version, row.valid_from, rules, row)


def ensure_default_rules() -> bool:
    """Version 1 of the rules, in force from 2000, shared by every work area, for a database that has none; True if
    it was made."""
    if ScoreRules.select().where(ScoreRules.work_area.is_null()).exists():
        return False
    ScoreRules.create(version=1, valid_from=DEFAULT_VALID_FROM,
                      rules=json.dumps([r.as_json() for r in DEFAULT_RULES], ensure_ascii=False))
    return True


def _versions_of(work_area_id: int):
    """The rows a work area is scored by: the shared defaults and its own versions (never another work area's)."""
    return ScoreRules.select().where(ScoreRules.work_area.is_null() | (ScoreRules.work_area == work_area_id))


def rule_versions(work_area_id: int) -> list[RuleSet]:
    """Every version of a work area, oldest first (one query)."""
    return [_rule_set(row) for row in _versions_of(work_area_id).order_by(ScoreRules.valid_from, ScoreRules.version)]


def in_force(versions: list[RuleSet], day: date) -> RuleSet:
    """The version in force on a day: of those valid from that day or earlier, the one saved last. A new version is
    never valid from a month already scored (parse_rules), so the past keeps its rules; and a version saved later
    replaces an earlier-saved one even where that one starts later."""
    chosen = None
    for rules in versions:
        if rules.valid_from <= day and (chosen is None or (rules.version or 0) > (chosen.version or 0)):
            chosen = rules
    return chosen or RuleSet(None, DEFAULT_VALID_FROM, list(DEFAULT_RULES))


def latest_version(versions: list[RuleSet]) -> RuleSet:
    """The version saved last (what the editor starts from), or the defaults."""
    return max(versions, key=lambda r: r.version) if versions else RuleSet(None, DEFAULT_VALID_FROM, list(DEFAULT_RULES))


def _number(text, label: str, low: float, high: float) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text) if len(text) <= 12 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise AssessmentError(gettext("%(label)s应为 %(low)s 到 %(high)s 之间的数。", label=label, low=format(low, "g"), high=format(high, "g")))
    return round(value, 2)


def parse_rules(form, today: date) -> tuple[date, list[Rule], list[str], dict]:
    """The editor's form → (valid_from, rules, errors, the values as typed). A rule whose points are blank is off."""
    errors, rules, typed = [], [], {}
    valid_text = (form.get("valid_from") or "").strip()
    typed["valid_from"] = valid_text[:7]
    valid_from = None
    try:
        year, month = parse_month(valid_text, today, ahead=RULES_MONTHS_AHEAD)
        valid_from = date(year, month, 1)
        if (year, month) < (today.year, today.month):
            errors.append(gettext("生效月份不能早于本月（%(month)s）：已考核的月份按当时的规则计分。",
                                  month=month_text(today.year, today.month)))
    except ReportError as exc:
        errors.append(gettext("生效月份：%(error)s", error=exc.message))  # e.g. "最多可提前 12 个月（到 …）"
    for key, source in SOURCES.items():
        label = clean_line(form.get(f"{key}-label"), 200) or str(source.label)
        typed[key] = {"label": label[:MAX_LABEL + 5], "points": (form.get(f"{key}-points") or "").strip()[:20],
                      "cap": (form.get(f"{key}-cap") or "").strip()[:20]}
        if len(label) > MAX_LABEL:
            errors.append(gettext("“%(rule)s”的名称不能超过 %(max)s 字。", rule=source.label, max=MAX_LABEL))
            continue
        try:
            points = _number(form.get(f"{key}-points"), gettext("“%(rule)s”的每单位分值", rule=source.label), 0, MAX_POINTS)
            cap = _number(form.get(f"{key}-cap"), gettext("“%(rule)s”的月上限", rule=source.label), 0.01, MAX_CAP)
        except AssessmentError as exc:
            errors.append(str(exc))
            continue
        if points:
            rules.append(Rule(key, label, points, cap))
    if not rules and not errors:
        errors.append(gettext("至少要有一条计分规则（填写每单位分值）。"))
    return valid_from, rules, errors, typed


def rules_form(rules: RuleSet, today: date) -> dict:
    """The editor's values for a version: a row per source (blank points: not scored), valid from this month."""
    by_source = {r.source: r for r in rules.rules}
    form: dict = {"valid_from": month_text(today.year, today.month)}
    for key, source in SOURCES.items():
        rule = by_source.get(key)
        form[key] = {"label": rule.label if rule else str(source.label), "points": f"{rule.points:g}" if rule else "",
                     "cap": f"{rule.cap:g}" if rule and rule.cap is not None else ""}
    return form


def save_rules(valid_from: date, rules: list[Rule], user) -> ScoreRules:
    """A new version from valid_from (the first of a month); months before it keep the version they had."""
    with db.atomic():
        ensure_default_rules()  # the defaults become version 1, so the months before keep them
        latest = _versions_of(user.work_area_id).select(fn.MAX(ScoreRules.version)).scalar() or 0
        return ScoreRules.create(work_area=user.work_area_id, version=latest + 1, valid_from=valid_from, created_by=user.id,
                                 rules=json.dumps([r.as_json() for r in rules], ensure_ascii=False))


# Scores

@dataclass
class Line:
    """One rule applied to one member's month."""

    rule: Rule
    units: float
    records: list[Record]

    @property
    def source(self) -> Source:
        return SOURCES[self.rule.source]

    @property
    def raw(self) -> float:
        return round(self.units * self.rule.points, 2)

    @property
    def points(self) -> float:
        return min(self.raw, self.rule.cap) if self.rule.cap is not None else self.raw

    @property
    def capped(self) -> bool:
        return self.rule.cap is not None and self.raw > self.rule.cap


@dataclass
class MonthScore:
    """A member's month: a line per rule of the version in force, and the month's deductions (and their undoing)."""

    month: str
    rules: RuleSet
    lines: list[Line]
    deductions: list[Deduction]
    _points: dict = field(default_factory=dict, repr=False, compare=False)

    def lines_of(self, dimension: str) -> list[Line]:
        return [line for line in self.lines if line.source.dimension == dimension]

    @property
    def deducted(self) -> float:
        return round(sum(d.points for d in self.deductions), 2)

    def points(self, dimension: str) -> float:
        if dimension not in self._points:  # a scored month does not change: the board asks its sums many times
            earned = sum(line.points for line in self.lines_of(dimension))
            self._points[dimension] = round(earned - (self.deducted if dimension == "behaviour" else 0), 2)
        return self._points[dimension]

    @cached_property
    def total(self) -> float:
        return round(sum(self.points(d) for d in DIMENSIONS), 2)


@dataclass
class MemberScore:
    """A member's months of a period; a period's points are the sum of its months, each by its own rules."""

    member: User
    months: list[MonthScore]
    rank: int | None = None
    branch_rank: int | None = None

    def points(self, dimension: str) -> float:
        return round(sum(m.points(dimension) for m in self.months), 2)

    @cached_property
    def total(self) -> float:
        return round(sum(m.total for m in self.months), 2)


def party_members(work_area_id: int, station_id: int | None = None) -> list[User]:
    """The enabled party members of the work area (or of one branch), with their station, in board order."""
    query = (User.select(User, Station).join(Station)
             .where((User.work_area == work_area_id) & User.is_party_member & User.is_enabled))
    if station_id is not None:
        query = query.where(User.station == station_id)
    return list(query.order_by(Station.sort_order, Station.id, User.employee_no))


def score_members(members: list[User], months, clock: Clock) -> dict[int, MemberScore]:
    """Every member's score for the months, each month by the rules in force on its first day. Queries: one for the
    rules, one per source the rules use (coverage: two, attendance and commitments shared), one for deductions."""
    months = sorted(set(months))
    versions = rule_versions(members[0].work_area_id) if members else []
    rule_sets = {month_text(*m): in_force(versions, date(*m, 1)) for m in months}
    if not members or not months:
        return {m.id: MemberScore(m, []) for m in members}
    scope = Scope([m.id for m in members], months, clock)
    used = {rule.source for rules in rule_sets.values() for rule in rules.rules}
    collected = {key: SOURCES[key].collect(scope) for key in SOURCES if key in used}
    deductions = defaultdict(list)
    recorder = User.alias()
    for d in (Deduction.select(Deduction, recorder).join(recorder, JOIN.LEFT_OUTER, on=(Deduction.recorded_by == recorder.id))
              .where(Deduction.member.in_(scope.member_ids) & Deduction.month.in_(list(rule_sets)))
              .order_by(Deduction.recorded_at, Deduction.id)):
        deductions[(d.member_id, d.month)].append(d)
    scores = {}
    for member in members:
        month_scores = []
        for month, rules in rule_sets.items():
            lines = []
            for rule in rules.rules:
                tally = collected[rule.source].get((member.id, month), Tally())
                lines.append(Line(rule, round(tally.units, 2), tally.records))
            month_scores.append(MonthScore(month, rules, lines, deductions[(member.id, month)]))
        scores[member.id] = MemberScore(member, month_scores)
    return scores


def competition_ranks(totals: list[float]) -> list[int]:
    """Ranks of totals, highest first; equal totals share a rank and the next one skips (1, 2, 2, 4)."""
    first: dict[float, int] = {}
    for place, total in enumerate(sorted(totals, reverse=True), start=1):
        first.setdefault(total, place)
    return [first[total] for total in totals]


def board(scores: dict[int, MemberScore]) -> list[MemberScore]:
    """The scores ranked across all of them (rank) and within each branch (branch_rank), highest total first."""
    rows = sorted(scores.values(), key=lambda s: (-s.total, s.member.employee_no))
    for row, rank in zip(rows, competition_ranks([r.total for r in rows]), strict=True):
        row.rank = rank
    by_branch = defaultdict(list)
    for row in rows:
        by_branch[row.member.station_id].append(row)
    for branch in by_branch.values():
        for row, rank in zip(branch, competition_ranks([r.total for r in branch]), strict=True):
            row.branch_rank = rank
    return rows


# Deductions

def undone_ids(deductions) -> set[int]:
    """Ids of deductions that a correcting entry has undone."""
    return {d.corrects_id for d in deductions if d.corrects_id is not None}


def record_deduction(member: User, month: str, points_text: str, reason_text: str, by: User, today: date) -> Deduction:
    """A deduction from a member's 行为表现 for this or last month: 0 < points ≤ MAX_DEDUCTION, a reason required."""
    if member.id == by.id:
        raise AssessmentError(gettext("本人的扣分由党总支记录。"))
    if month not in open_months(today):
        raise AssessmentError(gettext("只能记录本月或上月的扣分（%(months)s）。", months=gettext("、").join(open_months(today))))
    try:
        points = float(points_text) if len(points_text or "") <= 12 else math.nan
    except (TypeError, ValueError):
        points = math.nan
    if not math.isfinite(points) or not 0 < points <= MAX_DEDUCTION:
        raise AssessmentError(gettext("扣分应大于 0 且不超过 %(max)s 分。", max=MAX_DEDUCTION))
    reason = clean_text(reason_text)
    if not reason:
        raise AssessmentError(gettext("请写明扣分原因。"))
    if len(reason) > MAX_REASON:
        raise AssessmentError(gettext("扣分原因不能超过 %(max)s 字。", max=MAX_REASON))
    return Deduction.create(member=member.id, station=member.station_id, month=month, points=round(points, 2),
                            reason=reason, recorded_by=by.id)


def undo_deduction(deduction: Deduction, reason_text: str, by: User, today: date) -> Deduction:
    """Undo a deduction with a correcting entry of the opposite points in the same month (the original stays, as
    field records do); who undid it and why are kept on the entry. Only within the settlement window, and a
    deduction the 党总支 (an admin) recorded only by an admin."""
    if deduction.member_id == by.id:
        raise AssessmentError(gettext("本人的扣分由党总支处理。"))
    if deduction.month not in open_months(today):
        raise AssessmentError(SETTLED)
    if deduction.recorded_by_id and not by.has_role("admin") and User.get_by_id(deduction.recorded_by_id).has_role("admin"):
        raise AssessmentError(gettext("这条扣分由党总支记录，只能由党总支撤销。"))
    if deduction.points <= 0:
        raise AssessmentError(gettext("这是一条撤销记录，不能再撤销。"))
    reason = clean_text(reason_text)
    if not reason:
        raise AssessmentError(gettext("请写明撤销原因。"))
    if len(reason) > MAX_REASON:
        raise AssessmentError(gettext("撤销原因不能超过 %(max)s 字。", max=MAX_REASON))
    if Deduction.select().where(Deduction.corrects == deduction.id).exists():
        raise AssessmentError(gettext("这条扣分已经撤销过了。"))
    try:
        with db.atomic():  # the unique link also stops two undos racing each other
            return Deduction.create(member=deduction.member_id, station=deduction.station_id, month=deduction.month,  # i18n: data
                                    points=-deduction.points, reason=f"撤销第 {deduction.id} 号扣分：{reason}",
                                    recorded_by=by.id, corrects=deduction.id)
    except IntegrityError:
        raise AssessmentError(gettext("这条扣分已经撤销过了。")) from None


# The year's figures

@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    digits: int = 0


YEAR_FIGURES = [
    Figure("members", _l("党员人数"), _l("人")),
    Figure("study", _l("政治理论学习"), _l("次")),
    Figure("theme_day", _l("主题党日"), _l("次")),
    Figure("member_meeting", _l("支部党员大会"), _l("次")),
    Figure("committee", _l("支委会"), _l("次")),
    Figure("group_meeting", _l("党小组会"), _l("次")),
    Figure("party_lecture", _l("党课"), _l("次")),
    Figure("three_one", _l("三会一课合计"), _l("次")),
    Figure("training", _l("教育培训"), _l("次")),
    Figure("training_hours", _l("党员培训学时合计"), _l("学时"), 1),
    Figure("training_hours_per_member", _l("党员人均培训学时"), _l("学时"), 1),
    Figure("volunteer", _l("义务献工活动"), _l("次")),
    Figure("volunteer_days", _l("党员义务献工合计"), _l("人·天"), 1),
    Figure("volunteer_days_per_member", _l("党员人均义务献工"), _l("天"), 1),
    Figure("suggestions", _l("合理化建议"), _l("条")),
    Figure("suggestions_adopted", _l("其中已采纳"), _l("条")),
    Figure("hazards_found", _l("排查发现隐患"), _l("项")),
    Figure("hazards_closed", _l("整改销项隐患"), _l("项")),
    Figure("commitments_fulfilled", _l("承诺践诺（评为优秀、合格）"), _l("项")),
    Figure("planned", _l("已安排、尚未举行的活动（不计入以上）"), _l("次")),
]
PER_MEMBER = {"training_hours_per_member": "training_hours", "volunteer_days_per_member": "volunteer_days"}


@dataclass
class YearColumn:
    """One branch's figures (or the work area's sums) for the year."""

    label: str
    station: Station | None
    values: dict[str, float]


@dataclass
class YearReport:
    year: int
    columns: list[YearColumn]

    def value(self, column: YearColumn, figure: Figure) -> float:
        return column.values.get(figure.key, 0)


def parse_year(text: str, today: date) -> int:
    """'2026' → 2026, from 2000 to this year; AssessmentError otherwise."""
    text = (text or "").strip()
    if not re.fullmatch(r"\d{4}", text):
        raise AssessmentError(gettext("年份格式不对，请填写如“2026”这样的四位年份。"))
    year = int(text)
    if year < EARLIEST.year:
        raise AssessmentError(gettext("年份太早：请选择 2000 年以后的年份。"))
    if year > today.year:
        raise AssessmentError(gettext("不能查看未来的年份（今年是 %(year)s 年）。", year=today.year))
    return year


@dataclass
class _YearWhere:
    """What each figure of the year report counts, as a condition: the report counts with them and each figure's
    list of records (figure_records) shows exactly the rows counted."""

    ids: list[int]
    start: datetime
    end: datetime
    now: datetime

    def members(self):
        return User.station.in_(self.ids) & User.is_party_member & User.is_enabled

    def _activities(self):
        return (Activity.station.in_(self.ids) & Activity.cancelled_at.is_null() & (Activity.starts_at >= self.start)
                & (Activity.starts_at < self.end))

    def held(self):
        attended = Attendance.select(Attendance.id).where((Attendance.activity == Activity.id) & (Attendance.status == "present"))
        return self._activities() & (Activity.starts_at <= self.now) & fn.EXISTS(attended)

    def planned(self):
        return self._activities() & (Activity.starts_at > self.now)

    def suggestions(self):
        return Suggestion.station.in_(self.ids) & (Suggestion.received_at >= self.start) & (Suggestion.received_at < self.end)

    def hazards_found(self):
        return (Hazard.station.in_(self.ids) & (Hazard.reported_at >= self.start) & (Hazard.reported_at < self.end)
                & (Hazard.status != "rejected"))

    def hazards_closed(self):
        return (Hazard.station.in_(self.ids) & (Hazard.status == "closed") & (Hazard.closed_at >= self.start)
                & (Hazard.closed_at < self.end))

    def commitments_fulfilled(self):
        return (Commitment.station.in_(self.ids) & Commitment.rating.in_(FULFILLED) & (Commitment.rated_at >= self.start)
                & (Commitment.rated_at < self.end))


# The activities behind each figure counted from activities (a kind, or several).
_ACTIVITY_FIGURES = {
    **{kind: (kind,) for kind in ("study", "theme_day", "member_meeting", "committee", "group_meeting", "party_lecture",
                                  "training", "volunteer")},
    "three_one": tuple(Activity.THREE_MEETINGS_ONE_LESSON),
    "training_hours": ("training",), "training_hours_per_member": ("training",),
    "volunteer_days": ("volunteer",), "volunteer_days_per_member": ("volunteer",),
}
FIGURE_RECORDS = {*_ACTIVITY_FIGURES, "planned", "members", "suggestions", "suggestions_adopted", "hazards_found",
                  "hazards_closed", "commitments_fulfilled"}


@dataclass
class FigureRecord:
    """One record a year figure counts: what it is, when, and where it opens (an endpoint and its arguments)."""

    title: str
    at: object
    endpoint: str
    args: dict


def figure_records(key: str, stations: list[Station], year: int, tz: str, limit: int = 1000) -> list[FigureRecord]:
    """The records one figure of the year report counts for these branches (at most `limit`, newest first)."""
    where = _YearWhere([s.id for s in stations], month_start(year, 1, tz), month_start(year + 1, 1, tz), utcnow())
    if key in _ACTIVITY_FIGURES or key == "planned":
        condition = where.planned() if key == "planned" else where.held() & Activity.kind.in_(_ACTIVITY_FIGURES[key])
        return [FigureRecord(f"{Activity.KINDS.get(a.kind, a.kind)} · {a.topic}", a.starts_at, "activities.show",
                             {"activity_id": a.id})
                for a in Activity.select().where(condition).order_by(Activity.starts_at.desc()).limit(limit)]
    if key == "members":
        return [FigureRecord(u.name, u.party_joined_on, "assessment.member", {"user_id": u.id})
                for u in User.select().where(where.members()).order_by(User.employee_no).limit(limit)]
    if key in ("suggestions", "suggestions_adopted"):
        condition = where.suggestions() & ((Suggestion.status == "adopted") if key == "suggestions_adopted" else True)
        return [FigureRecord(x.title, x.received_at, "suggestions.show", {"suggestion_id": x.id})
                for x in Suggestion.select().where(condition).order_by(Suggestion.received_at.desc()).limit(limit)]
    if key in ("hazards_found", "hazards_closed"):
        condition, at = (where.hazards_found(), "reported_at") if key == "hazards_found" else (where.hazards_closed(), "closed_at")
        return [FigureRecord(_short(h.description), getattr(h, at), "hazards.show", {"hazard_id": h.id})
                for h in Hazard.select().where(condition).order_by(getattr(Hazard, at).desc()).limit(limit)]
    if key == "commitments_fulfilled":
        return [FigureRecord(gettext("%(name)s：%(content)s", name=c.member.name, content=_short(c.content)), c.rated_at,
                             "commitments.show", {"commitment_id": c.id})
                for c in Commitment.select(Commitment, User).join(User, on=Commitment.member).where(where.commitments_fulfilled())
                .order_by(Commitment.rated_at.desc()).limit(limit)]
    return []


def year_report(stations: list[Station], year: int, tz: str) -> YearReport:
    """The case study's figures for each branch in a year, from the records (seven grouped queries); with more than
    one branch, a 合计 column whose per-member figures divide the sums (not an average of averages). Activities count
    where they were held; hours and days per member are what the branch's current party members attended anywhere."""
    ids = [s.id for s in stations]
    start, end = month_start(year, 1, tz), month_start(year + 1, 1, tz)
    values: dict[int, dict[str, float]] = {s.id: defaultdict(float) for s in stations}

    def add(rows, key_of):
        for row in rows.tuples():
            for key, number in key_of(row):
                values[row[0]][key] += float(number or 0)

    count = fn.COUNT(1)
    now = utcnow()
    where = _YearWhere(ids, start, end, now)
    add(User.select(User.station, count).where(where.members()).group_by(User.station), lambda r: [("members", r[1])])
    # Held: begun, and someone was there (an activity on the calendar is a plan, not a figure); planned ones apart.
    add(Activity.select(Activity.station, Activity.kind, count).where(where.held())
        .group_by(Activity.station, Activity.kind), lambda r: [(r[1], r[2])])
    add(Activity.select(Activity.station, count).where(where.planned()).group_by(Activity.station),
        lambda r: [("planned", r[1])])
    add(Attendance.select(User.station, Activity.kind, fn.SUM(Activity.hours), fn.SUM(Activity.days))
        .join(Activity).switch(Attendance).join(User)
        .where(User.station.in_(ids) & User.is_party_member & User.is_enabled & (Attendance.status == "present") & Activity.cancelled_at.is_null()
               & Activity.kind.in_(("training", "volunteer")) & (Activity.starts_at >= start) & (Activity.starts_at < end)
               & (Activity.starts_at <= now))
        .group_by(User.station, Activity.kind),
        lambda r: [("training_hours", r[2])] if r[1] == "training" else [("volunteer_days", r[3])])
    add(Suggestion.select(Suggestion.station, count, fn.SUM(Case(None, [(Suggestion.status == "adopted", 1)], 0)))
        .where(where.suggestions()).group_by(Suggestion.station),
        lambda r: [("suggestions", r[1]), ("suggestions_adopted", r[2])])
    add(Hazard.select(Hazard.station, count).where(where.hazards_found()).group_by(Hazard.station),
        lambda r: [("hazards_found", r[1])])
    add(Hazard.select(Hazard.station, count).where(where.hazards_closed()).group_by(Hazard.station),
        lambda r: [("hazards_closed", r[1])])
    add(Commitment.select(Commitment.station, count).where(where.commitments_fulfilled()).group_by(Commitment.station),
        lambda r: [("commitments_fulfilled", r[1])])
    columns = [YearColumn(s.branch_name, s, dict(values[s.id])) for s in stations]
    if len(columns) > 1:
        columns.append(YearColumn(gettext("合计"), None, {f.key: sum(c.values.get(f.key, 0) for c in columns) for f in YEAR_FIGURES}))
    for column in columns:
        v = column.values
        v["three_one"] = sum(v.get(kind, 0) for kind in Activity.THREE_MEETINGS_ONE_LESSON)
        for per_member, total in PER_MEMBER.items():
            v[per_member] = v.get(total, 0) / v["members"] if v.get("members") else 0
        for figure in YEAR_FIGURES:
            v[figure.key] = round(v.get(figure.key, 0), figure.digits)
            if not figure.digits:
                v[figure.key] = int(v[figure.key])
    return YearReport(year, columns)


def year_sheets(report: YearReport, scope_label: str) -> list[Sheet]:
    """The year's figures as one sheet: a row per figure, a column per branch (and 合计) — as on the page."""
    columns = [Column(gettext("指标"), width=24), Column(gettext("单位"), width=8)] + [
        Column(c.label, width=max(12, len(c.label) * 2)) for c in report.columns]
    rows = []
    for figure in YEAR_FIGURES:
        rows.append([str(figure.label), str(figure.unit)] + [report.value(c, figure) for c in report.columns])
    return [Sheet(gettext("年度工作量"), gettext("%(scope)s %(year)s 年党建工作量", scope=scope_label, year=report.year), columns, rows)]
