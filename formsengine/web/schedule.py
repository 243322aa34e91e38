"""A case's schedule: the occasions of the instruments it follows, each due at its offset
from the date the case was opened (the instrument's own, or the organisation's), done once
an assessment of that instrument at that occasion is finalised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_babel import gettext

from ..occasions import AD_HOC, Occasion, standard_label, with_ad_hoc

DUE_SOON_DAYS = 14


def occasion_label(occasion: str, instrument: Any = None) -> str:
    """What people see for an occasion id: the instrument's own label if it has one."""
    if instrument is not None:
        for o in instrument.declared_occasions:
            if o.id == occasion:
                return gettext(o.label)
    return gettext(standard_label(occasion))


def followed(engine, case: dict[str, Any]) -> list:
    """The installed instruments (newest version) a case follows, in the case's order."""
    out = []
    for inst_id in case.get("instruments") or []:
        if inst_id in engine.instruments:
            out.append(engine.instruments.get(inst_id))
    return out


def occasions_of(engine, inst) -> list[Occasion]:
    """The occasions an assessment of ``inst`` may be started at, with the organisation's
    offsets: its declared ones and ``after_incident``."""
    return with_ad_hoc(engine.occasions_for(inst))


def _status(due: dt.date | None, today: dt.date) -> str:
    if due is None:
        return "upcoming"
    if due < today:
        return "overdue"
    if (due - today).days <= DUE_SOON_DAYS:
        return "due"
    return "upcoming"


def case_schedule(engine, case: dict[str, Any], done: set[tuple[str, str]],
                  today: dt.date, title_of: Callable[[Any], str] | None = None) -> list[dict]:
    """Each scheduled occasion of each instrument the case follows, with its due date and
    status (done, overdue, due, upcoming), in the order they fall due; each instrument by
    ``title_of(inst)`` (the page's reader's words), else its definition's title."""
    rows = []
    for inst in followed(engine, case):
        title = title_of(inst) if title_of is not None else inst.title
        for occ in engine.occasions_for(inst):
            if occ.due is None or occ.id == AD_HOC:
                continue  # used when needed, never due
            due = occ.due_date(case["opened_on"])
            status = "done" if (inst.id, occ.id) in done else _status(due, today)
            rows.append({"instrument": inst.id, "title": title, "occasion": occ.id,
                         "label": f"{title}: {gettext(occ.label)}",
                         "occasion_label": gettext(occ.label),
                         "due": due, "status": status})
    return sorted(rows, key=lambda r: (r["due"] is None, r["due"] or dt.date.min))


def next_due(schedule: list[dict], instrument: str | None = None) -> dict | None:
    """The first entry not done (of one instrument, if given)."""
    return next((s for s in schedule if s["status"] != "done"
                 and (instrument is None or s["instrument"] == instrument)), None)


def default_occasion(engine, inst, schedule: list[dict], done: set[tuple[str, str]]) -> str:
    """The occasion to offer first when starting ``inst``: its next entry due on the case's
    schedule; else its first occasion not done yet; else ``after_incident``."""
    entry = next_due(schedule, inst.id)
    if entry is not None:
        return entry["occasion"]
    for occ in engine.occasions_for(inst):
        if (inst.id, occ.id) not in done and occ.id != AD_HOC:
            return occ.id
    return AD_HOC
