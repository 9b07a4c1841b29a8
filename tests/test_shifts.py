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


def test_patrols_counted_on_the_server_clock_across_midnight():
    _, night = parse_shifts("08:00-20:00 20:00-08:00")
    start, end = window(date(2026, 11, 26), night, TZ)
    wells = [SimpleNamespace(id=1, patrol_interval_hours=12), SimpleNamespace(id=2, patrol_interval_hours=12),
             SimpleNamespace(id=3, patrol_interval_hours=4)]
    patrols = [
        # 00:30 after midnight, in the night shift of the 26th.
        SimpleNamespace(well_id=1, device_time=utc("2026-11-27T00:30"), clock_offset_s=0),
        # The phone says 19:55 but runs 10 minutes slow: 20:05 on the server's clock, in the night shift.
        SimpleNamespace(well_id=2, device_time=utc("2026-11-26T19:55"), clock_offset_s=600),
        # The phone says 08:03 but runs 5 minutes fast: 07:58, still in the night shift.
        SimpleNamespace(well_id=3, device_time=utc("2026-11-27T08:03"), clock_offset_s=-300),
        # The day shift before: not counted.
        SimpleNamespace(well_id=3, device_time=utc("2026-11-26T19:00"), clock_offset_s=0),
    ]
    rows = shift_table(wells, patrols, night, start, end, utc("2026-11-27T09:00"))
    assert [(r.well.id, r.done, r.required, r.status) for r in rows] == [(1, 1, 1, "done"), (2, 1, 1, "done"), (3, 1, 3, "missed")]
    assert coverage(rows) == pytest.approx(100 * 3 / 5)


def test_coverage_counts_extra_patrols_once():
    rows = [SimpleNamespace(required=1, done=3), SimpleNamespace(required=2, done=0)]
    assert coverage(rows) == pytest.approx(100 / 3)
    assert coverage([]) == 100.0
