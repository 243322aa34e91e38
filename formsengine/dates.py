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


def time_text(value) -> str:
    """A stored moment (ISO 8601, in UTC) as people read it: "6 January 2025 at 14:05
    (UTC)"; nothing as an empty string, anything that is not a moment unchanged."""
    if value is None or value == "":
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if not isinstance(moment, dt.datetime):
        return date_text(moment)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return f"{date_text(moment)} at {moment:%H:%M} (UTC)"
