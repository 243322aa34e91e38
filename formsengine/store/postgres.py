"""PostgreSQL behind the same connection interface the store uses on SQLite.

The store's modules send ``?``-placeholder SQL (and ``:name`` placeholders with a dict) to
``conn.execute(sql, params)`` and read cursors as sqlite3's: ``fetchone``/``fetchall``
tuples, ``description``, ``rowcount``; ``conn.in_transaction`` tells whether a transaction
is open. ``PgConnection`` gives a psycopg 3 connection that interface, so that one code path
serves both databases:

* placeholders are translated for psycopg (``?`` -> ``%s``, ``:name`` -> ``%(name)s``, a
  literal ``%`` doubled), outside quoted strings and identifiers and never in a ``::`` cast;
  each statement's translation is cached;
* the connection is in autocommit mode, as the SQLite connection (``isolation_level=None``):
  a statement outside ``store.write()`` stands alone, and ``store.write()`` opens the
  transaction with ``BEGIN``;
* connections come from one pool per database URL and process (SQLAlchemy's ``QueuePool``;
  ``FORMSENGINE_DB_POOL_SIZE``, default 10): ``close()`` returns the connection to the pool,
  rolled back.

There is no ``lastrowid``: inserts that need the new id say ``RETURNING id``. Large reads go
through ``stream`` (a server-side cursor; ``sql.stream_rows``).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ..errors import StorageError

DIALECT = "postgresql"
_cursor_numbers = itertools.count(1)  # names of server-side cursors
POOL_SIZE_ENV = "FORMSENGINE_DB_POOL_SIZE"


from ..config import is_database_url  # noqa: E402


def is_url(location: Any) -> bool:
    """Whether a database location is a PostgreSQL URL (rather than a SQLite file)."""
    return is_database_url(location)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", url)


# A token of SQL: a quoted string or identifier (kept as it is), a ``::`` cast, a ``?``, a
# ``:name`` placeholder, a ``%``, or a run of anything else.
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::|\?|:[A-Za-z_]\w*|%|[^'"?:%]+|.""",
                    re.S)


@lru_cache(maxsize=2048)
def translate(sql: str, named: bool) -> str:
    """``sql`` with its placeholders in psycopg's style (``named``: ``:name`` ones)."""
    out = []
    for m in _TOKEN.finditer(sql):
        tok = m.group(0)
        if tok == "?" and not named:
            out.append("%s")
        elif tok[0] == ":" and tok != "::" and named and len(tok) > 1:
            out.append(f"%({tok[1:]})s")
        elif tok == "%":
            out.append("%%")
        elif tok[0] == "'" and "%" in tok:
            out.append(tok.replace("%", "%%"))
        else:
            out.append(tok)
    return "".join(out)


def _params(sql: str, params: Any) -> tuple[str, Any]:
    if params is None or (not isinstance(params, dict) and len(params) == 0):
        return sql, None  # sent as it is: psycopg reads no placeholders in it
    if isinstance(params, dict):
        return translate(sql, True), params
    return translate(sql, False), list(params)


def _clear(exc: Exception) -> Exception:
    """The error to raise for ``exc``: a value PostgreSQL cannot hold said plainly (text with
    a NUL character: SQLite keeps it, PostgreSQL's text type cannot); any other as it is."""
    import psycopg

    if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):
        return StorageError("text holding a NUL character (\\u0000) cannot be stored; "
                            "nothing was saved: remove it and try again")
    return exc


class PgConnection:
    """A pooled psycopg connection that the store uses as it uses sqlite3's."""

    dialect = DIALECT

    def __init__(self, pooled: Any, url: str) -> None:
        self._pooled = pooled  # SQLAlchemy's pool proxy: close() gives the connection back
        self.raw = pooled.driver_connection
        self.raw.autocommit = True
        self.url = url

    @classmethod
    def borrowing(cls, driver_connection: Any) -> PgConnection:
        """The store's interface over a psycopg connection that someone else holds (a
        migration's, inside Alembic's transaction): its transaction mode is left as it is,
        and ``close()`` leaves it open."""
        conn = cls.__new__(cls)
        conn._pooled = None
        conn.raw = driver_connection
        conn.url = ""
        return conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        query, values = _params(sql, params)
        try:
            return self.raw.execute(query, values)
        except Exception as exc:
            raise _clear(exc) from None

    def executemany(self, sql: str, rows: Any) -> Any:
        rows = list(rows)
        if not rows:
            return None
        named = isinstance(rows[0], dict)
        cur = self.raw.cursor()
        try:
            cur.executemany(translate(sql, named), rows if named else [list(r) for r in rows])
        except Exception as exc:
            raise _clear(exc) from None
        return cur

    def copy_rows(self, table: str, columns: tuple[str, ...] | list[str], rows: Any) -> None:
        """Bulk insert with ``COPY ... FROM STDIN``: one stream instead of a statement a row
        (row triggers and constraints apply as for INSERT). ``table`` and ``columns`` are
        code constants."""
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        try:
            with self.raw.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            raise _clear(exc) from None

    def stream(self, sql: str, params: Any, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a query in lists of at most ``size``, read through a server-side
        cursor (``DECLARE … CURSOR``, then ``FETCH``), so that only one list is ever held in
        this process: a plain ``execute`` would take every row of the result into the
        client's memory at once. A cursor lives in a transaction: outside one, a transaction
        is opened for it (and ended when the rows are read, or reading stops) and reads one
        snapshot of the database throughout."""
        query, values = _params(sql, params)
        own = not self.in_transaction
        if own:
            self.raw.execute("BEGIN")
        cursor = self.raw.cursor(name=f"fe_stream_{next(_cursor_numbers)}")
        try:
            cursor.itersize = size
            cursor.execute(query, values)
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield rows
        except Exception as exc:
            raise _clear(exc) from None
        finally:
            try:
                cursor.close()
            finally:
                if own and self.in_transaction:
                    self.raw.execute("COMMIT")

    @property
    def autocommit(self) -> bool:
        return bool(self.raw.autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self.raw.autocommit = value

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        if self._pooled is None:
            return
        try:
            self.rollback()
        except Exception:  # a broken connection: the pool replaces it
            self._pooled.invalidate()
        self._pooled.close()
        self._pooled = None


_engines: dict[str, Any] = {}
_engines_guard = threading.Lock()


def engine_for(url: str) -> Any:
    """The SQLAlchemy engine (and so the connection pool) of ``url`` in this process."""
    with _engines_guard:
        engine = _engines.get(url)
        if engine is None:
            try:
                import psycopg  # noqa: F401
                from sqlalchemy import create_engine
            except ImportError:
                raise StorageError("PostgreSQL needs psycopg 3: pip install "
                                   "'formsengine[postgres]'") from None
            size = int(os.environ.get(POOL_SIZE_ENV) or 10)
            sa_url = url.replace("postgres://", "postgresql+psycopg://", 1).replace(
                "postgresql://", "postgresql+psycopg://", 1)
            engine = _engines[url] = create_engine(
                sa_url, pool_size=size, max_overflow=size, pool_pre_ping=True,
                pool_timeout=10)
        return engine


def connect(url: str) -> PgConnection:
    """A connection from the pool of ``url``."""
    try:
        return PgConnection(engine_for(url).raw_connection(), url)
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(f"cannot connect to the database {redacted(url)}: "
                           f"{type(exc).__name__}") from None


def dispose(url: str | None = None) -> None:
    """Close the pooled connections (of ``url``, or all)."""
    with _engines_guard:
        for key in [url] if url else list(_engines):
            engine = _engines.pop(key, None)
            if engine is not None:
                engine.dispose()
