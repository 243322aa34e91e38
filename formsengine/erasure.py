"""Erasure and retention.

Erasing a person removes them, their assessments, answers and scores from the database, and
their case links (a case left with nobody in it goes too). With ``secure_delete`` on, freed
pages are overwritten; a ``wal_checkpoint(TRUNCATE)`` afterwards copies the change into the
database file and empties the write-ahead log, so no old copy of the rows stays on disk. The
audit trail keeps a tombstone: who erased which record number, when, why, and how much went
with it, but no content. *Why* is a reason code from a fixed list and the reference number
of the request or decision in the organisation's own records, never free text: the audit is
kept for ever and cannot be edited, so nothing identifying may be typed into it.

Retention periods come from the organisation's configuration::

    [retention]
    draft_days = 90          # drafts not touched for this long are removed
    inactive_person_days = 2555   # people with no assessment for this long are erased

``formsengine retention purge`` applies them (``--dry-run`` only reports).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, StorageError

if TYPE_CHECKING:
    from .store import Store

RETENTION_KEYS = {"draft_days", "inactive_person_days"}

# Why a record is erased: a fixed list, so that the permanent audit keeps no free text.
ERASURE_REASONS: dict[str, str] = {
    "subject_request": "The person asked for their data to be erased",
    "consent_withdrawn": "The person withdrew their consent",
    "recorded_in_error": "Recorded in error (wrong person, duplicate or test record)",
    "no_longer_needed": "No longer needed for the purpose it was collected for",
    "legal_obligation": "A legal obligation or court order",
    "dpo_instruction": "Instructed by the data protection officer",
}
# The request's or decision's number in the organisation's records: an optional prefix of
# 2 to 6 capital letters, then digits, in up to three hyphenated groups (DSAR-2026-0142,
# 4471). Letters only as a short prefix, so that a name cannot be typed as a reference.
REFERENCE = re.compile(r"(?:[A-Z]{2,6}-)?[0-9]{1,10}(?:-[0-9]{1,10}){0,2}")
REFERENCE_EXAMPLE = "DSAR-2026-0142"


def check_reason(reason: str, reference: str, *, record_ref: str | None = None) -> None:
    """Refuse anything but a known reason code and a reference number in the format."""
    if reason not in ERASURE_REASONS:
        raise StorageError(f"unknown reason for an erasure {str(reason)[:40]!r}: give one of "
                           + ", ".join(ERASURE_REASONS))
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise StorageError(
            "an erasure needs the reference number of the request or decision it answers, "
            f"for example {REFERENCE_EXAMPLE} or 4471 (capital-letter prefix, then digits; "
            "no names or other text)")
    if record_ref is not None and reference.upper() == record_ref.upper():
        raise StorageError("the reference is the erased record's own reference: give the "
                           "number of the request or decision instead")


def checkpoint(store: Store) -> None:
    """Move everything into the database file and empty the write-ahead log."""
    busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StorageError(
            "the erasure is committed, but the write-ahead log could not be emptied because "
            "another connection is reading; run 'formsengine erase checkpoint' when it is idle")


def erase_person(store: Store, ref: str, *, actor: str, reason: str, reference: str,
                 request_id: str | None = None, do_checkpoint: bool = True) -> dict[str, Any]:
    """Erase a person. ``reason``: a code of ``ERASURE_REASONS``; ``reference``: the
    request's number (``REFERENCE``)."""
    check_reason(reason, reference, record_ref=ref)
    with store.write():
        person = store.get_person(ref)
        if person is None:
            raise StorageError(f"no person with reference {ref!r}")
        counts = _erase_person_rows(store, person["id"])
        store.audit("erase", actor=actor, object_type="person", object_id=person["id"],
                    request_id=request_id,
                    details={**counts, "reason": reason, "reference": reference})
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
                     reference: str, request_id: str | None = None) -> None:
    """Remove one assessment record (every version of it) and leave a tombstone (reason
    code and reference number as for ``erase_person``)."""
    check_reason(reason, reference)
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
                    details={"versions": len(chain), "reason": reason,
                             "reference": reference})
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
            if person is None:  # erased since the plan was made
                continue
            counts = _erase_person_rows(store, person["id"])
            store.audit("retention_delete", actor=actor, object_type="person",
                        object_id=person["id"],
                        details={"rule": "inactive_person_days", **counts})
    checkpoint(store)
