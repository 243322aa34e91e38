"""Dates as people read them."""

from __future__ import annotations

import datetime as dt

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def date_text(value) -> str:
    """A date as the GOV.UK style writes it ("6 January 2025"); anything that is not a date
    is shown unchanged, and nothing as an empty string."""
    if value is None or value == "":
        return ""
    day = value
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    if isinstance(day, dt.datetime):
        day = day.date()
    if not isinstance(day, dt.date):
        return str(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
