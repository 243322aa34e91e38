"""When each occasion of a case is due: from the case's open date and the occasion."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..conditions import add_months

# Offsets from the date the case was opened: ("months", n) or ("weeks", n).
OFFSETS: dict[str, tuple[str, int]] = {
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
DUE_SOON_DAYS = 14

LABELS = {
    "intake": "Intake", "assessment": "Assessment", "review_3m": "Review at 3 months",
    "review_6m": "Review at 6 months", "review_9m": "Review at 9 months",
    "closure": "Closure", "review": "Review", "exit": "Exit", "week_12": "Week 12",
    "week_32": "Week 32", "after_incident": "After a new incident",
}


def occasion_label(occasion: str) -> str:
    return LABELS.get(occasion, occasion.replace("_", " ").capitalize())


def due_date(opened_on: str | None, occasion: str) -> dt.date | None:
    if not opened_on or occasion not in OFFSETS:
        return None
    start = dt.date.fromisoformat(opened_on)
    unit, n = OFFSETS[occasion]
    return add_months(start, n) if unit == "months" else start + dt.timedelta(weeks=n)


def schedulable(occasions: list[str]) -> list[str]:
    """Occasions in the standard order, then any others, ad-hoc ones left out."""
    known = [o for o in OFFSETS if o in occasions]
    return known + sorted(o for o in occasions if o not in OFFSETS and o != "after_incident")


def case_schedule(case: dict[str, Any], done: set[str], today: dt.date) -> list[dict]:
    """Each scheduled occasion with its due date and status: done, overdue, due, upcoming."""
    rows = []
    for occasion in case["schedule"]:
        due = due_date(case["opened_on"], occasion)
        if occasion in done:
            status = "done"
        elif due is None:
            status = "upcoming"
        elif due < today:
            status = "overdue"
        elif (due - today).days <= DUE_SOON_DAYS:
            status = "due"
        else:
            status = "upcoming"
        rows.append({"occasion": occasion, "label": occasion_label(occasion), "due": due,
                     "status": status})
    # in the order they fall due (those without a due date last), whatever order the
    # occasions were chosen in
    return sorted(rows, key=lambda r: (r["due"] is None, r["due"] or dt.date.min))
