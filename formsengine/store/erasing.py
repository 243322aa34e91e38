"""Erasure and retention in the database: removing a person's or an assessment's rows,
finding what is past its retention period, and clearing what the removed rows leave behind
in the database's files (see ``formsengine.erasure`` for the rules and the audit tombstone).

Functions that delete assume they run inside the caller's ``with store.write():`` block, so
that the rows and the tombstone go together; ``empty_write_ahead_log`` and ``vacuum_erased``
run after that transaction has committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Store

# The tables an erasure changes: deleted rows, rows removed with them by ON DELETE CASCADE,
# and the cases whose risk order the triggers rewrite.
ASSESSMENT_TABLES = ("assessments", "answers", "scores", "score_values", "cases")
PERSON_TABLES = ("assessments", "answers", "scores", "score_values", "case_people",
                 "case_people_set_aside", "people", "cases", "web_case_assignments")
_VACUUMABLE = frozenset(PERSON_TABLES) | frozenset(ASSESSMENT_TABLES)

POSTGRESQL = "postgresql"
SQLITE = "sqlite"


def backend(store: Store) -> str:
    """``"sqlite"`` or ``"postgresql"``: which database the store's connection is to (a
    store may name it as ``store.dialect``; otherwise the connection's driver tells)."""
    named = getattr(store, "dialect", None)
    if isinstance(named, str):
        return POSTGRESQL if named.startswith("postgres") else named
    driver = type(store.conn).__module__.split(".")[0]
    return POSTGRESQL if driver.startswith("psycopg") else SQLITE


# -- erasing ---------------------------------------------------------------------------------
def erase_person_rows(store: Store, person_id: int) -> dict[str, int]:
    """Delete a person: their assessments (answers, scores and score values go with them),
    their case links and the person's row, then every case of theirs left with nobody in it
    (with that case's remaining assessments). Returns ``{"assessments": n, "cases_removed":
    m}``: the person's assessments and the emptied cases. Inside a write transaction."""
    assessments = store.one("SELECT COUNT(*) AS n FROM assessments WHERE person_id = ?",
                            [person_id])
    cases = [r["case_id"] for r in store.all(
        "SELECT case_id FROM case_people WHERE person_id = ?", [person_id])]
    # Assessments go first (answers, scores and score values cascade with them).
    store.conn.execute("DELETE FROM assessments WHERE person_id = ?", [person_id])
    store.conn.execute("DELETE FROM case_people WHERE person_id = ?", [person_id])
    store.conn.execute("DELETE FROM case_people_set_aside WHERE person_id = ?", [person_id])
    store.conn.execute("DELETE FROM people WHERE id = ?", [person_id])
    emptied = 0
    for case_id in cases:
        left = store.one("SELECT COUNT(*) AS n FROM case_people WHERE case_id = ?", [case_id])
        if not (left and left["n"]):
            store.conn.execute("DELETE FROM assessments WHERE case_id = ?", [case_id])
            store.conn.execute("DELETE FROM cases WHERE id = ?", [case_id])
            emptied += 1
    return {"assessments": assessments["n"] if assessments else 0, "cases_removed": emptied}


def assessment_versions(store: Store, assessment_id: int) -> set[int]:
    """The ids of every version linked to this assessment by amendments, older and newer,
    itself included; empty when there is no such assessment."""
    seen: set[int] = set()
    todo = [assessment_id]
    while todo:
        aid = todo.pop()
        if aid in seen:
            continue
        row = store.one("SELECT supersedes_id FROM assessments WHERE id = ?", [aid])
        if row is None:
            continue
        seen.add(aid)
        if row["supersedes_id"]:
            todo.append(row["supersedes_id"])
        todo += [r["id"] for r in store.all(
            "SELECT id FROM assessments WHERE supersedes_id = ?", [aid])]
    return seen


def delete_assessments(store: Store, ids: Iterable[int]) -> None:
    """Delete these assessments (answers, scores and score values go with them), newest
    first, so that no amendment is left pointing at a version already gone. Inside a write
    transaction."""
    for aid in sorted(ids, reverse=True):
        store.conn.execute("DELETE FROM assessments WHERE id = ?", [aid])


# -- retention -------------------------------------------------------------------------------
def stale_drafts(store: Store, before: str) -> list[int]:
    """Ids of the drafts last changed before ``before`` (an ISO date or time)."""
    return [r["id"] for r in store.all(
        "SELECT id FROM assessments WHERE status = 'draft' AND updated_at < ?", [before])]


def inactive_people(store: Store, before: str) -> list[str]:
    """References of the people recorded before ``before`` (an ISO date) who have no
    assessment dated (or, without a date, last changed) on or after it."""
    return [r["ref"] for r in store.all(
        "SELECT p.ref FROM people p WHERE p.created_at < ? AND NOT EXISTS ("
        " SELECT 1 FROM assessments a WHERE a.person_id = p.id AND"
        " COALESCE(a.assessment_date, substr(a.updated_at, 1, 10)) >= ?)",
        [before, before])]


def delete_draft(store: Store, assessment_id: int) -> bool:
    """Delete the assessment if it is still a draft; True when it was. Inside a write
    transaction."""
    cur = store.conn.execute("DELETE FROM assessments WHERE id = ? AND status = 'draft'",
                             [assessment_id])
    return bool(cur.rowcount)


# -- what the deleted rows leave behind ------------------------------------------------------
def empty_write_ahead_log(store: Store) -> bool:
    """SQLite: copy everything into the database file and empty the write-ahead log
    (``PRAGMA wal_checkpoint(TRUNCATE)``); False when another connection's read kept it
    from being emptied. PostgreSQL has no such step (the server recycles its own log):
    True, having done nothing."""
    if backend(store) != SQLITE:
        return True
    busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


SQLITE_REMAINS = (
    "On SQLite the erased rows were overwritten where they lay in the database file "
    "(secure_delete is on){wal}. Copies remain only in backups made before the erasure, "
    "until their retention ends.")
SQLITE_WAL_EMPTIED = " and the write-ahead log was emptied, so no copy is left in its files"
SQLITE_WAL_LEFT = ("; the write-ahead log may still hold them until "
                   "'formsengine erase checkpoint' runs")
POSTGRESQL_REMAINS = (
    "On PostgreSQL VACUUM ran on {tables}: the erased rows' old versions and their index "
    "entries are gone and their space is free for reuse, but their bytes can stay in the "
    "tables' files until new rows overwrite them. Copies remain in write-ahead log segments "
    "not yet recycled, in archived WAL and base backups (point-in-time recovery) and in "
    "dumps made before the erasure, until their retention ends; standbys hold the same "
    "until they have replayed it.")

POSTGRESQL_NOTHING = "On PostgreSQL no table was changed, so none was vacuumed."


def vacuum_erased(store: Store, tables: Iterable[str], *, wal_emptied: bool = True) -> str:
    """What an erasure leaves behind, and where, after clearing what can be cleared: on
    PostgreSQL, VACUUM on ``tables`` (which removes the deleted rows' dead versions; it
    cannot run inside a transaction, so the erasure's must have committed); on SQLite
    nothing more (``secure_delete`` already overwrote the rows; ``wal_emptied``: whether
    the write-ahead log was emptied after them). Returns a sentence for the person who ran
    the erasure."""
    names = list(dict.fromkeys(tables))
    unknown = [t for t in names if t not in _VACUUMABLE]
    if unknown:
        raise ValueError(f"not a table an erasure changes: {', '.join(unknown)}")
    if backend(store) != POSTGRESQL:
        return SQLITE_REMAINS.format(wal=SQLITE_WAL_EMPTIED if wal_emptied
                                     else SQLITE_WAL_LEFT)
    if not names:
        return POSTGRESQL_NOTHING
    _vacuum(store.conn, names)
    return POSTGRESQL_REMAINS.format(tables=", ".join(names))


def _vacuum(conn: Any, tables: list[str]) -> None:
    """VACUUM each table (names from the fixed lists above), outside any transaction."""
    was = conn.autocommit
    conn.autocommit = True
    try:
        for table in tables:  # names checked against the fixed lists by the caller
            conn.execute(f'VACUUM "{table}"')
    finally:
        conn.autocommit = was
