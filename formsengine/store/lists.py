"""Team lists read and paged in SQL: the due and overdue schedule entries, and the
assessments in progress.

The due list reads the stored schedule (``schedule_entries``, kept by triggers: see
``formsengine.store.schedule``) through its index ``schedule_due`` (team, done, due, case,
instrument, occasion): a page is one index range per team, read in due order up to the
page's size, whatever the size of the team. A supervisor of several teams gets one such
read per team, merged here. A practitioner's own list starts from the cases assigned to
them instead, so its cost follows their caseload.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Store




def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque page marker for an address (a row's sort key, no names or references)."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, types: Sequence[type]) -> list[Any] | None:
    """The sort key in a page marker, or None when it is missing or not one of ours."""
    if not text or len(text) > 400:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(values, list) or len(values) != len(types) or not all(
            isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types)):
        return None
    return values


def due_entries(store: Store, team_ids: list[int], *, until: dt.date,
                user_id: int | None = None, after: str | None = None,
                before: str | None = None, limit: int = 50) -> dict[str, Any]:
    """One page of the schedule entries not done, due on or before ``until``, of the open
    cases of ``team_ids`` (only those assigned to ``user_id`` if given), earliest due
    first. Each row: case_id, uid, ref, practitioner, instrument_id, occasion, due (ISO).
    ``after``/``before`` are the markers ``next``/``prev`` of an earlier page."""
    empty: dict[str, Any] = {"rows": [], "next": None, "prev": None}
    if not team_ids:
        return empty
    key_types = (str, int, str, str)
    mark = decode_cursor(after or before, key_types)
    backward = bool(before) and mark is not None
    order = "DESC" if backward else "ASC"
    page, page_params = "", []
    if mark is not None:
        page = (f" AND (e.due, e.case_id, e.instrument_id, e.occasion)"
                f" {'<' if backward else '>'} (?, ?, ?, ?)")
        page_params = list(mark)
    columns = ("SELECT e.case_id, c.uid, c.ref, u.display_name AS practitioner,"
               " e.instrument_id, e.occasion, e.due")
    sort = (f" ORDER BY e.due {order}, e.case_id {order}, e.instrument_id {order},"
            f" e.occasion {order} LIMIT ?")
    rows: list[dict[str, Any]] = []
    if user_id is not None:
        # the practitioner's own cases: by the assignments, then each case's entries
        teams = ",".join("?" for _ in team_ids)
        rows = store.all(
            f"{columns} FROM web_case_assignments ca"  # nosec B608 (fragments written here)
            " JOIN schedule_entries e ON e.case_id = ca.case_id"
            " JOIN cases c ON c.id = e.case_id LEFT JOIN web_users u ON u.id = ca.user_id"
            f" WHERE ca.user_id = ? AND e.team_id IN ({teams}) AND e.done = 0"
            f" AND e.due <= ?{page}{sort}",
            [user_id, *team_ids, until.isoformat(), *page_params, limit + 1])
    else:
        for team_id in dict.fromkeys(team_ids):  # one index range per team
            rows += store.all(
                f"{columns} FROM schedule_entries e"  # nosec B608 (fragments written here)
                " JOIN cases c ON c.id = e.case_id"
                " LEFT JOIN web_case_assignments ca ON ca.case_id = e.case_id"
                " LEFT JOIN web_users u ON u.id = ca.user_id"
                f" WHERE e.team_id = ? AND e.done = 0 AND e.due <= ?{page}{sort}",
                [team_id, until.isoformat(), *page_params, limit + 1])
        rows.sort(key=lambda r: (r["due"], r["case_id"], r["instrument_id"], r["occasion"]),
                  reverse=backward)
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    if not rows:
        return empty

    def marker(r: dict[str, Any]) -> str:
        return encode_cursor([r["due"], r["case_id"], r["instrument_id"], r["occasion"]])

    has_next = True if backward else more
    has_prev = more if backward else mark is not None
    return {"rows": rows, "next": marker(rows[-1]) if has_next else None,
            "prev": marker(rows[0]) if has_prev else None}


def drafts_in_progress(store: Store, team_ids: list[int], *, user_id: int | None = None,
                       limit: int = 50) -> dict[str, Any]:
    """The oldest ``limit`` assessments started and not finalised in the cases of
    ``team_ids`` (of the cases assigned to ``user_id`` if given), and how many there are."""
    if not team_ids:
        return {"rows": [], "total": 0}
    teams = ",".join("?" for _ in team_ids)
    where = f"a.status = 'draft' AND c.team_id IN ({teams})"
    params: list[Any] = list(team_ids)
    if user_id is not None:
        where += " AND ca.user_id = ?"
        params.append(user_id)
    joins = (" FROM assessments a JOIN cases c ON c.id = a.case_id"
             " LEFT JOIN web_case_assignments ca ON ca.case_id = c.id")
    rows = store.all(
        "SELECT a.uid, a.case_id, a.instrument_id, a.occasion, a.created_at, c.ref,"
        f" c.uid AS case_uid{joins} WHERE {where}"  # nosec B608 (fragments written here)
        " ORDER BY a.created_at, a.id LIMIT ?", [*params, limit])
    total = len(rows)
    if total == limit:
        counted = store.one(f"SELECT COUNT(*) AS n{joins} WHERE {where}",  # nosec B608
                            params)
        total = counted["n"] if counted else 0
    return {"rows": rows, "total": total}
