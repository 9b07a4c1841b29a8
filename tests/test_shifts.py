"""Shifts and the done/due/overdue/missed computation across shift boundaries and midnight, with phone clocks off."""
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from webapp.shifts import coverage, parse_shifts, shift_at, shift_table, well_status, window

TZ = "Asia/Shanghai"  # UTC+8


def utc(local_text):
    """A Beijing local time as naive UTC."""
    return datetime.fromisoformat(local_text) - timedelta(hours=8)


def test_two_and_three_shifts():
    two = parse_shifts("08:00-20:00 20:00-08:00")
    assert [(s.name, s.hours) for s in two] == [("白班", 12), ("夜班", 12)]
    three = parse_shifts("00:00-08:00 08:00-16:00 16:00-24:00".replace("24:00", "00:00"))
    assert [s.name for s in three] == ["早班", "中班", "夜班"] and all(s.hours == 8 for s in three)


@pytest.mark.parametrize("spec", ["", "8-20", "08:00-20:00", "08:00-20:00 21:00-08:00", "08:00-25:00 20:00-08:00", "x"])
def test_bad_shift_specs(spec):
    with pytest.raises(ValueError):
        parse_shifts(spec)


def test_night_shift_crosses_midnight_and_belongs_to_its_first_day():
    day, night = parse_shifts("08:00-20:00 20:00-08:00")
    start, end = window(date(2026, 11, 26), night, TZ)
    assert (start, end) == (utc("2026-11-26T20:00"), utc("2026-11-27T08:00"))
    assert shift_at(utc("2026-11-27T02:30"), [day, night], TZ) == (date(2026, 11, 26), night)
    assert shift_at(utc("2026-11-27T08:00"), [day, night], TZ) == (date(2026, 11, 27), day)
    assert shift_at(utc("2026-11-27T07:59"), [day, night], TZ) == (date(2026, 11, 26), night)


@pytest.mark.parametrize(
    "interval, now, done, expected",
    [
        (8, "2026-11-26T09:00", 0, (2, "due")),       # 1 h into a 12 h day shift
        (8, "2026-11-26T16:30", 0, (2, "overdue")),   # 8.5 h in: one patrol should be done
        (8, "2026-11-26T16:30", 1, (2, "due")),
        (8, "2026-11-26T19:59", 2, (2, "done")),
        (8, "2026-11-26T20:00", 1, (2, "missed")),    # shift over
        (4, "2026-11-26T21:00", 3, (3, "done")),      # a key well: three per 12 h
        (12, "2026-11-26T20:00", 0, (1, "missed")),
    ],
)
def test_well_status(interval, now, done, expected):
    day, _ = parse_shifts("08:00-20:00 20:00-08:00")
    start, end = window(date(2026, 11, 26), day, TZ)
    assert well_status(interval, day, start, end, utc(now), done) == expected


def test_shift_table_counts_and_coverage():
    _, night = parse_shifts("08:00-20:00 20:00-08:00")
    start, end = window(date(2026, 11, 26), night, TZ)
    wells = [SimpleNamespace(id=1, patrol_interval_hours=12), SimpleNamespace(id=2, patrol_interval_hours=12),
             SimpleNamespace(id=3, patrol_interval_hours=4), SimpleNamespace(id=4, patrol_interval_hours=12)]
    # A returned patrol does not count (its correction will): well 2 has one that counts, well 4 none.
    patrols = [SimpleNamespace(well_id=1, review_status="pending"), SimpleNamespace(well_id=2, review_status="approved"),
               SimpleNamespace(well_id=3, review_status="pending"), SimpleNamespace(well_id=2, review_status="returned"),
               SimpleNamespace(well_id=4, review_status="returned")]
    rows = shift_table(wells, patrols, night, start, end, utc("2026-11-27T09:00"))
    assert [(r.well.id, r.done, r.required, r.status) for r in rows] == [
        (1, 1, 1, "done"), (2, 1, 1, "done"), (3, 1, 3, "missed"), (4, 0, 1, "missed")]
    assert coverage(rows) == pytest.approx(100 * 3 / 6)


def test_shift_patrols_use_the_server_clock_across_midnight(app):
    """Phones whose clocks are off: each patrol lands in the shift its server-clock time falls in."""
    import uuid

    from models import Patrol, db
    from routes.review import shift_patrols
    from tests.conftest import get_user, get_well

    author = get_user("HN1003")
    # (well, what the phone said, offset measured at sync in seconds)
    cases = [
        ("海1-02", "2026-11-27T00:30", 0),     # after midnight: the night shift of the 26th
        ("海1-03", "2026-11-26T19:55", 600),   # phone 10 min slow: 20:05 on the server clock, night shift
        ("海1-04", "2026-11-27T08:03", -300),  # phone 5 min fast: 07:58, still the night shift
        ("海1-05", "2026-11-26T19:00", 0),     # the day shift before
        ("海1-06", "2026-11-27T07:58", 300),   # phone 5 min slow: 08:03, the next day shift
    ]
    with db.connection_context():
        for code, said, offset in cases:
            well = get_well(code)
            device_time = utc(said)
            Patrol.create(uuid=uuid.uuid4(), well=well, station=well.station_id, author=author, method="scan",
                          device_time=device_time, clock_offset_s=offset,
                          clock_time=device_time + timedelta(seconds=offset))
        _, night = parse_shifts("08:00-20:00 20:00-08:00")
        start, end = window(date(2026, 11, 26), night, TZ)
        codes = sorted(p.well.code for p in shift_patrols(get_well("海1-02").station_id, start, end))
    assert codes == ["海1-02", "海1-03", "海1-04"]


def test_coverage_counts_extra_patrols_once():
    rows = [SimpleNamespace(required=1, done=3), SimpleNamespace(required=2, done=0)]
    assert coverage(rows) == pytest.approx(100 / 3)
    assert coverage([]) == 100.0
