"""Dates as people read them."""

from __future__ import annotations

import datetime as dt

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
# Welsh month names, as a date is written in Welsh ("6 Ionawr 2025")
MONTHS_CY = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst",
             "Medi", "Hydref", "Tachwedd", "Rhagfyr")
MONTH_NAMES = {"en": MONTHS, "cy": MONTHS_CY}
# "6 January 2025 at 14:05 (UTC)"
AT = {"en": "{date} at {time} (UTC)", "cy": "{date} am {time} (UTC)"}


def language_now() -> str:
    """The language text is being written in (``i18n.language``)."""
    from .i18n import language

    return language()


def date_text(value, language: str | None = None) -> str:
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
    months = MONTH_NAMES.get(language or language_now(), MONTHS)
    return f"{day.day} {months[day.month - 1]} {day.year}"


def time_text(value, language: str | None = None) -> str:
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
        return date_text(moment, language)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    lang = language or language_now()
    return AT.get(lang, AT["en"]).format(date=date_text(moment, lang), time=f"{moment:%H:%M}")
