"""The view log: page views and lists, appended without the audit chain's lock and sealed
into the chain in batches.

What a seal holds and what ``verify`` concludes from it is ``formsengine.audit``'s business
(``seal_views``); this module only reads and writes rows. A row's values are passed and
returned in the order of ``COLUMNS`` (the audit table's fields without the chain's hashes).

Sealing must know that no view row with an id at or below the last id it reads can still
appear. On SQLite the single writer gives that. On PostgreSQL ids come from a sequence and
transactions commit in any order, so row 100 could still be on its way while row 101 is
there: each insert holds a *shared* transaction-scoped advisory lock (``VIEW_LOCK``, taken
before the id is drawn), which never makes inserts wait for each other, and ``settled_last_id``
takes the same lock *exclusively* for a moment (it waits for the inserts in flight to end),
then reads the largest id: every row drawn after that has a larger one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .sql import is_postgres

COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "request_id", "details")
TRIGGERS = ("view_log_no_update", "view_log_no_delete")

# Taken shared by every insert and exclusively by ``settled_last_id`` ("fe" and 3).
VIEW_LOCK = 0x66650003

_INSERT = ("INSERT INTO view_log (at, actor, action, object_type, object_id, request_id,"
           " details) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
# PostgreSQL: the shared lock is taken by the row source, before the id's nextval; the
# statement alone (autocommit) or the caller's transaction holds it until it ends.
_INSERT_PG = ("INSERT INTO view_log (at, actor, action, object_type, object_id, request_id,"
              " details) SELECT ?, ?, ?, ?, ?, ?, ? FROM (SELECT"
              " pg_advisory_xact_lock_shared(?)) AS held RETURNING id")
_SELECT_ROWS = ("SELECT id, at, actor, action, object_type, object_id, request_id, details"
                " FROM view_log")


def insert(conn: Any, values: list[Any]) -> int:
    """Insert one view row (``values``: ``COLUMNS`` without the id); its id. A statement of
    its own or part of the caller's transaction; never waits for the audit chain."""
    if is_postgres(conn):
        row = conn.execute(_INSERT_PG, [*values, VIEW_LOCK]).fetchone()
    else:
        row = conn.execute(_INSERT, values).fetchone()
    return int(row[0])


def last_id(conn: Any) -> int:
    """The largest id in the view log (0 when it is empty)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM view_log").fetchone()[0])


def settled_last_id(conn: Any) -> int:
    """The largest id such that no row at or below it can still appear (see the module's
    notes). PostgreSQL: waits for the inserts in flight; outside a transaction it opens a
    short one of its own, inside one the lock is held until that ends. SQLite: the largest
    id (read inside the write transaction it is the settled one)."""
    if not is_postgres(conn):
        return last_id(conn)
    if conn.in_transaction:
        conn.execute("SELECT pg_advisory_xact_lock(?)", [VIEW_LOCK])
        return last_id(conn)
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", [VIEW_LOCK])
        found = last_id(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return found


def count_after(conn: Any, after: int) -> int:
    """How many view rows have an id above ``after`` (those not sealed yet)."""
    return int(conn.execute("SELECT COUNT(*) FROM view_log WHERE id > ?",
                            [after]).fetchone()[0])


@contextmanager
def rows_between(conn: Any, after: int, upto: int) -> Iterator[Iterable[tuple]]:
    """The rows with ``after < id <= upto`` (tuples in ``COLUMNS`` order) by id, streamed;
    the read is closed when the block ends."""
    cursor = conn.execute(_SELECT_ROWS + " WHERE id > ? AND id <= ? ORDER BY id",
                          [after, upto])
    try:
        yield cursor
    finally:
        cursor.close()


def last_seal_details(conn: Any, action: str) -> str | None:
    """The details of the audit chain's latest row with ``action`` (the last seal), or None
    when there is none."""
    row = conn.execute("SELECT details FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1",
                       [action]).fetchone()
    return None if row is None else str(row[0])


def trigger_names(conn: Any) -> set[str]:
    """The names of the triggers on the view log."""
    if is_postgres(conn):
        sql = ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'view_log'::regclass"
               " AND NOT tgisinternal")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'view_log'"
    return {r[0] for r in conn.execute(sql)}


@contextmanager
def transaction(conn: Any) -> Iterator[None]:
    """A write transaction on a bare connection (the anchoring thread's): ``BEGIN IMMEDIATE``
    on SQLite, ``BEGIN`` on PostgreSQL; committed when the block ends, rolled back when it
    raises."""
    conn.execute("BEGIN" if is_postgres(conn) else "BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
