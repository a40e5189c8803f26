"""Calendar rules for seizure terms: Beijing dates, the last day of a term, and the instant it ends.

A term is counted in whole Beijing days, one of two ways (SPEC §4.3):
- an effective seizure's from the day it was served, that day not counted (the Civil Procedure Law's period
  rules; Civil Code art. 201): a term of N months ends on the day of the last month that corresponds to the
  day of service, or on that month's last day when it has no such day (Civil Code art. 202);
- a queued seizure's from the day it becomes effective, that day counted: it ends on the eve of the
  corresponding day N months on, a day the month lacks being the first of the next month.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
EXPIRING_WINDOW = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)


def beijing_date(instant: datetime) -> date:
    """The calendar date in Beijing at an instant."""
    return instant.astimezone(BEIJING).date()


def end_of_term(term_end: date) -> datetime:
    """A term ends at 24:00 Beijing time on its last day, i.e. 00:00 of the next day."""
    return datetime.combine(term_end + timedelta(days=1), time(0), BEIJING).astimezone(timezone.utc)


def _month_on(day: date, months: int) -> tuple[int, int, int]:
    """The year and month `months` after `day`'s, and that month's number of days."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return year, month, calendar.monthrange(year, month)[1]


def last_day_after_service(served_on: date, months: int) -> date:
    """The last day of an N-month term counted from the day after `served_on` (Civil Code arts. 201–202).

    Served 10 Jan 2026, 24 months: 10 Jan 2028; served 29 Feb 2028, 24 months: 28 Feb 2030; served
    31 Aug 2026, 6 months: 28 Feb 2027.
    """
    year, month, days = _month_on(served_on, months)
    return date(year, month, min(served_on.day, days))


def last_day_counting(first_day: date, months: int) -> date:
    """The last day of an N-month term whose first day counts: the eve of the same day N months on.

    From 10 Jan 2026, 24 months: 9 Jan 2028; from 1 Mar 2026: 29 Feb 2028; from 29 Feb 2028 (whose
    day two years on is 1 March): 28 Feb 2030.
    """
    year, month, days = _month_on(first_day, months)
    if first_day.day > days:  # the same day would be the first of the next month: its eve is this month's last
        return date(year, month, days)
    return date(year, month, first_day.day) - timedelta(days=1)


def term_days(first_day: date, last_day: date) -> int:
    """The days from `first_day` to `last_day`, both counted."""
    return (last_day - first_day).days + 1


def term_end_from(first_day: date, days: int | None, max_months: int | None) -> date | None:
    """The last day of a term of `days` days (None: the maximum) whose first day is `first_day`, never beyond
    a maximum of `max_months` months (None: there is none); None: the term has no fixed last day."""
    limit = None if max_months is None else last_day_counting(first_day, max_months)
    if days is None:
        return limit
    last_day = first_day + timedelta(days=days - 1)
    return last_day if limit is None else min(last_day, limit)
