"""The one clock: now, today, local time and working days.

Stored datetimes are naive UTC (`utcnow`); the bureaus live and work in Asia/Shanghai, so every date a user
types or reads (a deadline, 'today', the end of a public notice) is local. Nothing else in the package adds
hours by hand or builds a time zone. Tests move this clock with time-machine, which every function here follows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Naive UTC 'now', as every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(value: datetime) -> datetime:
    """A stored naive UTC time → naive Asia/Shanghai time (as shown and as the calendar counts)."""
    return value.replace(tzinfo=UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)


def to_utc(value: datetime) -> datetime:
    """A naive Asia/Shanghai time (as typed in a form) → naive UTC (as stored)."""
    return value.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def local_now() -> datetime:
    return to_local(utcnow())


def local_today() -> date:
    """Today in Shangrao: a payment dated 'today' at 07:00 local time is not tomorrow's in UTC, nor yesterday's."""
    return local_now().date()


def local_date(value: datetime) -> date:
    """The local calendar day of a stored naive UTC time."""
    return to_local(value).date()


def start_of_local_day(day: date) -> datetime:
    """The first instant of a local calendar day, in naive UTC (for 'from this day on' filters)."""
    return to_utc(datetime(day.year, day.month, day.day))


def start_of_local_year(year: int) -> datetime:
    """1 January of `year`, 00:00 local time, in naive UTC (a term starts and ends on this boundary)."""
    return to_utc(datetime(year, 1, 1))


def days_after(value: datetime, days: int) -> date:
    """The local calendar day `days` days after the local day of the stored time `value` (payment due dates)."""
    return local_date(value) + timedelta(days=days)


# --- working days: Monday to Friday, less the holidays a caller passes in ---------------------------------

def is_working_day(day: date, holidays: Iterable[date] = ()) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """The date `days` working days after `start` (start itself not counted); `start` for 0 days."""
    closed = set(holidays)
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in closed:
            days -= 1
    return current
