"""Months in the work area's zone, and the settlement window of the party records.

The 3K+行为 scores of a month are settled early in the next: whatever feeds them (activities and their attendance,
suggestion decisions, deductions) may be recorded or changed for this month and the last one only, so a score
already read out is not rewritten later.
"""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from models import utcnow

SETTLED = _l("已结算的月份（上月以前）不能再登记或修改，以免改动已公布的考核分。")


def month_text(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_start(year: int, month: int, tz: str) -> datetime:
    """Local midnight of the month's first day, as naive UTC."""
    moment = datetime(year, month, 1, tzinfo=ZoneInfo(tz))
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def month_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month in the work area's zone as naive-UTC [start, end)."""
    return month_start(year, month, tz), month_start(*next_month(year, month), tz)


def local_today(moment: datetime, tz: str) -> date:
    """The work area's date at a naive-UTC moment."""
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()


def today_in(tz: str) -> date:
    """The work area's date now."""
    return local_today(utcnow(), tz)


def month_of(moment: datetime, tz: str) -> str:
    """'YYYY-MM' of a naive-UTC moment in the work area's zone."""
    day = local_today(moment, tz)
    return month_text(day.year, day.month)


def open_months(today: date) -> list[str]:
    """The months whose records may still be entered or changed: this one and the one before."""
    return [month_text(today.year, today.month), month_text(*previous_month(today.year, today.month))]


def open_since(today: date, tz: str) -> datetime:
    """The first moment (naive UTC) of the settlement window: local midnight of last month's first day."""
    return month_start(*previous_month(today.year, today.month), tz)
