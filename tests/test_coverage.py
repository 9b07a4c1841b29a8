"""承包井巡检完成率 counted in the database (webapp.coverage, assessment._counted) is the dashboard's count replayed
shift by shift (assessment._replayed, webapp.shifts.shift_table): the same (required, done) for every member, month
and well, on both databases, over generated patrols — on shift bounds and a fraction of a second either side,
returned ones, wells of every interval, contracts that change hands mid-month, three unequal shifts, a shift that
crosses midnight listed first, and a present moment mid-period."""
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import Patrol, User, Well, WellContract, db
from webapp import coverage
from webapp.assessment import _counted, _replayed
from webapp.reports import shift_windows
from webapp.shifts import parse_shifts

TZ = "Asia/Shanghai"
SPECS = ["08:00-20:00 20:00-08:00", "20:00-08:00 08:00-20:00", "00:00-08:00 08:00-16:00 16:00-00:00",
         "07:30-15:00 15:00-23:40 23:40-07:30", "06:00-06:00"]
FIRST = date(2025, 1, 28)
DAYS = 40  # late January to early March: three months, February's 28 days


def local(day: date, minute: int, micro: int = 0) -> datetime:
    moment = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ)) + timedelta(minutes=minute, microseconds=micro)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


moments = st.builds(
    local,
    st.integers(0, DAYS + 1).map(lambda n: FIRST + timedelta(days=n - 1)),
    st.one_of(st.sampled_from([0, 360, 450, 480, 900, 960, 1200, 1420, 1439]), st.integers(0, 1439)),
    st.sampled_from([0, 0, -1, 1, 500_000, -500_000, 999_999]),
)
contracts = st.lists(st.tuples(st.integers(0, 2), st.integers(-3, DAYS + 2), st.one_of(st.none(), st.integers(1, 30))),
                     min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.sampled_from(SPECS), intervals=st.lists(st.sampled_from([1, 2, 5, 8, 12, 24, 48]), min_size=3, max_size=3),
       times=st.lists(st.tuples(st.integers(0, 2), moments, st.booleans()), max_size=120), held=contracts,
       now_day=st.integers(5, DAYS + 3), now_minute=st.integers(0, 1439))
def test_coverage_counted_in_the_database_is_the_dashboards_count(dbconn, spec, intervals, times, held, now_day, now_minute):
    shifts = parse_shifts(spec)
    members = list(User.select().where(User.is_party_member).order_by(User.id).limit(3))
    now = local(FIRST + timedelta(days=now_day), now_minute)
    with db.atomic() as transaction:
        wells = [Well.create(station=members[0].station_id, code=f"测覆盖{n}", patrol_interval_hours=i)
                 for n, i in enumerate(intervals)]
        Patrol.insert_many([{"uuid": uuid.uuid4(), "well": wells[w].id, "station": wells[w].station_id,
                             "author": members[0].id, "method": "scan", "device_time": t, "clock_time": t,
                             "review_status": "returned" if returned else "approved"}
                            for w, t, returned in times]).execute()
        rows = []
        for n, (w, start, length) in enumerate(held):
            begins = FIRST + timedelta(days=start)
            rows.append(WellContract.create(well=wells[w], member=members[n % 3], start_date=begins,
                                            end_date=None if length is None else begins + timedelta(days=length)))
        rows = list(WellContract.select(WellContract, Well).join(Well).where(WellContract.id.in_([r.id for r in rows])))
        days = [FIRST + timedelta(days=n) for n in range(DAYS)]
        windows = [w for w in shift_windows(days, shifts, TZ) if w.end <= now]
        if windows:
            offset = coverage.fixed_offset([w.start for w in windows] + [windows[-1].end], TZ)
            assert offset == 8 * 3600
            assert _counted(rows, windows, shifts, offset) == _replayed(rows, windows, now)
        transaction.rollback()


def test_a_zone_whose_offset_changes_in_the_period_is_replayed(dbconn):
    """Europe/Berlin moves its clocks at the end of March: no single offset, so the callers replay the shifts."""
    shifts = parse_shifts("08:00-20:00 20:00-08:00")
    march = [date(2025, 3, 1) + timedelta(days=n) for n in range(31)]
    windows = shift_windows(march, shifts, "Europe/Berlin")
    assert coverage.fixed_offset([w.start for w in windows] + [windows[-1].end], "Europe/Berlin") is None
    assert coverage.fixed_offset([w.start for w in windows[:40]] + [windows[39].end], "Europe/Berlin") == 3600


@pytest.mark.parametrize("spec", SPECS)
def test_the_slot_expression_places_each_minute_of_a_day_as_the_windows_do(dbconn, spec):
    """Every minute of two days, and a microsecond before each: the SQL day and slot of the moment are those of the
    window that holds it."""
    shifts = parse_shifts(spec)
    days = [date(2025, 6, 1), date(2025, 6, 2), date(2025, 6, 3)]
    windows = shift_windows(days, shifts, TZ)
    slot_of = {s.index: n for n, s in enumerate(coverage.slots(shifts))}
    day_sql, slot_sql = coverage.shift_of(coverage.local_seconds("t.at", 8 * 3600), shifts)
    expected, probes = [], []
    for minute in range(24 * 60 * 2):
        for micro in (0, -1):
            moment = local(date(2025, 6, 2), minute, micro)
            w = next(w for w in windows if w.start <= moment < w.end)
            probes.append(moment)
            expected.append((coverage.day_number(w.day), slot_of[w.shift.index]))
    db.execute_sql("CREATE TEMPORARY TABLE probe (at TIMESTAMP)")
    try:
        mark = "%s" if coverage.is_postgres() else "?"
        db.cursor().executemany(f"INSERT INTO probe (at) VALUES ({mark})", [(p,) for p in probes])
        got = db.execute_sql(f"SELECT {day_sql}, {slot_sql} FROM probe t ORDER BY t.at").fetchall()  # nosec B608
    finally:
        db.execute_sql("DROP TABLE probe")
    assert [tuple(map(int, row)) for row in got] == [e for _, e in sorted(zip(probes, expected, strict=True))]
