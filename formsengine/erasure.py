"""Erasure and retention.

Erasing a person removes them, their assessments, answers and scores from the database, and
their case links (a case left with nobody in it goes too). On SQLite, with ``secure_delete``
on, freed pages are overwritten; a ``wal_checkpoint(TRUNCATE)`` afterwards copies the change
into the database file and empties the write-ahead log, so no old copy of the rows stays in
the database's files. On PostgreSQL the tables the erasure touched are vacuumed once it has
committed; what that does and does not clear is in docs/deployment.md. Each erasure returns
a sentence saying what remains where, which the commands print. The audit trail (the
hash-chained rows and the view log of page views sealed into them) is kept as it is: its rows
name records by internal number only, never by content. It keeps a tombstone: who erased
which record number, when, why, and how much went with it, but no content. *Why* is a
reason code from a fixed list and the reference number of the request or decision in the
organisation's own records, never free text: the audit is kept for ever and cannot be
edited, so nothing identifying may be typed into it.

Retention periods come from the organisation's configuration::

    [retention]
    draft_days = 90          # drafts not touched for this long are removed
    inactive_person_days = 2555   # people with no assessment for this long are erased

``formsengine retention purge`` applies them (``--dry-run`` only reports).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, StorageError

if TYPE_CHECKING:
    from .store import Store

RETENTION_KEYS = {"draft_days", "inactive_person_days"}

# Why a record is erased: a fixed list, so that the permanent audit keeps no free text.
def _erasing() -> Any:
    """The store's erasure functions, imported when first needed: the command line's help
    reads this module's reason codes without loading the database libraries."""
    from .store import erasing

    return erasing


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
    """Move everything into the database file and empty the write-ahead log (SQLite; on
    PostgreSQL there is nothing to do)."""
    if not _erasing().empty_write_ahead_log(store):
        raise StorageError(
            "the erasure is committed, but the write-ahead log could not be emptied because "
            "another connection is reading; run 'formsengine erase checkpoint' when it is idle")


def clear_after(store: Store, tables: Iterable[str], *, do_checkpoint: bool = True) -> str:
    """After an erasure has committed: empty SQLite's write-ahead log (``do_checkpoint``),
    VACUUM the ``tables`` it touched on PostgreSQL, and say what remains where."""
    if do_checkpoint:
        checkpoint(store)
    return _erasing().vacuum_erased(store, tables, wal_emptied=do_checkpoint)


class Erased(dict[str, int]):
    """What an erasure removed (counts by kind), and in ``remains`` what is left of it
    where (the database's files, its logs, backups)."""

    remains: str = ""


def erase_person(store: Store, ref: str, *, actor: str, reason: str, reference: str,
                 request_id: str | None = None, do_checkpoint: bool = True) -> Erased:
    """Erase a person. ``reason``: a code of ``ERASURE_REASONS``; ``reference``: the
    request's number (``REFERENCE``). Returns the counts of assessments and emptied cases
    removed, with ``remains`` (see ``clear_after``)."""
    check_reason(reason, reference, record_ref=ref)
    with store.write():
        person = store.get_person(ref)
        if person is None:
            raise StorageError(f"no person with reference {ref!r}")
        counts = Erased(_erasing().erase_person_rows(store, person["id"]))
        store.audit("erase", actor=actor, object_type="person", object_id=person["id"],
                    request_id=request_id,
                    details={**counts, "reason": reason, "reference": reference})
    counts.remains = clear_after(store, _erasing().PERSON_TABLES, do_checkpoint=do_checkpoint)
    return counts


def erase_assessment(store: Store, assessment_id: int, *, actor: str, reason: str,
                     reference: str, request_id: str | None = None) -> str:
    """Remove one assessment record (every version of it) and leave a tombstone (reason
    code and reference number as for ``erase_person``). Returns what remains where (see
    ``clear_after``)."""
    check_reason(reason, reference)
    with store.write():
        chain = _erasing().assessment_versions(store, assessment_id)
        if not chain:
            raise StorageError(f"no assessment {assessment_id}")
        _erasing().delete_assessments(store, chain)
        store.audit("erase", actor=actor, object_type="assessment", object_id=assessment_id,
                    request_id=request_id,
                    details={"versions": len(chain), "reason": reason,
                             "reference": reference})
    return clear_after(store, _erasing().ASSESSMENT_TABLES)


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
        drafts = _erasing().stale_drafts(store, cutoff)
    if "inactive_person_days" in settings:
        cutoff = (today - dt.timedelta(days=settings["inactive_person_days"])).isoformat()
        people = _erasing().inactive_people(store, cutoff)
    return PurgePlan(drafts, people)


def purge(store: Store, plan: PurgePlan, *, actor: str) -> str:
    """Remove what the plan lists, each with a tombstone. Returns what remains where (see
    ``clear_after``)."""
    with store.write():
        for aid in plan.drafts:
            _erasing().delete_draft(store, aid)
            store.audit("retention_delete", actor=actor, object_type="assessment",
                        object_id=aid, details={"rule": "draft_days"})
        for ref in plan.people:
            person = store.get_person(ref)
            if person is None:  # erased since the plan was made
                continue
            counts = _erasing().erase_person_rows(store, person["id"])
            store.audit("retention_delete", actor=actor, object_type="person",
                        object_id=person["id"],
                        details={"rule": "inactive_person_days", **counts})
    tables = (_erasing().PERSON_TABLES if plan.people else ()) + (
        _erasing().ASSESSMENT_TABLES if plan.drafts else ())
    return clear_after(store, tables)
