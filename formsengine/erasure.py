"""Erasure and retention.

Erasing a person removes them, their assessments, answers and scores from the database, and
their case links (a case left with nobody in it goes too). With ``secure_delete`` on, freed
pages are overwritten; a ``wal_checkpoint(TRUNCATE)`` afterwards copies the change into the
database file and empties the write-ahead log, so no old copy of the rows stays on disk. The
audit trail keeps a tombstone: who erased which record number, when, why, and how much went
with it, but no content.

Retention periods come from the organisation's configuration::

    [retention]
    draft_days = 90          # drafts not touched for this long are removed
    inactive_person_days = 2555   # people with no assessment for this long are erased

``formsengine retention purge`` applies them (``--dry-run`` only reports).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, StorageError

if TYPE_CHECKING:
    from .store import Store

RETENTION_KEYS = {"draft_days", "inactive_person_days"}


def checkpoint(store: Store) -> None:
    """Move everything into the database file and empty the write-ahead log."""
    busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StorageError(
            "the erasure is committed, but the write-ahead log could not be emptied because "
            "another connection is reading; run 'formsengine erase checkpoint' when it is idle")


def erase_person(store: Store, ref: str, *, actor: str, reason: str,
                 request_id: str | None = None, do_checkpoint: bool = True) -> dict[str, Any]:
    if not reason or not reason.strip():
        raise StorageError("an erasure needs a reason (for example the request it answers)")
    with store.write():
        person = store.get_person(ref)
        if person is None:
            raise StorageError(f"no person with reference {ref!r}")
        counts = _erase_person_rows(store, person["id"])
        store.audit("erase", actor=actor, object_type="person", object_id=person["id"],
                    request_id=request_id, details={**counts, "reason": reason.strip()})
    if do_checkpoint:
        checkpoint(store)
    return counts


def _erase_person_rows(store: Store, person_id: int) -> dict[str, int]:
    conn = store.conn
    assessments = conn.execute("SELECT COUNT(*) FROM assessments WHERE person_id = ?",
                               [person_id]).fetchone()[0]
    cases = [r[0] for r in conn.execute(
        "SELECT case_id FROM case_people WHERE person_id = ?", [person_id])]
    # Assessments go first (answers, scores and score values cascade with them).
    conn.execute("DELETE FROM assessments WHERE person_id = ?", [person_id])
    conn.execute("DELETE FROM case_people WHERE person_id = ?", [person_id])
    conn.execute("DELETE FROM people WHERE id = ?", [person_id])
    emptied = 0
    for case_id in cases:
        left = conn.execute("SELECT COUNT(*) FROM case_people WHERE case_id = ?",
                            [case_id]).fetchone()[0]
        if not left:
            conn.execute("DELETE FROM assessments WHERE case_id = ?", [case_id])
            conn.execute("DELETE FROM cases WHERE id = ?", [case_id])
            emptied += 1
    return {"assessments": assessments, "cases_removed": emptied}


def erase_assessment(store: Store, assessment_id: int, *, actor: str, reason: str,
                     request_id: str | None = None) -> None:
    """Remove one assessment record (every version of it) and leave a tombstone."""
    if not reason or not reason.strip():
        raise StorageError("an erasure needs a reason")
    with store.write():
        row = store.one("SELECT id, supersedes_id FROM assessments WHERE id = ?",
                        [assessment_id])
        if row is None:
            raise StorageError(f"no assessment {assessment_id}")
        chain = _version_chain(store, assessment_id)
        for aid in sorted(chain, reverse=True):
            store.conn.execute("DELETE FROM assessments WHERE id = ?", [aid])
        store.audit("erase", actor=actor, object_type="assessment", object_id=assessment_id,
                    request_id=request_id,
                    details={"versions": len(chain), "reason": reason.strip()})
    checkpoint(store)


def _version_chain(store: Store, assessment_id: int) -> set[int]:
    """Every version linked to this assessment by amendments, older and newer."""
    seen: set[int] = set()
    todo = [assessment_id]
    while todo:
        aid = todo.pop()
        if aid in seen:
            continue
        seen.add(aid)
        row = store.one("SELECT supersedes_id FROM assessments WHERE id = ?", [aid])
        if row and row["supersedes_id"]:
            todo.append(row["supersedes_id"])
        todo += [r["id"] for r in store.all(
            "SELECT id FROM assessments WHERE supersedes_id = ?", [aid])]
    return seen


@dataclass
class PurgePlan:
    drafts: list[int]
    people: list[str]


def retention_settings(raw: dict[str, Any]) -> dict[str, int]:
    section = raw.get("retention", {})
    if not isinstance(section, dict):
        raise ConfigError("[retention] must be a table")
    unknown = set(section) - RETENTION_KEYS
    if unknown:
        raise ConfigError(f"[retention]: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(RETENTION_KEYS))})")
    out = {}
    for key, value in section.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"[retention] {key} must be a whole number of days, at least 1")
        out[key] = value
    return out


def plan_purge(store: Store, settings: dict[str, int], today: dt.date) -> PurgePlan:
    drafts: list[int] = []
    people: list[str] = []
    if "draft_days" in settings:
        cutoff = (today - dt.timedelta(days=settings["draft_days"])).isoformat()
        drafts = [r["id"] for r in store.all(
            "SELECT id FROM assessments WHERE status = 'draft' AND updated_at < ?", [cutoff])]
    if "inactive_person_days" in settings:
        cutoff = (today - dt.timedelta(days=settings["inactive_person_days"])).isoformat()
        people = [r["ref"] for r in store.all(
            "SELECT p.ref FROM people p WHERE p.created_at < ? AND NOT EXISTS ("
            " SELECT 1 FROM assessments a WHERE a.person_id = p.id AND"
            " COALESCE(a.assessment_date, substr(a.updated_at, 1, 10)) >= ?)",
            [cutoff, cutoff])]
    return PurgePlan(drafts, people)


def purge(store: Store, plan: PurgePlan, *, actor: str) -> None:
    with store.write():
        for aid in plan.drafts:
            store.conn.execute("DELETE FROM assessments WHERE id = ? AND status = 'draft'",
                               [aid])
            store.audit("retention_delete", actor=actor, object_type="assessment",
                        object_id=aid, details={"rule": "draft_days"})
        for ref in plan.people:
            person = store.get_person(ref)
            counts = _erase_person_rows(store, person["id"])
            store.audit("retention_delete", actor=actor, object_type="person",
                        object_id=person["id"],
                        details={"rule": "inactive_person_days", **counts})
    checkpoint(store)
