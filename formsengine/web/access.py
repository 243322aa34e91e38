"""Access control: roles, and records reached only through the user's teams.

A record of another team, a record that does not exist and a malformed id all get the same
404, and the denial is audited.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from flask import abort, g

from ..store.access import assessment_and_case_in_teams, case_in_teams
from .db import get_store

CASE_ROLES = ("practitioner", "supervisor")


def store():
    return get_store()


def roles_required(*roles: str):
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if g.user["role"] not in roles:
                audit_denial("role", None, {"needs": list(roles)})
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def _printable(text: str) -> str:
    """``text`` with control characters (a NUL sent in an address) as U+FFFD: the audit
    keeps what was asked for without them (PostgreSQL's text cannot hold a NUL)."""
    return "".join("\ufffd" if ord(c) < 0x20 or ord(c) == 0x7f else c for c in text)


def audit_denial(object_type: str, uid: str | None, details: dict | None = None) -> None:
    store().audit("deny", actor=g.user["username"], object_type=object_type,
                  object_id=_printable(uid[:64]) if uid else None, request_id=g.request_id,
                  details=details)


def can_see_cases() -> bool:
    """Administrators and researchers see no case content unless also a practitioner or
    supervisor; case access is by team membership only."""
    return g.user["role"] in CASE_ROLES


def team_ids() -> list[int]:
    return list(g.teams) if can_see_cases() else []


def case_or_404(uid: str) -> dict[str, Any]:
    teams = team_ids()
    row = None
    if teams and isinstance(uid, str) and len(uid) <= 64:
        row = case_in_teams(store(), uid, teams)
    if row is None:
        audit_denial("case", uid)
        abort(404)
    row["schedule"] = json.loads(row["schedule"])
    row["instruments"] = json.loads(row["instruments"])
    return row


def assessment_or_404(uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(assessment, case) for an assessment of a case in one of the user's teams."""
    teams = team_ids()
    found = None
    if teams and isinstance(uid, str) and len(uid) <= 64:
        found = assessment_and_case_in_teams(store(), uid, teams)
    if found is None:
        audit_denial("assessment", uid)
        abort(404)
    assessment, case = found
    case["schedule"] = json.loads(case["schedule"])
    case["instruments"] = json.loads(case["instruments"])
    return assessment, case


def audit_view(object_type: str, object_id: Any, what: str = "view") -> None:
    """Record a view (or a list: ``what="list"``) in the view log, which is sealed into the
    audit chain in batches: the page does not wait on the chain's lock."""
    store().log_view(what, actor=g.user["username"], object_type=object_type,
                  object_id=object_id, request_id=g.request_id)
