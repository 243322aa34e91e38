"""Occasions: when an instrument is used, and when each scheduled occasion falls due.

An instrument declares its occasions in its definition, each either an identifier
(``"intake"``) or an object with a label and a due offset from the date a case was opened::

    {"id": "review", "label": "Review", "due": {"months": 3}}

An identifier alone takes the standard label and offset of that occasion (below), so older
definitions keep their meaning. An occasion without an offset is used when needed
(``after_incident``) and never falls due on its own. An organisation's configuration can
change the offsets of an instrument's occasions (see ``formsengine.config``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .conditions import add_months

# Used at any time, for any instrument, as often as needed; never scheduled.
AD_HOC = "after_incident"

# Offsets of the standard occasions, for definitions that name an occasion without one.
STANDARD_DUE: dict[str, tuple[str, int]] = {
    "intake": ("months", 0),
    "assessment": ("months", 0),
    "review_3m": ("months", 3),
    "review_6m": ("months", 6),
    "review_9m": ("months", 9),
    "closure": ("months", 10),
    "review": ("months", 3),
    "exit": ("months", 6),
    "week_12": ("weeks", 12),
    "week_32": ("weeks", 32),
}

STANDARD_LABELS = {
    "intake": "Intake", "assessment": "Assessment", "review_3m": "Review at 3 months",
    "review_6m": "Review at 6 months", "review_9m": "Review at 9 months",
    "closure": "Closure", "review": "Review", "exit": "Exit", "week_12": "Week 12",
    "week_32": "Week 32", AD_HOC: "After a new incident",
}

UNITS = ("months", "weeks")
MAX_DUE = {"months": 120, "weeks": 520}  # ten years


def standard_label(occasion: str) -> str:
    return STANDARD_LABELS.get(occasion, occasion.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Occasion:
    """One occasion of one instrument: its id, label and due offset (None: not scheduled)."""

    id: str
    label: str
    due: tuple[str, int] | None = None

    def due_date(self, opened_on: str | dt.date | None) -> dt.date | None:
        if self.due is None or not opened_on:
            return None
        start = dt.date.fromisoformat(opened_on) if isinstance(opened_on, str) else opened_on
        unit, n = self.due
        return add_months(start, n) if unit == "months" else start + dt.timedelta(weeks=n)

    def when(self) -> str:
        """The offset in words: "at opening", "3 months after opening"."""
        if self.due is None:
            return "when needed"
        unit, n = self.due
        if n == 0:
            return "at opening"
        return f"{n} {unit[:-1] if n == 1 else unit} after opening"


def due_from(spec: Any) -> tuple[str, int]:
    """``{"months": 3}`` as ``("months", 3)``; a problem raises ValueError (in words)."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in UNITS:
        raise ValueError("must be a table with one of months or weeks, for example "
                         "{months = 3}")
    unit, n = next(iter(spec.items()))
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_DUE[unit]:
        raise ValueError(f"{unit} must be a whole number from 0 to {MAX_DUE[unit]}, "
                         f"not {n!r}")
    return unit, n


def declared(definition: dict[str, Any]) -> list[Occasion]:
    """The occasions a (schema-valid) definition declares, in its order."""
    out = []
    for entry in definition["occasions"]:
        if isinstance(entry, str):
            due = None if entry == AD_HOC else STANDARD_DUE.get(entry)
            out.append(Occasion(entry, standard_label(entry), due))
        else:
            due = due_from(entry["due"]) if "due" in entry else None
            out.append(Occasion(entry["id"], entry.get("label") or standard_label(entry["id"]),
                                due))
    return out


def with_ad_hoc(occasions: list[Occasion]) -> list[Occasion]:
    """The occasions an assessment may be started at: the declared ones and ``after_incident``."""
    if any(o.id == AD_HOC for o in occasions):
        return list(occasions)
    return [*occasions, Occasion(AD_HOC, standard_label(AD_HOC))]
