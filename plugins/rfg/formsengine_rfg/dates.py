"""Calendar-month arithmetic used by the ranking and the harm blocks.

"N months before a date" is the same day of the month N months earlier, moved back to the
last day of that month when it has fewer days (31 March minus one month is 28 or 29
February). Every window and band in this plugin is defined with this one rule.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MIN_YEAR, MAX_YEAR = 1900, 2999


def parse_iso_date(text: str) -> dt.date:
    """A date written exactly ``YYYY-MM-DD`` in the years 1900 to 2999; ``ValueError`` with a
    readable message otherwise."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("is not a date written YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a real calendar date") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"is outside the years {MIN_YEAR} to {MAX_YEAR} (a mistyped year?)")
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (negative: earlier), clamped to month end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise ValueError(f"{day.isoformat()} moved by {months} months is outside the calendar")
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last))


def months_since(earlier: dt.date, as_of: dt.date) -> int:
    """The smallest N such that ``earlier`` falls on or after ``as_of`` minus N months.

    0 means on the as-of date itself; 1 means within the last month (on or after the same
    day one month earlier); 2 means more than one month and at most two months ago; and so
    on. ``earlier`` must not be after ``as_of``.
    """
    if earlier > as_of:
        raise ValueError("date is after the as-of date")
    n = max(0, (as_of.year - earlier.year) * 12 + (as_of.month - earlier.month) - 1)
    while add_months(as_of, -n) > earlier:
        n += 1
    return n
