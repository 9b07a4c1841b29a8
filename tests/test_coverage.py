"""承包井巡检完成率 counted in the database (webapp.coverage, assessment._counted) is the dashboard's count replayed
shift by shift (assessment._replayed, webapp.shifts.shift_table): the same (required, done) for every member, month
and well, on both databases, over generated patrols — on shift bounds and a fraction of a second either side,
returned ones, wells of every interval, contracts that change hands mid-month, three unequal shifts, a shift that
crosses midnight listed first, and a present moment mid-period."""
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import MonthTally, Patrol, ShiftTally, User, Well, WellContract, db
from webapp import coverage, tallies
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


def tally_rows(wells) -> tuple[list[tuple], list[tuple]]:
    """The wells' shift tallies and month buckets (left at zero after a change: not rows that count)."""
    ids = [w.id for w in wells]
    shifts = list(ShiftTally.select(ShiftTally.well, ShiftTally.day, ShiftTally.slot, ShiftTally.patrols)
                  .where(ShiftTally.well.in_(ids) & (ShiftTally.patrols != 0))
                  .order_by(ShiftTally.well, ShiftTally.day, ShiftTally.slot).tuples())
    months = list(MonthTally.select(MonthTally.well, MonthTally.month, MonthTally.slot, MonthTally.patrols,
                                    MonthTally.shifts)
                  .where(MonthTally.well.in_(ids) & (MonthTally.shifts != 0))
                  .order_by(MonthTally.well, MonthTally.month, MonthTally.slot, MonthTally.patrols).tuples())
    return shifts, months


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=st.sampled_from(SPECS), intervals=st.lists(st.sampled_from([1, 2, 5, 8, 12, 24, 48]), min_size=3, max_size=3),
       times=st.lists(st.tuples(st.integers(0, 2), moments, st.booleans(), st.integers(1, 3)), max_size=120),
       held=contracts,
       now_day=st.integers(5, DAYS + 3), now_minute=st.integers(0, 1439),
       changes=st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["returned", "approved", "pending", "delete"])),
                        max_size=12),
       one_by_one=st.integers(0, 5), begin=st.sampled_from([0, 4]))
def test_coverage_counted_in_the_database_is_the_dashboards_count(dbconn, spec, intervals, times, held, now_day, now_minute,
                                                                  changes, one_by_one, begin):
    """… and the shift tallies the triggers keep (webapp.tallies) give the same counts after patrols are inserted
    (in one statement and one by one), returned, approved again and deleted; counted afresh they are the same rows."""
    shifts = parse_shifts(spec)
    members = list(User.select().where(User.is_party_member).order_by(User.id).limit(3))
    now = local(FIRST + timedelta(days=now_day), now_minute)
    with db.atomic() as transaction:
        tallies.adopt(members[0].work_area_id, shifts, TZ)
        wells = [Well.create(station=members[0].station_id, code=f"测覆盖{n}", patrol_interval_hours=i)
                 for n, i in enumerate(intervals)]
        rows = [{"uuid": uuid.uuid4(), "well": wells[w].id, "station": wells[w].station_id, "author": members[0].id,
                 "method": "scan", "device_time": t, "clock_time": t, "review_status": "returned" if returned else "approved"}
                for w, t, returned, repeat in times for _ in range(repeat)]  # more than are due in a shift, too
        for row in rows[:one_by_one]:
            Patrol.create(**row)
        if rows[one_by_one:]:
            Patrol.insert_many(rows[one_by_one:]).execute()
        ids = [p.id for p in Patrol.select(Patrol.id).where(Patrol.well.in_(wells)).order_by(Patrol.id)]
        for index, change in changes:
            if ids:
                target = ids[index % len(ids)]
                if change == "delete":
                    Patrol.delete().where(Patrol.id == target).execute()
                    ids.remove(target)
                else:
                    Patrol.update(review_status=change).where(Patrol.id == target).execute()
        if ids and changes:  # a statement that changes several at once
            Patrol.update(review_status=changes[0][1] if changes[0][1] != "delete" else "returned").where(
                Patrol.id.in_(ids[::3])).execute()
        rows = []
        for n, (w, start, length) in enumerate(held):
            begins = FIRST + timedelta(days=start)
            rows.append(WellContract.create(well=wells[w], member=members[n % 3], start_date=begins,
                                            end_date=None if length is None else begins + timedelta(days=length)))
        rows = list(WellContract.select(WellContract, Well).join(Well).where(WellContract.id.in_([r.id for r in rows])))
        # From 28 January, or from 1 February: then February can be a whole month of a contract (its buckets).
        days = [FIRST + timedelta(days=n) for n in range(begin, DAYS)]
        windows = [w for w in shift_windows(days, shifts, TZ) if w.end <= now]
        if windows:
            offset = coverage.fixed_offset([w.start for w in windows] + [windows[-1].end], TZ)
            assert offset == 8 * 3600
            replayed = _replayed(rows, windows, now)
            assert _counted(rows, windows, shifts, offset) == replayed
            assert tallies.matches(members[0].work_area_id, shifts, offset)
            assert _counted(rows, windows, shifts, offset, tallied=True) == replayed
        kept = tally_rows(wells)
        tallies.adopt(members[0].work_area_id, shifts, TZ)
        assert tally_rows(wells) == kept
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


def counted_per_shift(area_id: int, shifts) -> list[tuple]:
    """The work area's patrols that are not returned, grouped per well and shift by webapp.coverage's CASE
    expressions — the counting the tallies replace, written apart from them."""
    day, slot = coverage.shift_of("u.s", shifts)
    mark = "%s" if coverage.is_postgres() else "?"
    sql = (f"SELECT u.well_id, {day}, {slot}, COUNT(*) FROM (SELECT p.well_id, "  # nosec B608 — numbers only
           f"{coverage.local_seconds('p.clock_time', 8 * 3600)} AS s FROM patrol p JOIN well w ON w.id = p.well_id "
           f"JOIN station st ON st.id = w.station_id WHERE st.work_area_id = {mark} AND p.review_status <> 'returned') u "
           "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    return [tuple(map(int, row)) for row in db.execute_sql(sql, [area_id])]


def test_new_shifts_saved_by_the_admin_are_counted_afresh(app, client):
    """The shifts page recounts the work area's tallies under the shifts saved, in the same transaction."""
    from tests.conftest import login

    worker = User.get(User.employee_no == "HN1003")
    wells = list(Well.select().where(Well.station == worker.station_id).order_by(Well.id).limit(3))
    start = local(date(2026, 3, 1), 0)
    Patrol.insert_many([{"uuid": uuid.uuid4(), "well": wells[n % 3].id, "station": worker.station_id,
                         "author": worker.id, "method": "scan", "device_time": start + timedelta(minutes=47 * n),
                         "clock_time": start + timedelta(minutes=47 * n),
                         "review_status": "returned" if n % 7 == 0 else "pending"} for n in range(200)]).execute()
    login(client, "HN0001")
    for spec in ("08:00-16:00 16:00-00:00 00:00-08:00", "07:30-19:30 19:30-07:30"):
        assert client.post("/admin/shifts", data={"custom": spec}).status_code == 302
        shifts = parse_shifts(spec)
        assert tallies.matches(worker.work_area_id, shifts, 8 * 3600)
        kept, months = tally_rows(Well.select())
        assert kept == counted_per_shift(worker.work_area_id, shifts)
        assert len(kept) > 40
        buckets = defaultdict(int)
        for well, day, slot, patrols in kept:
            first = date.fromordinal(day + coverage.EPOCH_DAY)
            buckets[(well, first.year * 12 + first.month - 1, slot, patrols)] += 1
        assert months == [(*key, n) for key, n in sorted(buckets.items())]


def test_whole_months_are_read_from_their_buckets_and_the_rest_shift_by_shift(dbconn, monkeypatch):
    """A period that begins on the 20th (patrols before it are not its) and ends in a month under way; one contract holds its well all February
    (read from the month's buckets), two share the other well mid-February (read shift by shift); shifts with more
    patrols than are due, returned ones, none: the tallies count what the patrols and the replay count."""
    shifts = parse_shifts("08:00-20:00 20:00-08:00")
    a, b = list(User.select().where(User.is_party_member).order_by(User.id).limit(2))
    tallies.adopt(a.work_area_id, shifts, TZ)
    wells = [Well.create(station=a.station_id, code=f"测整月{n}", patrol_interval_hours=i) for n, i in enumerate((12, 4))]
    rows, n = [], 0
    for day in range(65):
        for hour in (9, 21):
            for k in range(n % 5):
                at = local(date(2025, 1, 5) + timedelta(days=day), hour * 60 + 17 * k)
                rows.append({"uuid": uuid.uuid4(), "well": wells[n % 2].id, "station": a.station_id, "author": a.id,
                             "method": "scan", "device_time": at, "clock_time": at,
                             "review_status": "returned" if (n + k) % 7 == 0 else "approved"})
            n += 1
    Patrol.insert_many(rows).execute()
    made = [WellContract.create(well=wells[0], member=a, start_date=date(2025, 1, 1)),
            WellContract.create(well=wells[1], member=a, start_date=date(2025, 1, 1), end_date=date(2025, 2, 10)),
            WellContract.create(well=wells[1], member=b, start_date=date(2025, 2, 10))]
    contracts = list(WellContract.select(WellContract, Well).join(Well).where(WellContract.id.in_([c.id for c in made])))
    now = local(date(2025, 3, 6), 10 * 60)
    days = [date(2025, 1, 20) + timedelta(days=n) for n in range(50)]
    windows = [w for w in shift_windows(days, shifts, TZ) if w.end <= now]
    statements = []
    execute = db.obj.execute_sql
    monkeypatch.setattr(db.obj, "execute_sql", lambda sql, params=None, *rest: statements.append(sql) or execute(sql, params))
    tallied = _counted(contracts, windows, shifts, 8 * 3600, tallied=True)
    monkeypatch.undo()
    assert tallied == _counted(contracts, windows, shifts, 8 * 3600) == _replayed(contracts, windows, now)
    assert "month_tally" in statements[-1] and "shift_tally" in statements[-1]
    assert tallied[(a.id, "2025-02", wells[0].id)][1] > 0 and tallied[(b.id, "2025-02", wells[1].id)][1] > 0


def test_a_work_area_made_on_the_plant_page_counts_its_patrols_per_shift(dbconn):
    from models import WorkArea
    from webapp.plants import create_work_area

    created = create_work_area(WorkArea.get().plant_id, {"name": "海北作业区", "admin_employee_no": "HB0001",
                                                        "admin_name": "赵管理", "shifts": "00:00-08:00 08:00-16:00 16:00-00:00"})
    assert tallies.matches(created.area.id, parse_shifts("00:00-08:00 08:00-16:00 16:00-00:00"), 8 * 3600)
    assert not tallies.matches(created.area.id, parse_shifts("08:00-20:00 20:00-08:00"), 8 * 3600)


def test_the_upgrade_to_schema_21_counts_the_patrols_already_there(app):
    """A database of schema 20 with patrols: `db upgrade` makes the tables and triggers and counts what is there."""
    from models import MonthTally, SchemaVersion, TallyBasis, TallySlot, WorkArea
    from webapp import migrations

    with db.connection_context():
        worker = User.get(User.employee_no == "HN1003")
        wells = list(Well.select().where(Well.station == worker.station_id).order_by(Well.id).limit(2))
        for table, name in tallies.TRIGGERS:  # back to schema 20
            db.execute_sql(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if coverage.is_postgres() else ""))
        db.drop_tables([MonthTally, ShiftTally, TallySlot, TallyBasis])
        SchemaVersion.update(version=20).where(SchemaVersion.version == migrations.LATEST).execute()  # made at the latest
        start = local(date(2026, 3, 1), 0)
        Patrol.insert_many([{"uuid": uuid.uuid4(), "well": wells[n % 2].id, "station": worker.station_id,
                             "author": worker.id, "method": "scan", "device_time": start + timedelta(minutes=97 * n),
                             "clock_time": start + timedelta(minutes=97 * n),
                             "review_status": "returned" if n % 5 == 0 else "approved"} for n in range(120)]).execute()
        with app.app_context():
            assert migrations.upgrade() == [f"升级到版本 {n}：{name}" for n, name, _ in migrations.STEPS[-2:]]
        shifts = parse_shifts(WorkArea.get().shifts)
        assert tallies.matches(worker.work_area_id, shifts, 8 * 3600)
        kept, months = tally_rows(wells)
        assert kept == [row for row in counted_per_shift(worker.work_area_id, shifts) if row[0] in {w.id for w in wells}]
        assert sum(n for *_, n in months) == len(kept) > 30
