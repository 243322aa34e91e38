"""Who may see which case: a case or an assessment is found only through the teams of the
user asking, so that a record of another team reads as one that does not exist."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from . import tables
from .sql import in_list

if TYPE_CHECKING:
    from . import Store

_UID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_uid(text: str) -> bool:
    """Whether ``text`` could be an opaque id (``new_uid``: URL-safe base64)."""
    return bool(_UID.fullmatch(text))


def case_in_teams(store: Store, uid: str, team_ids: Collection[int]) -> dict[str, Any] | None:
    """The row of the case with this opaque id when it belongs to one of ``team_ids``
    (``schedule`` and ``instruments`` as stored JSON text), else None."""
    if not is_uid(uid):
        return None  # no stored id looks like this (and PostgreSQL's text holds no NUL)
    teams, params = in_list(team_ids)
    return store.one(
        f"SELECT * FROM cases WHERE uid = ? AND team_id IN {teams}",  # nosec B608
        [uid, *params])


def assessment_and_case_in_teams(store: Store, uid: str, team_ids: Collection[int]
                                 ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """For an assessment's opaque id, when its case belongs to one of ``team_ids``: the
    assessment (as ``store.get_assessment`` gives it) and its case's row (``schedule`` and
    ``instruments`` as stored JSON text), read together in one statement; else None."""
    if not is_uid(uid) or not team_ids:
        return None
    teams, params = in_list(team_ids)
    row = store.one(store.assessment_query(
        f"a.uid = ? AND c.team_id IN {teams}", columns=_CASE_COLUMNS,
        joins=" JOIN cases c ON c.id = a.case_id"), [uid, *params])
    if row is None:
        return None
    case = {name: row.pop(_CASE_PREFIX + name) for name in _CASE_NAMES}
    return store.assessment_from_row(row), case


# The case's columns in ``assessment_and_case_in_teams``' row, named apart from the
# assessment's own (which has ``case_id``, ``uid``, ``status``...)
_CASE_PREFIX = "fe_case__"
_CASE_NAMES = tuple(column.name for column in tables.cases.c)
_CASE_COLUMNS = "".join(f', c."{name}" AS "{_CASE_PREFIX}{name}"' for name in _CASE_NAMES)
