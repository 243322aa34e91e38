"""Looking at what the database holds, and setting a record as the application would not
leave it, for checks: how many rows a table has, the rows whose columns hold some values,
the one value a record holds; and, to set up a check, a record made older, damaged or
removed behind the application's back.

The application itself reads and writes through the named functions of the other modules;
these are for the test suite and for whoever checks a database by hand. Table and column
names are looked up in the schema's descriptions (``tables.py``), so an unknown name is an
error rather than text put into SQL (the statements built from them carry ``nosec B608``);
values are always bound. A keyword argument
``column=value`` keeps the rows where the column holds that value (``None``: holds no
value). Rows come in the order of the table's primary key unless ``order_by`` says
otherwise.

Functions that change rows open their own write transaction (or join the caller's).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table

from ..errors import StorageError
from .tables import metadata

if TYPE_CHECKING:
    from . import Store


class NoSuchRowError(StorageError):
    """No row (or more than one) matched where exactly one was expected."""


def _table(name: str) -> Table:
    table = metadata.tables.get(name)
    if table is None:
        raise StorageError(f"no table {name[:80]!r} in the schema")
    return table


def _column(table: Table, name: str) -> str:
    if name not in table.c:
        raise StorageError(f"table {table.name} has no column {name[:80]!r}")
    return f'"{name}"'


def _select(table: Table, columns: Sequence[str]) -> str:
    names = ", ".join(_column(table, c) for c in columns) if columns else "*"
    return f'SELECT {names} FROM "{table.name}"'  # nosec B608


def _where(table: Table, equal: Mapping[str, Any]) -> tuple[str, list[Any]]:
    terms, params = [], []
    for name, value in equal.items():
        if value is None:
            terms.append(f"{_column(table, name)} IS NULL")
        else:
            terms.append(f"{_column(table, name)} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(terms) if terms else ""), params


def _order(table: Table, order_by: str | Sequence[str] | None, descending: bool) -> str:
    names = ([order_by] if isinstance(order_by, str) else list(order_by)
             if order_by is not None else [c.name for c in table.primary_key.columns])
    way = " DESC" if descending else ""
    return " ORDER BY " + ", ".join(_column(table, n) + way for n in names) if names else ""


# -- reading ------------------------------------------------------------------------------------
def count(store: Store, table: str, **equal: Any) -> int:
    """How many rows of ``table`` match."""
    t = _table(table)
    where, params = _where(t, equal)
    row = store.one(f'SELECT COUNT(*) AS n FROM "{t.name}"' + where, params)  # nosec B608
    return int(row["n"]) if row else 0


def rows(store: Store, table: str, *columns: str, order_by: str | Sequence[str] | None = None,
         descending: bool = False, limit: int | None = None,
         **equal: Any) -> list[dict[str, Any]]:
    """The matching rows of ``table`` (the named ``columns``, or all of them), in order."""
    t = _table(table)
    where, params = _where(t, equal)
    sql = _select(t, columns) + where + _order(t, order_by, descending)
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return store.all(sql, params)


def first(store: Store, table: str, *columns: str, order_by: str | Sequence[str] | None = None,
          **equal: Any) -> dict[str, Any] | None:
    """The first matching row, or None when none matches."""
    found = rows(store, table, *columns, order_by=order_by, limit=1, **equal)
    return found[0] if found else None


def last(store: Store, table: str, *columns: str, order_by: str | Sequence[str] | None = None,
         **equal: Any) -> dict[str, Any] | None:
    """The last matching row (the newest, by primary key), or None when none matches."""
    found = rows(store, table, *columns, order_by=order_by, descending=True, limit=1,
                 **equal)
    return found[0] if found else None


def only(store: Store, table: str, *columns: str, **equal: Any) -> dict[str, Any]:
    """The one matching row; ``NoSuchRowError`` when none or several match."""
    found = rows(store, table, *columns, limit=2, **equal)
    if len(found) != 1:
        raise NoSuchRowError(f"{'no' if not found else 'more than one'} row of {table}"
                             f" matches {sorted(equal)}")
    return found[0]


def value(store: Store, table: str, column: str, **equal: Any) -> Any:
    """The value in ``column`` of the one matching row (``NoSuchRowError`` otherwise)."""
    return only(store, table, column, **equal)[column]


def values(store: Store, table: str, column: str, *, order_by: str | Sequence[str] | None = None,
           **equal: Any) -> list[Any]:
    """The values in ``column`` of the matching rows, in order."""
    return [r[column] for r in rows(store, table, column, order_by=order_by, **equal)]


# The audit trail is two tables: the hash-chained ``audit`` and the ``view_log`` of page views
# and lists sealed into it in batches (``formsengine.audit``).
AUDIT_TRAIL = ("audit", "view_log")


def audit_trail(store: Store, *columns: str, **equal: Any) -> list[dict[str, Any]]:
    """The matching rows of the whole audit trail, both tables (the named ``columns``,
    which both have, or all the columns they share), in the order they were written: by
    time, then the audit's before the view log's, then by id."""
    columns = columns or tuple(c.name for c in _table("view_log").columns)
    wanted = tuple(dict.fromkeys((*columns, "at", "id")))
    found = []
    for table in AUDIT_TRAIL:
        for row in rows(store, table, *wanted, **equal):
            found.append((row["at"], table != "audit", row["id"], row))
    found.sort(key=lambda r: r[:3])
    return [{c: row[c] for c in columns} for *_, row in found]


def audit_trail_count(store: Store, **equal: Any) -> int:
    """How many rows of the whole audit trail (both tables) match."""
    return sum(count(store, table, **equal) for table in AUDIT_TRAIL)


def schema_sql(store: Store) -> dict[str, str]:
    """SQLite: each table, index and trigger of the database (its own, not SQLite's) and
    the SQL that made it."""
    return {r["name"]: r["sql"] for r in store.all(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name")}


def migration_revisions(store: Store) -> set[str]:
    """The migration revisions recorded in the database: each branch's head."""
    from ..migrations import current_revisions

    return current_revisions(store.conn)


def integrity(store: Store) -> str:
    """SQLite's own check of the database file: ``ok``, or what is wrong with it."""
    return str(store.conn.execute("PRAGMA integrity_check").fetchone()[0])


@contextmanager
def statements_sent(store: Store) -> Iterator[list[str]]:
    """The statements the store's connection runs inside the ``with`` block, each as SQLite
    expands it (the list fills as they run): for checks that a read takes one statement.
    SQLite only (its trace callback)."""
    if store.postgres:
        raise StorageError("statements are counted on SQLite only")
    sent: list[str] = []
    store.conn.set_trace_callback(sent.append)
    try:
        yield sent
    finally:
        store.conn.set_trace_callback(None)


# -- setting up a check -------------------------------------------------------------------------
def change_rows(store: Store, table: str, changes: Mapping[str, Any], **equal: Any) -> int:
    """Set the columns in ``changes`` on the matching rows; how many rows changed."""
    t = _table(table)
    if not changes:
        raise StorageError("change_rows: nothing to change")
    sets = ", ".join(f"{_column(t, name)} = ?" for name in changes)
    where, params = _where(t, equal)
    with store.write():
        return int(store.conn.execute(
            f'UPDATE "{t.name}" SET {sets}' + where,  # nosec B608
            [*changes.values(), *params]).rowcount)


def move_back(store: Store, table: str, column: str, seconds: float, **equal: Any) -> int:
    """Make a time kept in seconds (a session's ``last_seen``, ``created_at``) ``seconds``
    earlier on the matching rows, as if that much time had passed; how many rows changed."""
    t = _table(table)
    name = _column(t, column)
    where, params = _where(t, equal)
    with store.write():
        return int(store.conn.execute(
            f'UPDATE "{t.name}" SET {name} = {name} - ?' + where,  # nosec B608
            [float(seconds), *params]).rowcount)


def delete_rows(store: Store, table: str, **equal: Any) -> int:
    """Delete the matching rows (every row when nothing is given); how many went."""
    t = _table(table)
    where, params = _where(t, equal)
    with store.write():
        return int(store.conn.execute(f'DELETE FROM "{t.name}"' + where,  # nosec B608
                                      params).rowcount)
