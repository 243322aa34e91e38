"""What plugins read through the store instead of writing SQL: people by their references,
and which of them already have a final assessment of an instrument at an occasion.

Plugins write through ``Store`` itself (``ensure_person``, ``create_assessment``, ``audit``)
inside ``store.write()``; the functions here only read, in lists of at most ``ID_CHUNK``
values, so that any number of references can be asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .sql import chunks, marks

if TYPE_CHECKING:
    from . import Store

ID_CHUNK = 500


def people_by_refs(store: Store, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """ref -> {id, ref, role} of each person recorded under one of ``refs`` (references
    that name no one are left out)."""
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(list(refs), ID_CHUNK):
        for row in store.all(
                f"SELECT id, ref, role FROM people WHERE ref IN ({marks(part)})",  # nosec B608: ? marks only
                list(part)):
            found[row["ref"]] = row
    return found


def refs_with_final_assessment(store: Store, instrument_id: str, occasion: str,
                               person_ids: Sequence[int]) -> set[str]:
    """The references of those of ``person_ids`` who have a final assessment of the
    instrument at the occasion."""
    refs: set[str] = set()
    for part in chunks(list(person_ids), ID_CHUNK):
        refs.update(r["ref"] for r in store.all(
            "SELECT p.ref FROM assessments a JOIN people p ON p.id = a.person_id"
            " WHERE a.instrument_id = ? AND a.occasion = ? AND a.status = 'final'"
            f" AND a.person_id IN ({marks(part)})",  # nosec B608: ? marks only
            [instrument_id, occasion, *part]))
    return refs
