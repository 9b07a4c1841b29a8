"""Station reports for the leader: the single-well daily report (单井日报), the day's production against the month's
plan (配产) and the monthly patrol summary — computed here once, for the pages and the .xlsx/.csv exports alike.

A report day is a shift day: its shifts from the first one's start, 24 hours (08:00 to 08:00 with the default
shifts), so a night shift counts with the day it starts, as on the dashboard. Patrols are placed by their
server-clock time (Patrol.clock_time). Shifts that have not started yet do not count.
"""
import math
import re
import statistics
from bisect import bisect_right
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext, lazy_gettext as _l
from peewee import Case, fn

from models import EquipmentCheck, Hazard, Patrol, ProductionPlan, User, Well, WellOperation, utcnow

from .exports import Column, Sheet
from .patrols import OPERATIONS, READINGS
from .periods import month_text
from .readings import sets_of
from .shifts import Shift, WellShift, coverage, shift_table, window

CARRY_DAYS = 7
EARLIEST = date(2000, 1, 1)
PLAN_LIMIT = 100000
PLAN_MONTHS_AHEAD = 12
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PRODUCTION_READINGS = ("liquid_t_per_day", "water_cut_pct")
# The other readings are shown as the day's mean; 产液量 and 含水 come from the production rule below.
SNAPSHOT_READINGS = [name for name in READINGS if name not in PRODUCTION_READINGS]
STATUS_ORDER = ("done", "due", "overdue", "missed")


class ReportError(ValueError):
    """Input a report cannot be made from, with a Chinese message and the form field it concerns."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def parse_day(text: str, today: date) -> date:
    """The report day from ?date= (`today` when empty); refuses nonsense, days before 2000 and the future."""
    if not text.strip():
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(gettext("日期格式不对，请按“2026-11-26”这样的年-月-日选择日期。"), "date") from None
    if day < EARLIEST:
        raise ReportError(gettext("日期太早：请选择 2000 年以后的日期。"), "date")
    if day > today:
        raise ReportError(gettext("不能查看未来的日期（今天是 %(today)s）。", today=today.isoformat()), "date")
    return day


def parse_month(text: str, today: date, ahead: int = 0) -> tuple[int, int]:
    """'YYYY-MM' → (year, month), from 2000 to `ahead` months after today's month."""
    match = MONTH.match(text.strip())
    if not match:
        raise ReportError(gettext("月份格式不对，请按“2026-11”这样的年-月填写。"), "month")
    year, month = map(int, match.groups())
    if not 1 <= month <= 12:
        raise ReportError(gettext("月份应在 01 到 12 之间。"), "month")
    if year < EARLIEST.year:
        raise ReportError(gettext("月份太早：请选择 2000 年以后的月份。"), "month")
    last = today.year * 12 + today.month - 1 + ahead
    if year * 12 + month - 1 > last:
        if ahead:
            raise ReportError(gettext("最多可提前 %(count)s 个月（到 %(month)s）。", count=ahead,
                                          month=month_text(last // 12, last % 12 + 1)), "month")
        raise ReportError(gettext("不能查看未来的月份（本月是 %(month)s）。", month=month_text(today.year, today.month)), "month")
    return year, month


def local(moment: datetime, tz: str) -> datetime:
    """A naive-UTC moment in the work area's zone."""
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))


# Production against plan

def oil_of(liquid: float | None, water_cut: float | None) -> float | None:
    """Oil in the liquid, liquid × (1 − water cut / 100), to 0.01 t; None when either is unknown."""
    if liquid is None or water_cut is None:
        return None
    return round(liquid * (1 - water_cut / 100), 2)


def against(actual: float | None, planned: float | None) -> tuple[float | None, float | None]:
    """(actual − plan, actual as % of plan): None without a plan or a figure, and the % None for a zero plan."""
    if actual is None or planned is None:
        return None, None
    return round(actual - planned, 2), (round(100 * actual / planned, 1) if planned else None)


@dataclass
class WellProduction:
    """An oil well's 产液量 and 含水 for the day: the mean of the day's readings, else the latest reading of the
    CARRY_DAYS days before, carried forward and marked 估 (carried_at: when the oldest carried value was read)."""

    well: object
    liquid: float | None
    water_cut: float | None
    carried_at: datetime | None = None

    SOURCES = {"measured": _l("实测"), "estimated": _l("估"), "none": _l("无数据")}

    @property
    def oil(self) -> float | None:
        return oil_of(self.liquid, self.water_cut)

    @property
    def source(self) -> str:
        if self.liquid is None:
            return "none"
        return "estimated" if self.carried_at else "measured"

    def source_text(self, tz: str) -> str:
        """实测, 估（11-25 02:00）or 无数据 — as the exports print it."""
        if self.source == "estimated":
            return gettext("估（%(time)s）", time=f"{local(self.carried_at, tz):%m-%d %H:%M}")
        return str(self.SOURCES[self.source])


def _total(values) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 2) if known else None


@dataclass
class Production:
    """A station's production for one day (sums of its oil wells that have figures) against the month's plan."""

    wells: list[WellProduction]
    plan_liquid: float | None = None
    plan_oil: float | None = None

    @property
    def liquid(self) -> float | None:
        return _total(w.liquid for w in self.wells)

    @property
    def oil(self) -> float | None:
        return _total(w.oil for w in self.wells)

    @property
    def liquid_against(self) -> tuple[float | None, float | None]:
        return against(self.liquid, self.plan_liquid)

    @property
    def oil_against(self) -> tuple[float | None, float | None]:
        return against(self.oil, self.plan_oil)

    def count(self, source: str) -> int:
        return sum(1 for w in self.wells if w.source == source)

    @property
    def without_oil(self) -> list[WellProduction]:
        """Wells with 产液量 but no 含水: their liquid is summed, their oil cannot be."""
        return [w for w in self.wells if w.liquid is not None and w.oil is None]


def day_means(patrols) -> dict[int, dict[str, float]]:
    """Per well, the mean of each reading over the given patrols, to 0.01."""
    values: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for patrol in patrols:
        for name in READINGS:
            if getattr(patrol, name) is not None:
                values[patrol.well_id][name].append(getattr(patrol, name))
    return {well: {name: round(statistics.fmean(v), 2) for name, v in readings.items()} for well, readings in values.items()}


def station_production(station, wells, means: dict[int, dict[str, float]], start: datetime, month: str) -> Production:
    """Each oil well's production for the day starting at `start` (means: the day's readings), carried forward
    where the day has none, and the station's plan for the month (2 queries)."""
    earlier = (
        Patrol.select(Patrol.well, Patrol.clock_time, Patrol.liquid_t_per_day, Patrol.water_cut_pct)
        .where((Patrol.station == station) & (Patrol.clock_time >= start - timedelta(days=CARRY_DAYS))
               & (Patrol.clock_time < start) & (Patrol.liquid_t_per_day.is_null(False) | Patrol.water_cut_pct.is_null(False)))
        .order_by(Patrol.clock_time)
    )
    latest: dict[tuple[int, str], tuple[float, datetime]] = {}
    for patrol in earlier:
        for name in PRODUCTION_READINGS:
            if getattr(patrol, name) is not None:
                latest[patrol.well_id, name] = (getattr(patrol, name), patrol.clock_time)
    rows = []
    for well in wells:
        if well.kind not in Well.PRODUCING:
            continue
        values, carried = {}, []
        for name in PRODUCTION_READINGS:
            if name in means.get(well.id, {}):
                values[name] = means[well.id][name]
            elif (well.id, name) in latest:
                value, at = latest[well.id, name]
                values[name] = round(value, 2)
                carried.append(at)
            else:
                values[name] = None
        rows.append(WellProduction(well, values["liquid_t_per_day"], values["water_cut_pct"], min(carried, default=None)))
    plan = ProductionPlan.get_or_none((ProductionPlan.station == station) & (ProductionPlan.month == month))
    return Production(rows, plan.liquid_t_per_day if plan else None, plan.oil_t_per_day if plan else None)


# Shifts and coverage

@dataclass
class Tally:
    """A group of well-shifts (one shift, a day, a well's month, the month): patrols due and done, wells by
    status, and coverage exactly as the dashboard computes it (webapp.shifts.coverage)."""

    rows: list[WellShift] = field(default_factory=list)

    @property
    def required(self) -> int:
        return sum(r.required for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.done for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        return {status: sum(1 for r in self.rows if r.status == status) for status in STATUS_ORDER}

    @property
    def coverage(self) -> float | None:
        """Percent to 0.1; None when nothing was due yet."""
        return round(coverage(self.rows), 1) if self.rows else None


@dataclass(frozen=True)
class ShiftWindow:
    day: date
    shift: Shift
    start: datetime
    end: datetime


def shift_windows(days: list[date], shifts: list[Shift], tz: str) -> list[ShiftWindow]:
    """Every shift of these days as naive-UTC windows, in time order."""
    return sorted((ShiftWindow(day, shift, *window(day, shift, tz)) for day in days for shift in shifts), key=lambda w: w.start)


def bucket(patrols, windows: list[ShiftWindow]) -> list[list]:
    """The patrols of each window (by clock_time); windows tile the time, so one bisect places each patrol."""
    starts = [w.start for w in windows]
    buckets: list[list] = [[] for _ in windows]
    for patrol in patrols:
        index = bisect_right(starts, patrol.clock_time) - 1
        if index >= 0 and patrol.clock_time < windows[index].end:
            buckets[index].append(patrol)
    return buckets


# The daily single-well report

@dataclass
class DayShift:
    """One shift of the report day; `tally` is None until the shift starts (it does not count before)."""

    window: ShiftWindow
    tally: Tally | None

    @property
    def shift(self) -> Shift:
        return self.window.shift


@dataclass
class WellDay:
    """One well's line of the daily report."""

    well: object
    shifts: list[WellShift | None]  # per shift of the day, None before it starts
    patrols: int
    readings: dict[str, float]  # the day's mean of each reading
    production: WellProduction | None  # oil wells only
    operations: dict[str, int]  # 十字作业 code → times done that day
    abnormal: int  # abnormal patrols and abnormal equipment checks
    open_hazards: int
    notes: list[str]

    @property
    def balance(self) -> float | None:
        """平衡率 (%): down-stroke over up-stroke current."""
        up, down = self.readings.get("current_up_a"), self.readings.get("current_down_a")
        return round(100 * down / up, 1) if up and down is not None else None

    @property
    def operations_text(self) -> str:
        return gettext("、").join(str(OPERATIONS[code][1]) + (f"×{n}" if n > 1 else "") for code, n in self.operations.items())


@dataclass
class DailyReport:
    station: object
    day: date
    shifts: list[DayShift]
    wells: list[WellDay]
    production: Production
    generated_at: datetime
    snapshot: list[str] = field(default_factory=lambda: list(SNAPSHOT_READINGS))  # the reading columns shown

    @property
    def tally(self) -> Tally:
        """The day's started shifts together: for one shift, the dashboard's figures."""
        return Tally([row for s in self.shifts if s.tally for row in s.tally.rows])

    @property
    def month(self) -> str:
        return month_text(self.day.year, self.day.month)

    def total(self, name: str) -> int:
        return sum(getattr(w, name) for w in self.wells)


def daily_report(station, day: date, shifts: list[Shift], tz: str, now: datetime | None = None) -> DailyReport:
    """The 单井日报 of a station for a shift day (7 queries, whatever the number of wells and patrols)."""
    now = now or utcnow()
    windows = shift_windows([day], shifts, tz)
    start, end = windows[0].start, windows[-1].end
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    patrols = list(Patrol.select().where((Patrol.station == station) & (Patrol.clock_time >= start) & (Patrol.clock_time < end))
                   .order_by(Patrol.clock_time))
    # Back in the order of the work area's shifts (the night shift may be listed first).
    day_shifts = sorted(
        (DayShift(w, Tally(shift_table(wells, in_shift, w.shift, w.start, w.end, now)) if w.start <= now else None)
         for w, in_shift in zip(windows, bucket(patrols, windows), strict=True)),
        key=lambda s: s.shift.index,
    )
    operations: dict[int, dict[str, int]] = defaultdict(dict)
    for well_id, code, times in (
        WellOperation.select(WellOperation.well, WellOperation.code, fn.COUNT(WellOperation.id))
        .join(Patrol).where((Patrol.station == station) & (Patrol.clock_time >= start) & (Patrol.clock_time < end))
        .group_by(WellOperation.well, WellOperation.code).tuples()
    ):
        if code in OPERATIONS and code != "xun":  # 巡 is the patrol itself
            operations[well_id][code] = times
    checks = dict(
        EquipmentCheck.select(EquipmentCheck.well, fn.COUNT(EquipmentCheck.id))
        .where((EquipmentCheck.station == station) & EquipmentCheck.is_abnormal & EquipmentCheck.well.is_null(False)
               & (EquipmentCheck.clock_time >= start) & (EquipmentCheck.clock_time < end))
        .group_by(EquipmentCheck.well).tuples()
    )
    hazards = dict(
        Hazard.select(Hazard.well, fn.COUNT(Hazard.id))
        .where((Hazard.station == station) & Hazard.still_open() & Hazard.well.is_null(False))
        .group_by(Hazard.well).tuples()
    )
    means = day_means(patrols)
    production = station_production(station, wells, means, start, month_text(day.year, day.month))
    by_well = {p.well.id: p for p in production.wells}
    patrols_of: dict[int, list] = defaultdict(list)
    for patrol in patrols:
        patrols_of[patrol.well_id].append(patrol)
    lines = []
    for index, well in enumerate(wells):
        mine = patrols_of[well.id]
        lines.append(WellDay(
            well=well,
            shifts=[s.tally.rows[index] if s.tally else None for s in day_shifts],
            patrols=len(mine),
            readings=means.get(well.id, {}),
            production=by_well.get(well.id),
            operations={code: operations[well.id][code] for code in OPERATIONS if code in operations[well.id]},
            abnormal=sum(1 for p in mine if p.is_abnormal) + checks.get(well.id, 0),
            open_hazards=hazards.get(well.id, 0),
            notes=[p.note for p in mine if p.note],
        ))
    return DailyReport(station, day, day_shifts, lines, production, now, snapshot_columns(station, wells, means))


def snapshot_columns(station, wells, means) -> list[str]:
    """The reading columns of a station's 单井日报: what the reading sets of its kinds of wells record, and any
    reading the day's patrols carry, in the catalogue's order; 产液量 and 含水 have their own columns (one query)."""
    sets = sets_of(station.work_area_id)
    wanted = {f.key for kind in {w.kind for w in wells} for f in sets.get(kind, [])}
    wanted |= {name for readings in means.values() for name in readings}
    return [name for name in SNAPSHOT_READINGS if name in wanted]


# The monthly patrol summary

@dataclass
class WorkerMonth:
    """One author's patrols of the month at the station."""

    employee_no: str
    name: str
    patrols: int
    abnormal: int
    flagged: int


@dataclass
class MonthlyReport:
    station: object
    year: int
    month: int
    wells: list[tuple[object, Tally]]
    workers: list[WorkerMonth]
    days: list[tuple[date, Tally]]
    generated_at: datetime

    @property
    def tally(self) -> Tally:
        return Tally([row for _, tally in self.days for row in tally.rows])

    @property
    def month_text(self) -> str:
        return month_text(self.year, self.month)

    def worker_total(self, name: str) -> int:
        return sum(getattr(w, name) for w in self.workers)


def monthly_report(station, year: int, month: int, shifts: list[Shift], tz: str, now: datetime | None = None) -> MonthlyReport:
    """The month's patrols of a station per well, per worker and per day, over the shifts started so far (3 queries)."""
    now = now or utcnow()
    days = [date(year, month, d) for d in range(1, monthrange(year, month)[1] + 1)]
    windows = [w for w in shift_windows(days, shifts, tz) if w.start <= now]
    wells = list(Well.select().where(Well.station == station).order_by(Well.code))
    per_well: dict[int, Tally] = {well.id: Tally() for well in wells}
    per_day: dict[date, Tally] = {}
    workers = []
    if windows:
        in_month = (Patrol.station == station) & (Patrol.clock_time >= windows[0].start) & (Patrol.clock_time < windows[-1].end)
        patrols = Patrol.select(Patrol.well, Patrol.clock_time, Patrol.review_status).where(in_month)
        for w, in_shift in zip(windows, bucket(patrols, windows), strict=True):
            rows = shift_table(wells, in_shift, w.shift, w.start, w.end, now)
            per_day.setdefault(w.day, Tally()).rows.extend(rows)
            for row in rows:
                per_well[row.well.id].rows.append(row)
        def counted(condition):
            return fn.SUM(Case(None, [(condition, 1)], 0))

        workers = [
            WorkerMonth(*row) for row in
            Patrol.select(User.employee_no, User.name, fn.COUNT(Patrol.id), counted(Patrol.is_abnormal), counted(Patrol.flags != ""))
            .join(User, on=Patrol.author).where(in_month)
            .group_by(User.id, User.employee_no, User.name).order_by(fn.COUNT(Patrol.id).desc(), User.employee_no).tuples()
        ]
    return MonthlyReport(station, year, month, [(well, per_well[well.id]) for well in wells], workers,
                         sorted(per_day.items()), now)


# The plan form

def check_plan(form, today: date) -> tuple[dict, dict[str, str]]:
    """The plan form's month and daily figures (t/d), and a Chinese message for each field that is wrong."""
    values, errors = {}, {}
    try:
        values["month"] = month_text(*parse_month(form.get("month") or "", today, ahead=PLAN_MONTHS_AHEAD))
    except ReportError as exc:
        errors["month"] = exc.message
    for name, label in (("liquid_t_per_day", gettext("计划日产液")), ("oil_t_per_day", gettext("计划日产油"))):
        text = (form.get(name) or "").strip()
        if not text:
            errors[name] = gettext("请填写%(label)s。", label=label)
            continue
        try:
            number = float(text) if len(text) <= 20 else math.nan
        except ValueError:
            number = math.nan
        if math.isnan(number):
            errors[name] = gettext("%(label)s应为数字（吨/日），例如 120.5。", label=label)
        elif not 0 <= number < PLAN_LIMIT:
            errors[name] = gettext("%(label)s应不小于 0 且小于 %(limit)s（吨/日）。", label=label, limit=PLAN_LIMIT)
        else:
            values[name] = round(number, 2)
    if not errors and values["oil_t_per_day"] > values["liquid_t_per_day"]:
        errors["oil_t_per_day"] = gettext("计划日产油不能大于计划日产液。")
    return values, errors


def save_plan(station, month: str, liquid_t_per_day: float, oil_t_per_day: float, user) -> None:
    """Set or replace the station's plan for the month (one row per station and month, kept by the unique index)."""
    ProductionPlan.insert(station=station, month=month, liquid_t_per_day=liquid_t_per_day, oil_t_per_day=oil_t_per_day,
                          set_by=user, set_at=utcnow()).on_conflict(
        conflict_target=[ProductionPlan.station, ProductionPlan.month],
        preserve=[ProductionPlan.liquid_t_per_day, ProductionPlan.oil_t_per_day, ProductionPlan.set_by, ProductionPlan.set_at],
    ).execute()


# Exports: the same figures as the pages, as sheets

def _title(report, what: str, tz: str) -> str:
    return gettext("%(station)s %(what)s · 生成于 %(time)s", station=report.station.name, what=what,
                   time=f"{local(report.generated_at, tz):%Y-%m-%d %H:%M}")


def daily_sheets(report: DailyReport, tz: str) -> list[Sheet]:
    """单井日报, 班次 and 产量与配产 — what the daily page shows."""
    def title(name: str) -> str:
        return _title(report, f"{report.day.isoformat()} {name}", tz)

    shift_columns = []
    for s in report.shifts:
        shift_columns += [Column(gettext("%(shift)s应巡", shift=s.shift.name), "0", 8),
                          Column(gettext("%(shift)s已巡", shift=s.shift.name), "0", 8),
                          Column(gettext("%(shift)s状态", shift=s.shift.name), None, 8)]
    reading_columns = [Column(f"{READINGS[n][0]} ({READINGS[n][1]})", "0.00", 10) for n in report.snapshot]
    wells = Sheet(gettext("单井日报"), title(gettext("单井日报")), [
        Column(gettext("井号"), width=12), Column(gettext("井别"), width=8), Column(gettext("重点井"), width=7), *shift_columns,
        Column(gettext("巡检次数"), "0", 8), *reading_columns, Column(gettext("平衡率 (%)"), "0.0", 9),
        Column(gettext("产液量 (t/d)"), "0.00", 11), Column(gettext("含水 (%)"), "0.00", 9),
        Column(gettext("日产油 (t/d)"), "0.00", 11), Column(gettext("产量来源"), width=16), Column(gettext("十字作业"), width=18),
        Column(gettext("异常"), "0", 6), Column(gettext("未销项隐患"), "0", 9), Column(gettext("备注"), width=40),
    ])
    for line in report.wells:
        cells = []
        for row in line.shifts:
            cells += [row.required, row.done, str(row.label)] if row else [None, None, gettext("未开始")]
        p = line.production
        wells.rows.append([
            line.well.code, str(line.well.kind_label), gettext("是") if line.well.is_key_well else "", *cells, line.patrols,
            *[line.readings.get(n) for n in report.snapshot], line.balance,
            p.liquid if p else None, p.water_cut if p else None, p.oil if p else None, p.source_text(tz) if p else "",
            line.operations_text, line.abnormal, line.open_hazards, "；".join(line.notes),
        ])
    shift_totals = []
    for s in report.shifts:
        shift_totals += [s.tally.required, s.tally.done, None] if s.tally else [None, None, None]
    production = report.production
    wells.footer.append([
        gettext("合计（%(count)s 口）", count=len(report.wells)), None, None, *shift_totals, report.total("patrols"),
        *[None] * len(report.snapshot), None, production.liquid, None, production.oil,
        gettext("实测 %(measured)s，估 %(estimated)s，无数据 %(none)s", measured=production.count("measured"),
                estimated=production.count("estimated"), none=production.count("none")),
        None, report.total("abnormal"), report.total("open_hazards"), None,
    ])

    shifts = Sheet(gettext("班次"), title(gettext("各班巡检")), [
        Column(gettext("班次"), width=8), Column(gettext("时段"), width=13), Column(gettext("井数"), "0", 6),
        Column(gettext("应巡次数"), "0", 9), Column(gettext("已巡次数"), "0", 9), Column(gettext("已巡井"), "0", 7),
        Column(gettext("待巡井"), "0", 7), Column(gettext("超时井"), "0", 7), Column(gettext("漏巡井"), "0", 7),
        Column(gettext("覆盖率 (%)"), "0.0", 10),
    ])

    def tally_cells(tally: Tally | None) -> list:
        if tally is None:
            return [None] * 7
        counts = tally.counts
        return [tally.required, tally.done, counts["done"], counts["due"], counts["overdue"], counts["missed"], tally.coverage]

    for s in report.shifts:
        hours = f"{s.shift.start:%H:%M}–{s.shift.end:%H:%M}"
        if not s.tally:
            hours = gettext("%(hours)s（未开始）", hours=hours)
        shifts.rows.append([s.shift.name, hours, len(report.wells), *tally_cells(s.tally)])
    shifts.footer.append([gettext("全天"), None, len(report.wells), *tally_cells(report.tally)])

    plan = Sheet(gettext("产量与配产"), title(gettext("产量与配产")), [
        Column(gettext("项目"), width=22), Column(gettext("产液 (t/d)"), width=12), Column(gettext("产油 (t/d)"), width=12),
    ])
    liquid_diff, liquid_pct = production.liquid_against
    oil_diff, oil_pct = production.oil_against
    plan.rows += [
        [gettext("实测及估算合计"), production.liquid, production.oil],
        [gettext("%(month)s 配产", month=report.month), production.plan_liquid, production.plan_oil],
        [gettext("差额（合计 − 配产）"), liquid_diff, oil_diff],
        [gettext("完成率 (%)"), liquid_pct, oil_pct],
        [gettext("实测井 / 估算井 / 无数据井"),
         f"{production.count('measured')} / {production.count('estimated')} / {production.count('none')}", None],
    ]
    return [wells, shifts, plan]


def monthly_sheets(report: MonthlyReport, tz: str) -> list[Sheet]:
    """按井, 按人 and 按日 — what the monthly page shows."""
    def title(name: str) -> str:
        return _title(report, gettext("%(month)s 巡检月报 · %(name)s", month=report.month_text, name=name), tz)

    tally_columns = [Column(gettext("应巡次数"), "0", 9), Column(gettext("已巡次数"), "0", 9), Column(gettext("漏巡班次"), "0", 9),
                     Column(gettext("覆盖率 (%)"), "0.0", 10)]

    def tally_cells(tally: Tally) -> list:
        return [tally.required, tally.done, tally.counts["missed"], tally.coverage]

    total = report.tally
    wells = Sheet(gettext("按井"), title(gettext("按井")), [
        Column(gettext("井号"), width=12), Column(gettext("井别"), width=8), Column(gettext("巡检频次 (h)"), "0", 11), *tally_columns,
    ])
    wells.rows = [[well.code, str(well.kind_label), well.patrol_interval_hours, *tally_cells(t)] for well, t in report.wells]
    wells.footer.append([gettext("合计（%(count)s 口）", count=len(report.wells)), None, None, *tally_cells(total)])
    workers = Sheet(gettext("按人"), title(gettext("按人")), [
        Column(gettext("工号"), width=10), Column(gettext("姓名"), width=10), Column(gettext("巡检次数"), "0", 9),
        Column(gettext("发现异常"), "0", 9), Column(gettext("到场存疑"), "0", 9),
    ])
    workers.rows = [[w.employee_no, w.name, w.patrols, w.abnormal, w.flagged] for w in report.workers]
    workers.footer.append([gettext("合计"), gettext("%(count)s 人", count=len(report.workers)), report.worker_total("patrols"),
                           report.worker_total("abnormal"), report.worker_total("flagged")])
    days = Sheet(gettext("按日"), title(gettext("按日")), [Column(gettext("日期"), width=12), *tally_columns])
    days.rows = [[day, *tally_cells(t)] for day, t in report.days]
    days.footer.append([gettext("全月"), *tally_cells(total)])
    return [wells, workers, days]
