"""Calendar rules for seizure terms: Beijing dates, statutory maxima, and the instant a term ends."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_TERM_YEARS = {"movable": 2, "real_estate": 3, "deposit": 1}
PROPERTY_CLASSES = tuple(MAX_TERM_YEARS)
EXPIRING_WINDOW = timedelta(days=30)
CLOCK_SKEW = timedelta(minutes=5)


def beijing_date(instant: datetime) -> date:
    """The calendar date in Beijing at an instant."""
    return instant.astimezone(BEIJING).date()


def end_of_term(term_end: date) -> datetime:
    """A term ends at 24:00 Beijing time on its last day, i.e. 00:00 of the next day."""
    return datetime.combine(term_end + timedelta(days=1), time(0), BEIJING).astimezone(timezone.utc)


def anniversary(day: date, years: int) -> date:
    """The same date `years` later; 29 February's anniversary in a common year is 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def max_term_end(start: date, property_class: str) -> date:
    """The last day of a statutory maximum term from `start`: the eve of its anniversary.

    A 2-year term from 10 Jan 2026 ends 9 Jan 2028; from 1 Mar 2026, 29 Feb 2028; from 29 Feb 2028, 28 Feb 2030.
    """
    return anniversary(start, MAX_TERM_YEARS[property_class]) - timedelta(days=1)


def term_days(start: date, last_day: date) -> int:
    return (last_day - start).days + 1


def term_end_from(start: date, days: int | None, property_class: str) -> date:
    """The last day of a term of `days` days (None: the maximum) from `start`, never beyond the maximum."""
    limit = max_term_end(start, property_class)
    return limit if days is None else min(start + timedelta(days=days - 1), limit)
