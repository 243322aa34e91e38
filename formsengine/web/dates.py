"""Dates entered the GOV.UK way: three boxes for day, month and year.

A date field named ``NAME`` is shown as boxes named ``NAME-day``, ``NAME-month`` and
``NAME-year``. The field reads them as one ISO date (YYYY-MM-DD), so everything after it
(validators, the definition checks, storage) sees the same value as before. A single value
posted under ``NAME`` itself is still accepted, for scripts and for pages opened before an
upgrade. What was typed is shown again when it is refused, with one plain message saying
what is wrong, as the GOV.UK date input pattern asks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import DateField, Field, StringField
from wtforms.utils import unset_value

PARTS = ("day", "month", "year")
EXAMPLE = _l("For example, 27 3 2025")
PART_NAMES = {"day": _l("a day"), "month": _l("a month"), "year": _l("a year")}


def read_parts(typed: list[str], label: str) -> tuple[str | None, str | None]:
    """(ISO date, None) for a real date, (None, problem) otherwise; (None, None) when
    nothing was typed."""
    day, month, year = (t.strip() for t in typed)
    if not (day or month or year):
        return None, None
    missing = [name for name, value in zip(PARTS, (day, month, year)) if not value]
    if missing:
        return None, _("%(label)s must include %(parts)s", label=label,
                       parts=_(" and ").join(str(PART_NAMES[m]) for m in missing))
    if not all(p.isascii() and p.isdigit() for p in (day, month, year)) or max(
            len(day), len(month)) > 2:
        return None, _("%(label)s must be a real date, written in numbers", label=label)
    if len(year) != 4:
        return None, _("Year must include 4 numbers")
    try:
        return dt.date(int(year), int(month), int(day)).isoformat(), None
    except ValueError:
        return None, _("%(label)s must be a real date", label=label)


def parts_of(field) -> tuple[str, str, str]:
    """What to show in the three boxes: what was typed when it was refused, else the
    field's date."""
    typed = getattr(field, "typed", None)
    if typed:
        return tuple(typed)
    value = field.data
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            return "", "", ""
    if isinstance(value, dt.date):
        return str(value.day), str(value.month), str(value.year)
    return "", "", ""


class DatePartsMixin(Field):
    """Reads a WTForms date field from the three GOV.UK boxes (see the module's text)."""

    typed: list[str] | None = None
    data: Any  # a date, a string or None, by the field the mixin is used with
    # put before the label where a message names the question: an instance of a repeating
    # group's date is "Child 2: Date of birth", its label on the page only "Date of birth"
    named_prefix: str = ""

    def process(self, formdata, data=unset_value, extra_filters=None):
        problem = None
        self.typed = None
        if formdata is not None and self.name not in formdata:
            typed = [formdata.get(f"{self.name}-{part}", "") for part in PARTS]
            if any(t.strip() for t in typed):
                value, problem = read_parts(typed, self.named_prefix + self.label.text)
                formdata = MultiDict({self.name: value or ""})
                if problem:
                    self.typed = typed
        super().process(formdata, data, extra_filters)
        if problem:
            # something was typed (a "required" check is satisfied) but it is not a date:
            # one message, and no value for the checks that follow
            self.raw_data = [" ".join(self.typed or ())]
            self.data = None
            self.process_errors = [problem]


class DatePartsField(DatePartsMixin, DateField):
    """A date (``datetime.date``) entered in three boxes."""


class DatePartsText(DatePartsMixin, StringField):
    """A date kept as its ISO text (for instrument fields, checked against the definition)
    entered in three boxes."""

    def __init__(self, *args: Any, named_prefix: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.named_prefix = named_prefix
