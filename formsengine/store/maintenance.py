"""The command line's administrative reads and writes: the database's version, an online
backup and its check, the audit trail's check and head, rescoring every final assessment,
and giving the demonstration's synthetic cases a team.

Functions that write say so and expect to be called inside ``store.write()``; the others
only read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StorageError
from .sql import glob_match, glob_pattern, is_postgres, json_array_agg

if TYPE_CHECKING:
    from ..audit import Anchor, VerifyReport
    from . import Store

# The references the synthetic data set gives its people and cases.
SYNTHETIC_PEOPLE = ("VS-%", "SU-%")
SYNTHETIC_CASE = "C-[0-9][0-9][0-9][0-9][0-9]"  # a GLOB pattern


# -- database checks ----------------------------------------------------------------------------
def database_version(store: Store) -> str:
    """The version of the database engine: SQLite's ``sqlite_version()`` (``3.51.3``) or
    PostgreSQL's ``server_version`` (``16.4``)."""
    if is_postgres(store.conn):
        return str(store.all("SHOW server_version")[0]["server_version"]).split()[0]
    return str(store.all("SELECT sqlite_version() AS v")[0]["v"])


def backup_to(store: Store, target: str | Path) -> str:
    """Copy the live database to ``target`` (a new file, 0600) with SQLite's online backup
    and return the copy's integrity check: ``ok``, or what is wrong with it. On PostgreSQL
    the server's own tools back up (``pg_dump``, or base backups with WAL archiving)."""
    from . import connect

    if is_postgres(store.conn):
        raise StorageError("on PostgreSQL back up with the server's tools: pg_dump, or base "
                           "backups and WAL archiving for point-in-time recovery (see "
                           "docs/deployment.md)")
    dest = connect(target)
    try:
        store.conn.backup(dest)
        return str(dest.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        dest.close()


def audit_key(store: Store) -> bytes:
    """The key the database's audit chain is computed with."""
    from ..audit import key_for

    return key_for(store.conn)


def verify_audit(store: Store, anchors: list[Anchor] | None = None, *,
                 seal: bool = True) -> VerifyReport:
    """The audit chain recomputed from its first row, with the view rows sealed into it,
    checked against ``anchors`` if given. ``seal``: first seal the views not sealed yet, so
    that every view is covered (otherwise they are counted as not yet sealed)."""
    from ..audit import verify

    if seal:
        store.seal_views()
    return verify(store.conn, anchors)


def audit_head(store: Store) -> Anchor | None:
    """The audit chain's head now (row count, last id and hash), or None when it is empty."""
    from ..audit import head

    return head(store.conn)


# -- rescoring -------------------------------------------------------------------------------------
def final_assessment_ids(store: Store, instrument_id: str | None = None) -> list[int]:
    """The ids of the final assessments (of the instrument, if given), in id order."""
    sql = "SELECT id FROM assessments WHERE status = 'final'"
    params: list[str] = []
    if instrument_id:
        sql += " AND instrument_id = ?"
        params.append(instrument_id)
    return [r["id"] for r in store.all(sql + " ORDER BY id", params)]


def latest_config_hash(store: Store, assessment_id: int) -> str | None:
    """The configuration hash of the assessment's latest score row, or None when it has no
    score yet."""
    row = store.one("SELECT config_hash FROM scores WHERE assessment_id = ?"
                    " ORDER BY seq DESC LIMIT 1", [assessment_id])
    return None if row is None else row["config_hash"]


# -- the demonstration's synthetic data -------------------------------------------------------
def has_synthetic_people(store: Store) -> bool:
    """Whether any person has a reference of the synthetic data set (VS-..., SU-...)."""
    return store.one("SELECT id FROM people WHERE ref LIKE ? OR ref LIKE ? LIMIT 1",
                     list(SYNTHETIC_PEOPLE)) is not None


def synthetic_cases_without_team(store: Store) -> list[int]:
    """The ids of the cases with a synthetic reference (C- and five digits) and no team.
    (The pattern match: ``sql.glob_match``.)"""
    return [r["id"] for r in store.all(
        f"SELECT id FROM cases WHERE team_id IS NULL AND {glob_match(store.conn, 'ref')}",  # nosec B608: helper's SQL
        [glob_pattern(store.conn, SYNTHETIC_CASE)])]


def give_cases_to_team(store: Store, team_id: int, case_ids: list[int]) -> None:
    """Move the cases to the team; each without an opening date gets the date of its first
    assessment, and it follows the instruments it has assessments of. Writes: call inside
    ``store.write()``. (The JSON aggregation: ``sql.json_array_agg``.)"""
    store.conn.executemany(
        "UPDATE cases SET team_id = ?,"  # nosec B608: helper's SQL
        " opened_on = COALESCE(opened_on, (SELECT MIN(assessment_date) FROM assessments"
        " WHERE case_id = cases.id)),"
        f" instruments = (SELECT {json_array_agg(store.conn, 'instrument_id')} FROM"
        " (SELECT DISTINCT instrument_id FROM assessments WHERE case_id = cases.id"
        " ORDER BY instrument_id) i)"
        " WHERE id = ?", [(team_id, case_id) for case_id in case_ids])
