"""The audit table: appending rows to its hash chain and reading them back in order.

What the chain means (which fields are hashed, under which key, what ``verify`` concludes)
is ``formsengine.audit``'s business; this module only reads and writes rows. A row's values
are passed and returned in the order of ``COLUMNS``: ``audit.FIELDS`` followed by
``prev_hash`` and ``hash``.

The functions take the database connection rather than a ``Store``: the chain is also
appended and read where no ``Store`` exists, by the migration that starts the keyed chain
and by the anchoring thread on a connection of its own. Appends must run inside the
caller's write transaction (see ``formsengine.audit.append``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .sql import is_postgres

COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "request_id", "details",
           "prev_hash", "hash")

_INSERT = ("INSERT INTO audit (id, at, actor, action, object_type, object_id, request_id,"
           " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
# Inserted only while the row ending the chain has the hash given as the last parameter.
_INSERT_AFTER = ("INSERT INTO audit (id, at, actor, action, object_type, object_id, request_id,"
                 " details, prev_hash, hash) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                 " WHERE (SELECT hash FROM audit ORDER BY id DESC LIMIT 1) = ?"
                 " AND (SELECT MAX(id) FROM audit) = ?")
_SELECT_ROWS = ("SELECT id, at, actor, action, object_type, object_id, request_id, details,"
                " prev_hash, hash FROM audit")


def database_file(conn: Any) -> str | None:
    """The file of the connection's main database (None for a database in memory or on a
    server: PostgreSQL)."""
    if is_postgres(conn):
        return None
    return next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"),
                "") or None


def in_write_transaction(conn: Any) -> bool:
    """Whether the connection is inside a transaction (where appends must happen)."""
    return bool(conn.in_transaction)


# The transaction-scoped advisory lock that serialises appends on PostgreSQL (an arbitrary
# constant: "fe" and 1).
CHAIN_LOCK = 0x66650002


def lock_chain(conn: Any) -> None:
    """Make this transaction the only one appending to the chain until it ends. PostgreSQL:
    ``pg_advisory_xact_lock``, taken just before the append (the last thing a write does,
    so that the lock is held briefly); released by COMMIT or ROLLBACK. SQLite: nothing
    (``BEGIN IMMEDIATE`` already made the transaction the only writer)."""
    if is_postgres(conn):
        conn.execute("SELECT pg_advisory_xact_lock(?)", [CHAIN_LOCK])


def last_row(conn: Any) -> tuple[int, str] | None:
    """(id, hash) of the row that ends the chain, or None when the table is empty."""
    row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (row[0], row[1])


def append_row(conn: Any, values: Sequence[Any]) -> None:
    """Insert one row (values in ``COLUMNS`` order). Inside a write transaction."""
    conn.execute(_INSERT, list(values))


def append_row_after(conn: Any, values: Sequence[Any], last_hash: str) -> bool:
    """Insert one row (values in ``COLUMNS`` order) in a single statement, but only if the
    chain still ends with the row whose hash is ``last_hash`` and whose id is the one before
    this row's. True when it was inserted. Inside a write transaction."""
    return conn.execute(_INSERT_AFTER, [*values, last_hash, values[0] - 1]).rowcount == 1


def append_rows(conn: Any, rows: Iterable[Sequence[Any]]) -> None:
    """Insert several rows (each in ``COLUMNS`` order, in chain order) in one statement
    sent once. Inside a write transaction."""
    conn.executemany(_INSERT, [list(r) for r in rows])


def row_count(conn: Any) -> int:
    """How many rows the audit table holds."""
    return int(conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])


def first_id(conn: Any) -> int | None:
    """The id of the chain's first row still there (None when the table is empty)."""
    value = conn.execute("SELECT MIN(id) FROM audit").fetchone()[0]
    return None if value is None else int(value)


def head(conn: Any) -> tuple[int, int, str] | None:
    """(row count, last id, last hash), read in one statement so that the three agree; None
    when the table is empty."""
    row = conn.execute("SELECT (SELECT COUNT(*) FROM audit), id, hash FROM audit"
                       " ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (row[0], row[1], row[2])


@contextmanager
def rows_in_order(conn: Any, *, after: int | None = None,
                  upto: int | None = None) -> Iterator[Iterable[tuple]]:
    """The rows (tuples in ``COLUMNS`` order) by id, streamed: all of them, or those with
    ``after < id <= upto``. The read is closed when the block ends, also when the caller
    stopped early, so that no read stays open on the database."""
    sql, params = _SELECT_ROWS, []
    if after is not None and upto is not None:
        sql += " WHERE id > ? AND id <= ?"
        params = [after, upto]
    elif after is not None or upto is not None:
        raise ValueError("rows_in_order: give both after and upto, or neither")
    cursor = conn.execute(sql + " ORDER BY id", params)
    try:
        yield cursor
    finally:
        cursor.close()


def trigger_names(conn: Any) -> set[str]:
    """The names of the triggers on the audit table (the catalogue differs: SQLite's
    ``sqlite_master``, PostgreSQL's ``pg_trigger``)."""
    if is_postgres(conn):
        sql = ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass"
               " AND NOT tgisinternal")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    return {r[0] for r in conn.execute(sql)}
