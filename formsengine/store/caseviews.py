"""What the case and assessment pages read and write beyond the ``Store``'s own methods:
a case's people, assessments and practitioner, the practitioners a case may be assigned
to, an assessment's opaque id and revision, and the counts the research page shows.

Functions that write assume they run inside the caller's ``store.write()`` block.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .sql import in_list

if TYPE_CHECKING:
    from . import Store


# -- cases --------------------------------------------------------------------------------
def case_ref_taken(store: Store, ref: str) -> bool:
    """Whether a case already has this reference."""
    return store.one("SELECT 1 AS x FROM cases WHERE ref = ?", [ref]) is not None


def case_uid(store: Store, case_id: int) -> str | None:
    """The case's opaque id (for its address), or None when there is no such case."""
    row = store.one("SELECT uid FROM cases WHERE id = ?", [case_id])
    return row["uid"] if row else None


def team_name(store: Store, team_id: int | None) -> str | None:
    """The team's name, or None (no team, or no such team)."""
    row = store.one("SELECT name FROM teams WHERE id = ?", [team_id])
    return row["name"] if row else None


def case_people(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The people of the case (id, ref, role, display_name), victim-survivor first."""
    return store.all(
        "SELECT p.id, p.ref, p.role, p.display_name FROM case_people cp"
        " JOIN people p ON p.id = cp.person_id WHERE cp.case_id = ? ORDER BY p.role DESC",
        [case_id])


def case_roles(store: Store, case_id: int) -> set[str]:
    """The roles of the people on the case."""
    return {r["role"] for r in store.all(
        "SELECT role FROM case_people WHERE case_id = ?", [case_id])}


def case_has_role(store: Store, case_id: int, role: str) -> bool:
    """Whether someone is on the case in this role."""
    return store.one("SELECT 1 AS x FROM case_people WHERE case_id = ? AND role = ?",
                     [case_id, role]) is not None


def case_assessments(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The case's assessments, oldest first, as its page lists them: uid, person_id,
    instrument_id, instrument_version, occasion, status, assessment_date, version_no,
    created_at, the latest score's ``level_final`` (None for a draft) and ``draft_result``
    (JSON text)."""
    return store.all(
        "SELECT a.uid, a.person_id, a.instrument_id, a.instrument_version, a.occasion, a.status,"
        " a.assessment_date, a.version_no, a.created_at, s.level_final, a.draft_result"
        " FROM assessments a"
        " LEFT JOIN scores s ON s.assessment_id = a.id AND s.seq = (SELECT MAX(seq)"
        " FROM scores WHERE assessment_id = a.id) WHERE a.case_id = ?"
        " ORDER BY a.created_at, a.id", [case_id])


# -- practitioners ------------------------------------------------------------------------
def case_practitioner(store: Store, case_id: int) -> dict[str, Any] | None:
    """The user the case is assigned to (id and display_name), or None."""
    return store.one(
        "SELECT u.id, u.display_name FROM web_case_assignments ca JOIN web_users u"
        " ON u.id = ca.user_id WHERE ca.case_id = ?", [case_id])


def team_practitioners(store: Store, team_ids: Collection[int]) -> list[dict[str, Any]]:
    """The practitioners and supervisors (id, display_name) of any of ``team_ids`` whose
    accounts are not disabled, each once, by name: who a case may be assigned to."""
    if not team_ids:
        return []
    teams, params = in_list(team_ids)
    return store.all(
        "SELECT DISTINCT u.id, u.display_name FROM web_users u JOIN web_memberships m"
        f" ON m.user_id = u.id WHERE m.team_id IN {teams} AND u.disabled = 0"  # nosec B608
        " AND u.role IN ('practitioner', 'supervisor') ORDER BY u.display_name", params)


def assign_case(store: Store, case_id: int, user_id: int) -> None:
    """Assign the case to the user, in place of whoever had it. Inside the caller's write."""
    store.conn.execute(
        "INSERT INTO web_case_assignments (case_id, user_id) VALUES (?, ?)"
        " ON CONFLICT (case_id) DO UPDATE SET user_id = excluded.user_id", [case_id, user_id])


# -- assessments --------------------------------------------------------------------------
def assessment_id(store: Store, uid: str) -> int | None:
    """The id of the assessment with this opaque id, or None."""
    row = store.one("SELECT id FROM assessments WHERE uid = ?", [uid])
    return row["id"] if row else None


def assessment_uid(store: Store, assessment_id: int) -> str | None:
    """The assessment's opaque id (for its address), or None."""
    row = store.one("SELECT uid FROM assessments WHERE id = ?", [assessment_id])
    return row["uid"] if row else None


def assessment_revision(store: Store, assessment_id: int) -> int | None:
    """The assessment's revision as stored now (it grows at each save of a draft), or None."""
    row = store.one("SELECT revision FROM assessments WHERE id = ?", [assessment_id])
    return row["revision"] if row else None


def amendment_uid(store: Store, assessment_id: int) -> str | None:
    """The opaque id of the version that amended (replaced) this one, or None."""
    row = store.one("SELECT uid FROM assessments WHERE supersedes_id = ?", [assessment_id])
    return row["uid"] if row else None


# -- the research page --------------------------------------------------------------------
def final_assessment_counts(store: Store) -> list[dict[str, Any]]:
    """Per instrument and occasion with final assessments: instrument_id, occasion and
    ``people``, the number of people assessed (counts only, no case content): read from
    the counts the database keeps (``store.counts``), not counted at each request."""
    from .counts import stored

    return stored(store)
