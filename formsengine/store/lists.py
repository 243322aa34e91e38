"""Team lists computed and paged in SQL: the due and overdue schedule entries, and the
assessments in progress.

A case's schedule is not stored: each entry is an occasion of an instrument the case
follows, due at an offset from the date the case was opened (the organisation's
configuration may change offsets), and done once an assessment of that instrument and
occasion is final. The due list works that out in one query over the cases of the teams
asked for, with the offsets passed in as a table of values, so that sorting, the
"due within N days" filter and keyset paging all happen in the database and a page costs
one page of rows in Python, however large the team.

Dates as Python's ``add_months`` makes them: a month offset from the 31st lands on the
last day of a shorter month (31 January + 1 month = 28 or 29 February), as
``Occasion.due_date`` does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .sql import json_array_items, no_index, offset_date

if TYPE_CHECKING:
    from . import Store

# (instrument id, occasion id, unit "months" or "weeks", number)
Offset = tuple[str, str, str, int]



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


def due_entries(store: Store, team_ids: list[int], offsets: Sequence[Offset], *,
                until: dt.date, user_id: int | None = None, after: str | None = None,
                before: str | None = None, limit: int = 50) -> dict[str, Any]:
    """One page of the schedule entries not done, due on or before ``until``, of the open
    cases of ``team_ids`` (only those assigned to ``user_id`` if given), earliest due
    first. Each row: case_id, uid, ref, practitioner, instrument_id, occasion, due (ISO).
    ``after``/``before`` are the markers ``next``/``prev`` of an earlier page."""
    empty: dict[str, Any] = {"rows": [], "next": None, "prev": None}
    offsets = [o for o in offsets if o[2] in ("months", "weeks")]
    if not team_ids or not offsets:
        return empty
    key_types = (str, int, str, str)
    mark = decode_cursor(after or before, key_types)
    backward = bool(before) and mark is not None
    teams = ",".join("?" for _ in team_ids)
    values = ",".join("(?, ?, ?, CAST(? AS INTEGER))" for _ in offsets)
    due = offset_date(store.conn, "c.opened_on", "occ.unit", "occ.n")

    def plain(column: str) -> str:
        return no_index(store.conn, column)
    params: list[Any] = [v for o in offsets for v in o] + list(team_ids)
    mine = ""
    if user_id is not None:
        mine = " AND ca.user_id = ?"
        params.append(user_id)
    params.append(until.isoformat())
    page = ""
    if mark is not None:
        page = f" AND (due, case_id, instrument_id, occasion) {'<' if backward else '>'}" \
               " (?, ?, ?, ?)"
        params += mark
    order = "DESC" if backward else "ASC"
    rows = store.all(
        f"WITH occ(instrument_id, occasion, unit, n) AS (VALUES {values}),"  # nosec B608
        " entries AS (SELECT c.id AS case_id, c.uid, c.ref, u.display_name AS practitioner,"
        f" occ.instrument_id, occ.occasion, {due} AS due"
        f" FROM cases c JOIN {json_array_items(store.conn, 'c.instruments', 'ji')} ON 1 = 1"
        " JOIN occ ON occ.instrument_id = ji.value"
        " LEFT JOIN web_case_assignments ca ON ca.case_id = c.id"
        " LEFT JOIN web_users u ON u.id = ca.user_id"
        f" WHERE c.team_id IN ({teams}) AND c.status = 'open'"
        f" AND c.opened_on IS NOT NULL{mine}"
        # by the case's own few assessments (the unary + keeps SQLite from choosing the
        # status/instrument/occasion index, which would read every final assessment of
        # that occasion for each entry)
        " AND NOT EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = c.id"
        f" AND {plain('a.instrument_id')} = occ.instrument_id"
        f" AND {plain('a.occasion')} = occ.occasion AND {plain('a.status')} = 'final'))"
        f" SELECT * FROM entries WHERE due <= ?{page}"
        f" ORDER BY due {order}, case_id {order}, instrument_id {order}, occasion {order}"
        " LIMIT ?", [*params, limit + 1])
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
