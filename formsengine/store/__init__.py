"""Storage on SQLite through sqlite-utils.

One ``Store`` wraps one connection. Settings: WAL, ``busy_timeout`` 10 s, foreign keys on,
``synchronous=FULL``, ``secure_delete`` on. Every write runs in ``store.write()``, which
opens the transaction with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of
failing with "database is locked"; writers in one process (the web server's threads) queue
first on a lock per database file, so that each starts as soon as the one before it ends
instead of polling SQLite's busy handler. The SQLite library must be at least 3.51.3 (the
WAL-reset fix); the bundled ``pysqlite3`` build is used.

Assessments keep their answers at item level. Scores are rows that are only ever added:
rescoring adds a row with the next sequence number and the scorer and configuration used.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import heapq
import itertools
import json
import mmap
import os
import secrets
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlite_utils import Database
from sqlite_utils.utils import sqlite3

from .. import audit
from ..errors import (
    BusyError,
    CaseClosedError,
    LockedError,
    StaleEditError,
    StorageError,
    SubmissionError,
)
from ..submission import require_fields_for_final
from .sql import (
    day_number,
    equals_nocase,
    group_concat,
    insert_or_nothing,
    insert_returning_id,
    json_array,
    json_array_agg,
    json_field,
    like,
    no_index,
    nocase,
    table_exists_sql,
)

if TYPE_CHECKING:
    from ..engine import Engine
    from ..instruments import Instrument
    from ..submission import Submission

MIN_SQLITE = (3, 51, 3)
SCORE_ATTEMPTS = 20  # numbers add_score tries while other writers take the next ones
ANSWER_COLUMNS = ("assessment_id", "item_id", "value", "comment", "source", "carried_from")
SCORE_VALUE_COLUMNS = ("score_id", "kind", "name", "value_num", "value_text")
SYSTEM_ACTOR = "system"
KEEP = object()  # an argument left as it is stored


def sqlite_version() -> tuple[int, ...]:
    return tuple(int(x) for x in sqlite3.sqlite_version.split("."))


def check_sqlite_version() -> None:
    if sqlite_version() < MIN_SQLITE:
        raise StorageError(
            f"SQLite {sqlite3.sqlite_version} is too old: formsengine needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer (earlier versions can lose data in WAL "
            "mode). Install the bundled build: pip install 'pysqlite3>=0.6.1'"
        )


# Files holding personal data are their owner's only, whatever the caller's umask.
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """From now on this process creates files for their owner only (stricter bits kept)."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def database_files(path: str | Path) -> list[Path]:
    """The database file and the write-ahead log and shared-memory files beside it."""
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]


def readable_by_others(path: str | Path) -> list[Path]:
    """Those of the database's files that exist and other users can read or write."""
    out = []
    for file in database_files(path):
        try:
            if file.stat().st_mode & PRIVATE_UMASK:
                out.append(file)
        except FileNotFoundError:
            pass
    return out


def connect(path: str | Path) -> Any:
    """A connection with the settings above. A database file it creates (and its -wal and
    -shm files, which SQLite gives the main file's permissions) is 0600."""
    check_sqlite_version()
    in_memory = str(path) == ":memory:"
    new = not in_memory and not Path(path).exists()
    if not in_memory:
        private_umask()
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=10,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(path) != ":memory:" and mode.lower() != "wal":
        raise StorageError(f"database {path}: could not switch to WAL mode (got {mode})")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA secure_delete = ON")
    if new:
        for file in database_files(path):
            if file.exists():
                os.chmod(file, PRIVATE_FILE)
    return conn


# Why a case was closed: a fixed list, so that no free text (which could identify someone)
# is kept with the case.
CASE_CLOSE_REASONS: dict[str, str] = {
    "support_completed": "Support completed",
    "declined": "The person declined or ended support",
    "moved": "Moved out of the area",
    "referred": "Referred to another service",
    "no_contact": "No contact could be made",
    "other": "Another reason",
}

# One lock per database file. Threads of one process (the web server's) queue on a thread
# lock; processes (the workers of `serve --workers N`, the command line) then queue on an
# exclusive ``flock`` of a lock file beside the database. Either way a writer starts as soon
# as the one before it ends, instead of polling SQLite's busy handler, which sleeps 1, 2, 5,
# 10 ms and more between tries and left two server processes waiting on each other with the
# machine a third idle. Where no lock file can be made (a read-only folder), writers between
# processes meet SQLite's own lock and busy timeout, as before.
WRITE_WAIT = 10.0  # seconds, as the busy timeout
LOCK_SUFFIX = "-wlock"
# Seconds between tries for another process's lock, doubling from the first to the most: a
# waiter notices the lock is free about half a pause after its release (two server
# processes hand it over hundreds of times a second)
_POLL_FIRST, _POLL_MOST = 0.00005, 0.0002
# The lock file also keeps the audit chain's last row (id, hash), written by the writer that
# appended it, so that the next writer of any process appends in one statement (see
# ``audit.append``): a wrong or stale value only sends that writer the long way.
_HEAD = struct.Struct("<q64s")


class WriteLock:
    """The write lock of one database file: re-entrant in a thread, exclusive between
    processes. ``acquire`` takes the thread lock, then (on the outermost acquire only) the
    file lock; ``release`` gives them back in the other order.

    The lock file stays open while a store of the process uses the database, and is
    unlocked (not closed) after each write: one system call instead of two, each of which
    lets the process's other threads take the interpreter while the lock is held. The last
    store to close closes it (``_let_go_write_lock``); a forked child closes its copy and
    opens its own (``_forget_write_locks``); a process that ends lets go with its files."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._held = False
        self._map: mmap.mmap | None = None
        self._map_failed = False
        self._no_file = False
        self.users = 0  # the stores of this process using it

    def _open(self) -> int | None:
        if self._fd is None and not self._no_file:
            try:
                self._fd = os.open(self.file + LOCK_SUFFIX,
                                   os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                                   PRIVATE_FILE)
            except OSError:
                self._no_file = True
        return self._fd

    def acquire(self, timeout: float = WRITE_WAIT) -> bool:
        deadline = time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=timeout):
            return False
        if self._depth:
            self._depth += 1
            return True
        fd = self._open()
        pause = _POLL_FIRST
        while fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._thread_lock.release()
                    return False
                time.sleep(pause)
                pause = min(pause * 2, _POLL_MOST)
        self._depth = 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._held:
            self._held = False
            fcntl.flock(cast(int, self._fd), fcntl.LOCK_UN)
        self._thread_lock.release()

    # -- the audit chain's last row, shared by the processes writing this file -----------
    def _shared(self) -> mmap.mmap | None:
        """The lock file's bytes, mapped (only while this process holds the lock)."""
        if not self._held or self._map_failed:
            return None
        if self._map is None:
            fd = cast(int, self._fd)
            try:
                if os.fstat(fd).st_size < _HEAD.size:
                    os.ftruncate(fd, _HEAD.size)
                self._map = mmap.mmap(fd, _HEAD.size)
            except (OSError, ValueError):  # (a full disk): the long way, every time
                self._map_failed = True
                return None
        return self._map

    def head(self) -> tuple[int, str] | None:
        """(id, hash) of the audit row the last writer appended, as it left it."""
        shared = self._shared()
        if shared is None:
            return None
        last_id, digest = _HEAD.unpack_from(shared)
        if last_id <= 0:
            return None
        return last_id, digest.decode("ascii", "replace")

    def remember(self, head: tuple[int, str]) -> bool:
        """Keep (id, hash) for the next writer; False when it cannot be kept here."""
        shared = self._shared()
        encoded = head[1].encode("ascii", "replace")
        if shared is None or len(encoded) != 64:
            return False
        _HEAD.pack_into(shared, 0, head[0], encoded)
        return True

    def close_file(self) -> None:
        """Close the lock file (not while held): when no store of this process uses the
        database any more, and in a forked child for the parent's copy (the lock, if the
        parent holds it, stays the parent's). Used again, it opens the file again."""
        if self._map is not None:
            with contextlib.suppress(Exception):
                self._map.close()
            self._map = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


_write_locks: dict[str, WriteLock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(file: str | None) -> WriteLock | None:
    """The write lock of ``file`` for one more store of this process."""
    if file is None:
        return None
    with _write_locks_guard:
        lock = _write_locks.get(file)
        if lock is None:
            lock = _write_locks[file] = WriteLock(file)
        lock.users += 1
        return lock


def _let_go_write_lock(lock: WriteLock) -> None:
    """A store of this process closed: the last one closes the lock file (a process that
    opens many databases in turn, as the tests do, keeps no file of each open)."""
    with _write_locks_guard:
        lock.users -= 1
        if lock.users <= 0 and _write_locks.get(lock.file) is lock and \
                lock._thread_lock.acquire(blocking=False):
            try:
                if not lock._depth:
                    del _write_locks[lock.file]
                    lock.close_file()
            finally:
                lock._thread_lock.release()


def _forget_write_locks() -> None:
    """A forked child starts with no locks held: another thread of the parent may have held
    one at the fork, and would never release it here."""
    global _write_locks_guard
    for lock in _write_locks.values():
        lock.close_file()
    _write_locks.clear()
    _write_locks_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_write_locks)


SMALL_INSERT = 100  # rows: 100 rows of any table here stay far below SQLite's 32,766 parameters


def insert_many(conn: Any, table: str, columns: tuple[str, ...], rows: Iterable[tuple],
                on_conflict: str = "") -> None:
    """executemany that binds no NULLs: rows are grouped by which columns hold None and each
    group is inserted naming only its other columns (the rest take NULL by default). A small
    group (one assessment's answers) goes in as one multi-row INSERT: one step into SQLite
    instead of one per row.

    Binding a None parameter goes through the sqlite3 module's adaptation lookup, which makes
    it several times slower than binding text or a number; bulk inserts of rows with optional
    columns spend most of their time there. ``table`` and ``columns`` are code constants, as
    is ``on_conflict`` (e.g. ``"ON CONFLICT (ref) DO NOTHING"``), added to each INSERT.

    On PostgreSQL a bulk (more than a few rows) goes in with ``COPY``, NULLs and all: one
    stream instead of a statement a row; not with ``on_conflict`` (COPY has no such clause),
    which keeps to INSERT."""
    if getattr(conn, "dialect", None) == "postgresql" and not on_conflict:
        rows = rows if isinstance(rows, list) else list(rows)
        if len(rows) > SMALL_INSERT:
            conn.copy_rows(table, columns, rows)
            return
    groups: dict[tuple[bool, ...], list[tuple]] = {}
    for row in rows:
        if None in row:  # (list comprehensions: cheaper than generators for a short row)
            key = tuple([v is not None for v in row])
            groups.setdefault(key, []).append(tuple([v for v in row if v is not None]))
        else:
            groups.setdefault((True,) * len(row), []).append(row)
    for key, group in groups.items():
        names = [c for c, present in zip(columns, key) if present]
        marks = "(" + ", ".join("?" * len(names)) + ")"
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES "  # nosec B608
        tail = f" {on_conflict}" if on_conflict else ""
        if len(group) <= SMALL_INSERT:
            conn.execute(sql + ", ".join([marks] * len(group)) + tail,
                         [v for row in group for v in row])
        else:
            conn.executemany(sql + marks + tail, group)


def new_uid() -> str:
    """An opaque identifier for URLs and file names: says nothing about the record. Never
    begins with "-", which a command line would read as an option."""
    while (uid := secrets.token_urlsafe(UID_BYTES)).startswith("-"):
        pass
    return uid


UID_BYTES = 12  # 16 characters of URL-safe base64, no padding


def new_uids(n: int) -> list[str]:
    """``n`` identifiers as ``new_uid`` makes them, from one read of the system's random
    source: a bulk import makes one for each of its rows. Twelve bytes encode to sixteen
    characters with no padding, so the encoding of all the bytes at once is the encoding of
    each twelve in turn."""
    text = base64.urlsafe_b64encode(os.urandom(UID_BYTES * n)).decode("ascii")
    size = UID_BYTES * 4 // 3
    return [uid if not uid.startswith("-") else new_uid()
            for uid in (text[k:k + size] for k in range(0, len(text), size))]


_encode = json.JSONEncoder(ensure_ascii=False).encode


def reference_forms(text: str) -> list[str]:
    """The case references a person may mean by ``text``, in upper case without spaces:
    as typed, with the ``C-`` prefix added (a reference's own characters may begin with C:
    CP7RYU is C-CP7RYU), and with a C typed without its dash (CABCDEF: C-ABCDEF)."""
    upper = "".join(text.split()).upper()
    forms = {upper, "C-" + upper.removeprefix("C-")}
    if upper.startswith("C") and not upper.startswith("C-"):
        forms.add("C-" + upper[1:])
    return sorted(forms)


def encode_value(value: Any) -> str:
    """An answer as stored: JSON text, so that "yes", 3 and ["a", "b"] stay distinct."""
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    return _encode(value)


def draft_document(sub: Submission) -> str:
    """A draft's answers, comments, sources and carried-forward answers as the JSON text
    kept on its row."""
    doc: dict[str, Any] = {"answers": {k: v.isoformat() if hasattr(v, "isoformat") else v
                                       for k, v in sub.answers.items()},
                           "comments": sub.comments, "sources": sub.sources}
    if sub.carried:
        doc["carried"] = sub.carried
    if sub.declined:
        doc["declined"] = sub.declined
    if sub.declined_fields:
        doc["declined_fields"] = sub.declined_fields
    return json.dumps(doc, ensure_ascii=False)


def read_draft_document(text: str | None) -> tuple[dict, dict, dict]:
    """(answers, comments, sources) of a draft document (a new draft has none)."""
    doc = json.loads(text) if text else {}
    return doc.get("answers") or {}, doc.get("comments") or {}, doc.get("sources") or {}


def read_draft_carried(text: str | None) -> tuple[dict[str, str], list[str], list[str]]:
    """The carried-forward answers of a draft document (item id -> the date carried from),
    the items whose offered answer a person declined (left unanswered on purpose) and the
    fields whose offered value a person declined."""
    doc = json.loads(text) if text else {}
    return (doc.get("carried") or {}, doc.get("declined") or [],
            doc.get("declined_fields") or [])


def is_database_url(location: Any) -> bool:
    """Whether ``location`` is a PostgreSQL URL rather than a SQLite file."""
    from .postgres import is_url

    return is_url(location)


def connect_to(location: str | Path) -> Any:
    """A connection to a SQLite file (see ``connect``) or, for a ``postgresql+psycopg://``
    URL, a pooled PostgreSQL connection (``formsengine.store.postgres``)."""
    if is_database_url(location):
        from .postgres import connect as pg_connect

        return pg_connect(str(location))
    return connect(location)


def create_schema(store: Store) -> list[str]:
    """Bring a PostgreSQL database to the head of every migration branch (creating the
    schema on an empty one, from the revisions); returns what was applied (empty when it was
    current already). The same as ``store.migrate()``."""
    return store.migrate()


class Store:
    def __init__(self, conn: Any, engine: Engine) -> None:
        from .sql import dialect_of

        self.conn = conn
        self.engine = engine
        self.dialect = dialect_of(conn)
        self._savepoints = 0
        if self.dialect == "sqlite":
            self.db: Any = Database(conn)
            # the database's file name (None for a database in memory)
            self.file = next((r[2] for r in conn.execute("PRAGMA database_list")
                              if r[1] == "main"), "") or None
        else:
            self.db = None
            self.file = None
        self._write_lock = _write_lock(self.file)
        self.last_upgrade: list[str] = []

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def location(self) -> str | None:
        """Where the database is, as ``--db`` takes it: the SQLite file (None for one in
        memory) or the PostgreSQL URL."""
        return str(self.conn.url) if self.postgres else self.file

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, engine: Engine, *, create: bool = False,
             upgrade: bool = False) -> Store:
        """Open the database: a SQLite file, or a PostgreSQL URL (``postgresql+psycopg://…``).
        A new one (``create=True``, or in memory) is created at the head of every migration
        branch; an existing one must be up to date already (``upgrade=True``, as
        ``formsengine db upgrade``, brings it there): one whose schema is behind the code is
        refused with ``migrations.SchemaBehindError``. What an upgrade applied is kept in
        ``last_upgrade``. The same on PostgreSQL (whose schema comes from the revisions too).
        """
        from .. import migrations

        memory = str(path) == ":memory:"
        if is_database_url(path):
            store = cls(connect_to(path), engine)
        else:
            p = Path(path)
            memory = str(path) == ":memory:"
            if not memory and not create and not p.exists():
                raise StorageError(
                    f"database {p} does not exist; create it with: formsengine --db {p} db init")
            store = cls(connect(path), engine)
        try:
            if store.postgres and not (create or upgrade) and migrations.is_empty(store.conn):
                raise StorageError("the database has no formsengine schema; create it "
                                   "with: formsengine db init")
            if upgrade or ((create or memory) and migrations.is_empty(store.conn)):
                store.last_upgrade = migrations.upgrade(store.conn, engine)
            else:
                migrations.require_current(store.conn, engine)
            from .snapshots import check_definitions

            check_definitions(store)  # refuses definitions changed under a used version
            from .schedule import sync

            sync(store)  # the stored schedule follows the configured occasion offsets
        except BaseException:
            store.close()
            raise
        return store

    def migrate(self) -> list[str]:
        """Bring the schema to the head of every migration branch (``formsengine db
        upgrade``); return what was applied (``branch:revision``, and ``set:name`` for what
        was left of release 0.1's sqlite-utils sets, and notes a revision made)."""
        from .. import migrations

        return migrations.upgrade(self.conn, self.engine)

    def close(self) -> None:
        self.conn.close()
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            _let_go_write_lock(lock)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions -----------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Store]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls use savepoints."""
        if self.conn.in_transaction:
            with self._savepoint():
                yield self
            return
        lock = self._write_lock
        if lock is not None and not lock.acquire(timeout=WRITE_WAIT):
            raise BusyError("the database is busy with other changes; nothing was saved: "
                            "try again in a moment")
        try:
            self.conn.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        """A savepoint inside the open transaction: released on success, rolled back to
        (and released) when the block raises, leaving the outer transaction open."""
        self._savepoints += 1
        name = f"fe_sp{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._savepoints -= 1

    def audit(self, action: str, *, actor: str, object_type: str | None = None,
              object_id: Any = None, details: dict[str, Any] | None = None,
              request_id: str | None = None) -> int:
        kw = {"actor": actor, "object_type": object_type, "object_id": object_id,
              "details": details, "request_id": request_id, "head_key": self.file,
              "keeper": self._write_lock}
        if self.conn.in_transaction:  # part of the caller's write: stands or falls with it
            return audit.append(self.conn, action, **kw)
        with self.write():
            return audit.append(self.conn, action, **kw)

    def log_view(self, action: str, *, actor: str, object_type: str | None = None,
                 object_id: Any = None, details: dict[str, Any] | None = None,
                 request_id: str | None = None) -> int:
        """Record a view or list of records (``audit.VIEW_ACTIONS``) in the view log: one
        insert, with no wait on the audit chain's lock; the view log is sealed into the
        chain in batches (``seal_views``), here by the view whose id is a multiple of
        ``audit.VIEW_SEAL_ROWS``. Returns the view row's id."""
        from . import viewlog

        values = audit.view_row(action, actor=actor, object_type=object_type,
                                object_id=object_id, details=details, request_id=request_id)
        if self.postgres or self.conn.in_transaction:
            view_id = viewlog.insert(self.conn, values)
        else:  # SQLite: queue with this process's other writers (see ``write``)
            with self.write():
                view_id = viewlog.insert(self.conn, values)
        if view_id % audit.VIEW_SEAL_ROWS == 0 and not self.conn.in_transaction:
            self.seal_views()
        return view_id

    def seal_views(self, *, actor: str = SYSTEM_ACTOR) -> int:
        """Seal the view rows not sealed yet into the audit chain (``audit.seal_views``);
        how many it sealed."""
        from . import viewlog

        if self.conn.in_transaction:
            return audit.seal_views(self.conn, actor=actor, head_key=self.file)
        upto = viewlog.settled_last_id(self.conn)  # outside the transaction (PostgreSQL)
        with self.write():
            return audit.seal_views(self.conn, upto=upto, actor=actor, head_key=self.file)

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row))

    def all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        cols = [c[0] for c in cursor.description]
        return [dict(zip(cols, row)) for row in cursor.fetchall()]

    # -- people, teams and cases ------------------------------------------------------------
    def ensure_team(self, name: str, *, actor: str = SYSTEM_ACTOR) -> int:
        with self.write():
            row = self.one("SELECT id FROM teams WHERE name = ?", [name])
            if row:
                return row["id"]
            team_id = insert_or_nothing(
                self.conn, "INSERT INTO teams (name, created_at) VALUES (?, ?)",
                [name, audit.utcnow()], "(name)")
            if team_id is None:  # made by another writer meanwhile
                row = self.one("SELECT id FROM teams WHERE name = ?", [name])
                assert row is not None  # nosec B101 (for the type checker)
                return int(row["id"])
            self.audit("create", actor=actor, object_type="team", object_id=team_id)
            return team_id

    def get_person(self, ref: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM people WHERE ref = ?", [ref])

    def carried_field(self, case_id: int | None, field_id: str,
                      before_id: int) -> dict[str, Any] | None:
        """The value of ``field_id`` recorded on the latest finalised assessment of the
        case (other than ``before_id``), with that assessment's date: what a new
        assessment carries forward. None when no earlier assessment recorded it."""
        if case_id is None:
            return None
        field = json_field(self.conn, "fields")
        # by the case index (no_index: not the status index, every final assessment)
        status = no_index(self.conn, "status")
        return self.one(
            f"SELECT {field} AS value, assessment_date"  # nosec B608: helper's constant SQL
            f" FROM assessments WHERE case_id = ? AND id != ? AND {status} = 'final'"
            f" AND {field} IS NOT NULL"
            " ORDER BY assessment_date DESC, id DESC LIMIT 1",
            [field_id, case_id, before_id, field_id])

    def prefill_source(self, assessment_id: int, item_ids: list[str]) -> dict[str, Any] | None:
        """What a new assessment is offered from the previous occasion: the latest finalised
        assessment (amended ones by their current version) of the same instrument for the
        same person in the same case, other than ``assessment_id``, as its id, uid and date
        with its stored answers (JSON-decoded) to ``item_ids``. None when there is none."""
        this = self.one("SELECT person_id, case_id, instrument_id FROM assessments"
                        " WHERE id = ?", [assessment_id])
        if this is None or not item_ids:
            return None
        same_case = "a.case_id IS NULL" if this["case_id"] is None else "a.case_id = ?"
        earlier = self.one(
            "SELECT a.id, a.uid, a.assessment_date, a.created_at FROM assessments a"  # nosec B608: fixed fragments; values are bound
            f" WHERE a.person_id = ? AND a.instrument_id = ? AND {same_case}"
            " AND a.status = 'final' AND a.id != ?"
            " ORDER BY COALESCE(a.assessment_date, a.created_at) DESC, a.id DESC LIMIT 1",
            [this["person_id"], this["instrument_id"],
             *([] if this["case_id"] is None else [this["case_id"]]), assessment_id])
        if earlier is None:
            return None
        marks = ", ".join("?" for _ in item_ids)
        rows = self.all(
            "SELECT item_id, value FROM answers WHERE assessment_id = ?"  # nosec B608: placeholders only
            f" AND item_id IN ({marks})", [earlier["id"], *item_ids])
        return {"id": earlier["id"], "uid": earlier["uid"],
                "date": earlier["assessment_date"] or earlier["created_at"][:10],
                "answers": {r["item_id"]: json.loads(r["value"]) for r in rows}}

    # -- listings for the command line ------------------------------------------------------
    def find_case(self, ref_or_uid: str) -> dict[str, Any] | None:
        """The case with this uid, or else with this reference (any letter case)."""
        return (self.one("SELECT * FROM cases WHERE uid = ?", [ref_or_uid])
                or self.one(f"SELECT * FROM cases WHERE {nocase(self.conn, 'ref')}"  # nosec B608
                            f" = {nocase(self.conn, '?')}", [ref_or_uid]))

    def list_cases(self, *, team: str | None = None, status: str | None = None,
                   person: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Cases with their team, people and counts of assessments, newest first. ``team``
        ``"-"`` lists the cases that have no team."""
        where, params = [], []
        if team == "-":
            where.append("c.team_id IS NULL")
        elif team is not None:
            where.append("t.name = ?")
            params.append(team)
        if status is not None:
            where.append("c.status = ?")
            params.append(status)
        if person is not None:
            where.append("c.id IN (SELECT cp.case_id FROM case_people cp JOIN people p"
                         " ON p.id = cp.person_id WHERE p.ref = ?)")
            params.append(person)
        status = no_index(self.conn, "a.status")  # each case's by the case index
        sql = ("SELECT c.id, c.uid, c.ref, t.name AS team, c.status, c.opened_on, c.closed_on,"  # nosec B608: fragments are code constants; values are bound
               f" (SELECT {group_concat(self.conn, 'p.ref')} FROM case_people cp JOIN people p"
               "  ON p.id = cp.person_id WHERE cp.case_id = c.id) AS people,"
               " (SELECT COUNT(*) FROM assessments a WHERE a.case_id = c.id"
               f"  AND {status} = 'final') AS final,"
               " (SELECT COUNT(*) FROM assessments a WHERE a.case_id = c.id"
               f"  AND {status} = 'draft') AS drafts"
               " FROM cases c LEFT JOIN teams t ON t.id = c.team_id"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY c.id DESC LIMIT ?")
        return self.all(sql, [*params, limit])

    # -- the caseload: a team's cases with their latest risk, a page at a time --------------
    # The latest final assessment of case ``c``, its latest score and that score's level:
    # expressions over one case, each an index lookup (assessments_case, scores' unique
    # (assessment_id, seq), score_values' primary key). The status is written so that no
    # planner takes the status index beside or instead of the case index (``no_index``;
    # this form is the same on both databases): PostgreSQL without statistics read it too,
    # every final assessment of the database for each case of the page.
    _FINAL = "(a.status || '') = 'final'"
    _LATEST = ("(SELECT a.id FROM assessments a WHERE a.case_id = c.id AND " + _FINAL  # nosec B608: code constants
               + " ORDER BY a.assessment_date DESC, a.id DESC LIMIT 1)")
    _SCORE = ("(SELECT s.id FROM scores s WHERE s.assessment_id = " + _LATEST  # nosec B608: fragments are code constants; values are bound
              + " ORDER BY s.seq DESC LIMIT 1)")
    CASELOAD_SORTS = {
        # name: key expression, ascending: highest level first, latest assessment first
        # (a case never assessed last); ties by reference
        "reference": "c.ref",
        "level": "c.risk_order",  # kept by triggers (store_schema m008), indexed
        # ({days} is the dialect's day number: sql.day_number)
        "last": ("-COALESCE((SELECT {days} FROM assessments a"  # nosec B608: code constants
                 " WHERE a.case_id = c.id AND " + _FINAL + "), 0)"),
    }
    CASELOAD_FILTERS = {
        "team": "",
        "mine": (" AND EXISTS (SELECT 1 FROM web_case_assignments ca WHERE ca.case_id = c.id"
                 " AND ca.user_id = :me)"),
        "high": " AND c.risk_order = 0",
        "marac": (" AND EXISTS (SELECT 1 FROM score_values v WHERE v.score_id = " + _SCORE  # nosec B608: fragments are code constants; values are bound
                  + " AND v.kind = 'group' AND v.value_num = 1)"),
    }

    def caseload(self, team_ids: list[int], *, user_id: int | None = None,
                 show: str = "team", sort: str = "reference", after: str | None = None,
                 before: str | None = None, limit: int = 50) -> dict[str, Any]:
        """One page of the open cases of ``team_ids``, each with its latest final
        assessment's level, the criteria and flags it met, its date and the case's
        practitioner; filtered (``show``: team, mine, high, marac) and sorted in SQL.

        Keyset paging: ``after`` (or ``before``) is the uid of the last (first) case of the
        page shown, never an offset, so a later page costs what the first does. Only the
        page's cases are read in full. Returns ``rows`` and ``more_after`` /
        ``more_before``."""
        if sort not in self.CASELOAD_SORTS or show not in self.CASELOAD_FILTERS:
            raise ValueError("unknown sort or filter")
        if not team_ids:
            return {"rows": [], "more_after": False, "more_before": False}
        key = self.CASELOAD_SORTS[sort].replace(
            "{days}", day_number(self.conn, "MAX(a.assessment_date)"))
        params: dict[str, Any] = {f"t{i}": t for i, t in enumerate(team_ids)}
        params["me"] = user_id
        teams = ",".join(f":t{i}" for i in range(len(team_ids)))
        # Every expression here is a constant of this class; only values are parameters.
        where = (f"c.team_id IN ({teams}) AND c.status = 'open'"
                 + self.CASELOAD_FILTERS[show])
        cursor = after or before
        paged = False
        if cursor:
            mark = self.one(f"SELECT {key} AS k, c.ref FROM cases c WHERE c.uid = :uid",  # nosec B608
                            {"uid": cursor})
            if mark:
                paged = True
                where += f" AND ({key}, c.ref) {'>' if after else '<'} (:k, :r)"
                params.update(k=mark["k"], r=mark["ref"])
        backward = bool(before) and paged
        direction = "DESC" if backward else "ASC"
        ids = [r["id"] for r in self.all(
            f"SELECT c.id FROM cases c WHERE {where}"  # nosec B608
            f" ORDER BY {key} {direction}"
            + ("" if key == "c.ref" else f", c.ref {direction}") + " LIMIT :limit",
            {**params, "limit": limit + 1})]
        more = len(ids) > limit
        ids = ids[:limit]
        if backward:
            ids.reverse()
        by_id = {r["id"]: r for r in self._caseload_rows(ids)}
        rows = [by_id[i] for i in ids]
        if backward:
            return {"rows": rows, "more_before": more, "more_after": True}
        return {"rows": rows, "more_after": more, "more_before": bool(after and paged)}

    def case_list(self, team_ids: list[int], *, show: str = "open",
                  user_id: int | None = None, after: str | None = None,
                  before: str | None = None, limit: int = 50) -> dict[str, Any]:
        """One page of the cases of ``team_ids``, newest opened first (``show``: open, all,
        or mine: the open cases assigned to ``user_id``), with team and practitioner.
        Keyset paging as ``caseload``: ``after``/``before`` is a case's uid."""
        if not team_ids:
            return {"rows": [], "more_after": False, "more_before": False}
        teams = ",".join("?" for _ in team_ids)
        where = [f"c.team_id IN ({teams})"]
        params: list[Any] = list(team_ids)
        if show in ("open", "mine"):
            where.append("c.status = 'open'")
        if show == "mine":
            where.append("ca.user_id = ?")
            params.append(user_id)
        key = "COALESCE(c.opened_on, ''), c.id"
        backward = False
        if after or before:
            mark = self.one("SELECT COALESCE(opened_on, '') AS o, id FROM cases WHERE uid = ?",
                            [after or before])
            if mark:
                backward = bool(before)
                where.append(f"({key}) {'>' if backward else '<'} (?, ?)")
                params += [mark["o"], mark["id"]]
        direction = "ASC" if backward else "DESC"
        rows = self.all(
            "SELECT c.*, t.name AS team_name, u.display_name AS practitioner,"
            " u.id AS user_id FROM cases c JOIN teams t ON t.id = c.team_id"
            " LEFT JOIN web_case_assignments ca ON ca.case_id = c.id"
            " LEFT JOIN web_users u ON u.id = ca.user_id"
            f" WHERE {' AND '.join(where)}"  # nosec B608 (fragments written here)
            f" ORDER BY COALESCE(c.opened_on, '') {direction}, c.id {direction} LIMIT ?",
            [*params, limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        if backward:
            rows.reverse()
            return {"rows": rows, "more_before": more, "more_after": True}
        return {"rows": rows, "more_after": more, "more_before": bool(after)}

    def search_cases(self, team_ids: list[int], text: str, *,
                     limit: int = 100) -> tuple[list[dict[str, Any]], str]:
        """Cases of ``team_ids`` found by ``text``: by reference first (with or without its
        ``C-`` prefix, in any letter case), else by the name or username of the
        practitioner (part of either). Returns the cases (reference order, open ones first,
        at most ``limit``) and how they were found: "reference", "practitioner" or ""."""
        text = " ".join(text.split())
        if not team_ids or not text:
            return [], ""
        teams = ",".join("?" for _ in team_ids)
        refs = reference_forms(text)
        marks = ",".join("?" for _ in refs)
        columns = ("SELECT c.id, c.uid, c.ref, c.status, c.opened_on, t.name AS team_name,"
                   " u.display_name AS practitioner, u.id AS user_id FROM cases c"
                   " JOIN teams t ON t.id = c.team_id"
                   " LEFT JOIN web_case_assignments ca ON ca.case_id = c.id"
                   " LEFT JOIN web_users u ON u.id = ca.user_id")
        found = self.all(
            f"{columns} WHERE c.team_id IN ({teams})"  # nosec B608
            f" AND {nocase(self.conn, 'c.ref')} IN ({marks}) ORDER BY c.ref LIMIT ?",
            [*team_ids, *refs, limit])
        if found:
            return found, "reference"
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        found = self.all(
            f"{columns} WHERE c.team_id IN ({teams})"  # nosec B608
            f" AND (u.display_name {like(self.conn)} ? ESCAPE '\\'"
            f" OR u.username {like(self.conn)} ? ESCAPE '\\')"
            " ORDER BY c.status DESC, c.ref LIMIT ?", [*team_ids, pattern, pattern, limit])
        return found, "practitioner" if found else ""

    # -- the audit page ------------------------------------------------------------------
    def audit_entries(self, *, actor: str | None = None, action: str | None = None,
                      case_ref: str | None = None, since: str | None = None,
                      until: str | None = None, before: int | None = None,
                      views_before: int | None = None,
                      limit: int = 100) -> list[dict[str, Any]] | None:
        """Audit rows and view log rows together, newest first: by ``actor``, ``action``, the
        record (a case, with or without the prefix of its reference, and its assessments),
        the dates ``since`` to ``until`` (ISO dates, both included); the next page after
        audit row ``before`` and view row ``views_before`` (see ``audit_page_after``). Each
        row says where it is from (``source``: ``audit`` or ``view``). None when
        ``case_ref`` names no case.

        Each table is read newest first by id through its indexes (``limit`` rows at
        most), and the two are merged by time; a page continues each table after the last
        row of it shown, so that no row is skipped or shown twice."""
        where: list[str] = []
        params: list[str | int] = []
        for column, value in (("actor", actor), ("action", action)):
            if value:
                where.append(f"{column} = ?")  # column names from this tuple, never input
                params.append(value)
        if case_ref:
            forms = reference_forms(case_ref)
            marks = ",".join("?" for _ in forms)
            case = self.one(f"SELECT id FROM cases WHERE ref IN ({marks})"  # nosec B608
                            " ORDER BY ref LIMIT 1", forms)  # (marks: one ? a form)
            if case is None:
                return None
            where.append("((object_type = 'case' AND object_id = ?) OR (object_type ="
                         " 'assessment' AND object_id IN (SELECT CAST(id AS TEXT) FROM"
                         " assessments WHERE case_id = ?)))")
            params += [str(case["id"]), case["id"]]
        streams: list[list[dict[str, Any]]] = []
        for table, source, after in (("audit", "audit", before),
                                     ("view_log", "view", views_before)):
            terms, values = list(where), list(params)
            if since:  # rows from the first one of that day, by id (rows are in time order)
                terms.append("id >= ? AND at >= ?")
                values += [self._audit_first_id_at(since, table), since]
            if until:
                end = (dt.date.fromisoformat(until) + dt.timedelta(days=1)).isoformat()
                terms.append("id < ? AND at < ?")
                values += [self._audit_first_id_at(end, table), end]
            if after:
                terms.append("id < ?")
                values.append(after)
            sql = (f"SELECT id, at, actor, action, object_type, object_id, details FROM {table}"  # nosec B608 (table names from this tuple)
                   + (" WHERE " + " AND ".join(terms) if terms else "")
                   + " ORDER BY id DESC LIMIT ?")
            stream = self.all(sql, [*values, limit])
            for row in stream:
                row["source"] = source
            streams.append(stream)
        # a merge keeps each table's own order (by id), whatever the times within it
        merged = heapq.merge(*streams, reverse=True,
                             key=lambda r: (r["at"], r["source"] == "view", r["id"]))
        return list(itertools.islice(merged, limit))

    @staticmethod
    def audit_page_after(rows: list[dict[str, Any]], before: int | None = None,
                         views_before: int | None = None) -> dict[str, int]:
        """Where the page after ``rows`` (a page of ``audit_entries``, read with ``before``
        and ``views_before``) starts: ``before`` and ``views_before`` for the next call,
        each the last id of its table shown (or as it was, when none of it was)."""
        after = {"before": before, "views_before": views_before}
        for r in rows:
            name = "before" if r["source"] == "audit" else "views_before"
            after[name] = r["id"] if after[name] is None else min(after[name], r["id"])
        return {k: v for k, v in after.items() if v is not None}

    def _audit_first_id_at(self, when: str, table: str = "audit") -> int:
        """The id of the first row of ``table`` (the audit or the view log) written at or
        after ``when`` (one past the last row if none): a binary search over row ids, each
        step one primary-key read, since rows are appended in time order."""
        if table not in ("audit", "view_log"):
            raise ValueError(f"not a table of the audit trail: {table!r}")
        last = self.all(f"SELECT MAX(id) AS n FROM {table}")[0]["n"] or 0  # nosec B608 (checked above)
        lo, hi = 1, last + 1
        while lo < hi:
            mid = (lo + hi) // 2
            row = self.one(f"SELECT at FROM {table} WHERE id >= ? ORDER BY id LIMIT 1",  # nosec B608 (checked above)
                           [mid])
            if row is None or row["at"] >= when:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def audit_record_names(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict]:
        """What each audit row's record is, by references, never by ids or names: a case's
        reference; an assessment's case reference, instrument and occasion; a team's name;
        a person's reference; an account's username."""
        wanted: dict[str, set[str]] = {}
        for r in rows:
            if r["object_type"] and r["object_id"] is not None:
                wanted.setdefault(r["object_type"], set()).add(str(r["object_id"]))
        queries = {
            "case": "SELECT CAST(id AS TEXT) AS k, ref FROM cases WHERE id IN ({})",
            "assessment": ("SELECT CAST(a.id AS TEXT) AS k, c.ref, a.instrument_id,"
                           " a.occasion, a.version_no FROM assessments a"
                           " LEFT JOIN cases c ON c.id = a.case_id WHERE a.id IN ({})"),
            "team": "SELECT CAST(id AS TEXT) AS k, name AS ref FROM teams WHERE id IN ({})",
            "person": "SELECT CAST(id AS TEXT) AS k, ref FROM people WHERE id IN ({})",
            "user": ("SELECT CAST(id AS TEXT) AS k, username AS ref FROM web_users"
                     " WHERE id IN ({})"),
        }
        names: dict[tuple[str, str], dict] = {}
        for kind, ids in wanted.items():
            if kind not in queries:
                continue
            ids_list = sorted(ids)
            for start in range(0, len(ids_list), 500):
                chunk = ids_list[start:start + 500]
                sql = queries[kind].format(",".join("?" for _ in chunk))  # constants above
                for row in self.all(sql, chunk):
                    names[(kind, row.pop("k"))] = row
        return names

    def _caseload_rows(self, ids: list[int]) -> list[dict[str, Any]]:
        """The caseload's columns for these cases (a page: at most a few hundred)."""
        if not ids:
            return []
        marks = ",".join("?" for _ in ids)
        names = group_concat(self.conn, "v.name")
        return self.all(
            "WITH k AS (SELECT c.id, c.uid, c.ref, c.schedule, c.instruments, c.opened_on,"
            f"  c.status, {self._LATEST} AS aid, {self._SCORE} AS score_id"
            f"  FROM cases c WHERE c.id IN ({marks}))"  # nosec B608
            " SELECT k.*, a.assessment_date, a.instrument_id, a.instrument_version,"
            "  s.level_final,"
            f"  (SELECT {names} FROM score_values v WHERE v.score_id = k.score_id"
            "   AND v.kind = 'criterion' AND v.value_num = 1) AS criteria_met,"
            f"  (SELECT {names} FROM score_values v WHERE v.score_id = k.score_id"
            "   AND v.kind = 'flag' AND v.value_num = 1) AS flags,"
            "  ca.user_id, u.display_name AS practitioner"
            " FROM k LEFT JOIN assessments a ON a.id = k.aid"
            " LEFT JOIN scores s ON s.id = k.score_id"
            " LEFT JOIN web_case_assignments ca ON ca.case_id = k.id"
            " LEFT JOIN web_users u ON u.id = ca.user_id", ids)

    def team_id(self, name: str) -> int | None:
        row = self.one("SELECT id FROM teams WHERE name = ?", [name])
        return row["id"] if row else None

    def find_case_team(self, ref: str) -> dict[str, Any] | None:
        """An existing case's id, team id and team name, by reference."""
        return self.one("SELECT c.id, c.team_id, t.name AS team FROM cases c"
                        " LEFT JOIN teams t ON t.id = c.team_id WHERE c.ref = ?", [ref])

    def _has_accounts(self) -> bool:
        return self.one(table_exists_sql(self.conn), ["web_users"]) is not None

    def practitioner_problem(self, username: str, team_id: int | None) -> str | None:
        """Why this account cannot be a case's practitioner in that team, or None."""
        if not self._has_accounts():
            return "practitioner: this database has no user accounts"
        user = self.one("SELECT id, role, disabled FROM web_users"  # nosec B608: helper's SQL
                        f" WHERE {equals_nocase(self.conn, 'username')}", [username])
        if user is None:
            return f"no user {username[:80]!r}"
        if user["disabled"] or user["role"] not in ("practitioner", "supervisor"):
            return f"user {username[:80]!r} cannot hold cases (disabled, or not a practitioner)"
        if team_id is None:
            return "a practitioner needs the case's team: give the team too"
        if not self.one("SELECT 1 AS x FROM web_memberships WHERE user_id = ? AND team_id = ?",
                        [user["id"], team_id]):
            return f"user {username[:80]!r} is not in the case's team"
        return None

    def assign_case_team(self, case_id: int, team_id: int, *, actor: str = SYSTEM_ACTOR,
                         only_if_none: bool = False) -> bool:
        """Give a case a team (``only_if_none``: only when it has none); a practitioner
        outside the new team stops holding it. True when the case changed."""
        with self.write():
            row = self.one("SELECT team_id FROM cases WHERE id = ?", [case_id])
            if row is None:
                raise StorageError(f"no case {case_id}")
            if row["team_id"] == team_id or (only_if_none and row["team_id"] is not None):
                return False
            self.conn.execute("UPDATE cases SET team_id = ? WHERE id = ?", [team_id, case_id])
            self.audit("move", actor=actor, object_type="case", object_id=case_id,
                       details={"from_team": row["team_id"], "to_team": team_id})
            self.drop_assignment_outside_team(case_id, team_id)
            return True

    def drop_assignment_outside_team(self, case_id: int, team_id: int) -> bool:
        """A case's practitioner who is not in ``team_id`` stops holding it; True if so."""
        if not self._has_accounts():
            return False
        return self.conn.execute(
            "DELETE FROM web_case_assignments WHERE case_id = ? AND user_id NOT IN"
            " (SELECT user_id FROM web_memberships WHERE team_id = ?)",
            [case_id, team_id]).rowcount > 0

    def assign_case_practitioner(self, case_id: int, username: str, *,
                                 actor: str = SYSTEM_ACTOR) -> None:
        with self.write():
            user = self.one("SELECT id FROM web_users"  # nosec B608: helper's SQL
                            f" WHERE {equals_nocase(self.conn, 'username')}", [username])
            if user is None:
                raise StorageError(f"no user {username[:80]!r}")
            self.conn.execute(
                "INSERT INTO web_case_assignments (case_id, user_id) VALUES (?, ?)"
                " ON CONFLICT (case_id) DO UPDATE SET user_id = excluded.user_id",
                [case_id, user["id"]])
            self.audit("assign", actor=actor, object_type="case", object_id=case_id,
                       details={"user_id": user["id"]})

    def list_assessments(self, *, case: str | None = None, person: str | None = None,
                         instrument: str | None = None, occasion: str | None = None,
                         status: str | None = None, limit: int = 1000
                         ) -> list[dict[str, Any]]:
        """Assessments with their case, person and latest level, newest first. ``case`` is a
        case's uid or reference."""
        where, params = [], []
        if case is not None:
            found = self.find_case(case)
            if found is None:
                raise StorageError(f"no case with the uid or reference {case[:80]!r}")
            where.append("a.case_id = ?")
            params.append(found["id"])
        for column, value in (("p.ref", person), ("a.instrument_id", instrument),
                              ("a.occasion", occasion), ("a.status", status)):
            if value is not None:
                where.append(f"{column} = ?")  # nosec B608: column names are constants above
                params.append(value)
        sql = ("SELECT a.uid, c.ref AS case_ref, p.ref AS person, a.instrument_id AS instrument,"  # nosec B608: fragments are code constants; values are bound
               " a.instrument_version AS version, a.occasion, a.assessment_date, a.status,"
               " (SELECT s.level_final FROM scores s WHERE s.assessment_id = a.id"
               "  ORDER BY s.seq DESC LIMIT 1) AS level"
               " FROM assessments a JOIN people p ON p.id = a.person_id"
               " LEFT JOIN cases c ON c.id = a.case_id"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY a.id DESC LIMIT ?")
        return self.all(sql, [*params, limit])

    def ensure_person(self, ref: str, role: str | None, *, actor: str = SYSTEM_ACTOR,
                      display_name: str | None = None, birth_year: int | None = None) -> int:
        """The person with this reference, created if new. A known person's role must match."""
        with self.write():
            row = self.get_person(ref)
            if row is None:
                if role not in ("victim_survivor", "service_user"):
                    raise StorageError(f"person {ref!r} is new: give their role"
                                       " (victim_survivor or service_user)")
                person_id = insert_or_nothing(
                    self.conn,
                    "INSERT INTO people (ref, role, display_name, birth_year, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [ref, role, display_name, birth_year, audit.utcnow()], "(ref)")
                if person_id is None:  # made by another writer meanwhile
                    row = self.get_person(ref)
            if row is not None:
                if role and row["role"] != role:
                    raise StorageError(
                        f"person {ref!r} is recorded as {row['role']}, not {role}")
                return int(row["id"])
            assert person_id is not None  # nosec B101 (for the type checker)
            self.audit("create", actor=actor, object_type="person", object_id=person_id)
            return person_id

    def create_case(self, ref: str, *, team_id: int | None = None,
                    instruments: list[str] | None = None, opened_on: str | None = None,
                    people: Iterable[tuple[int, str]] = (), actor: str = SYSTEM_ACTOR,
                    request_id: str | None = None) -> int:
        """A case following ``instruments`` (ids): its schedule is their occasions."""
        followed = self._followed(instruments or [])
        with self.write():
            case_id = insert_or_nothing(
                self.conn,
                "INSERT INTO cases (uid, ref, team_id, instruments, opened_on, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [new_uid(), ref, team_id, json.dumps(followed), opened_on, audit.utcnow()],
                "(ref)")
            if case_id is None:
                raise StorageError(f"case reference {ref!r} is already in use")
            for person_id, role in people:
                self.conn.execute(
                    "INSERT INTO case_people (case_id, person_id, role) VALUES (?, ?, ?)",
                    [case_id, person_id, role])
            self.audit("create", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id)
            return case_id

    def close_case(self, case_id: int, *, closed_on: str, reason: str, actor: str = SYSTEM_ACTOR,
                   request_id: str | None = None) -> None:
        """Close an open case (its schedule stops being due). ``reason`` is one of
        ``CASE_CLOSE_REASONS``."""
        if reason not in CASE_CLOSE_REASONS:
            raise StorageError(f"unknown reason for closing a case: {reason!r}")
        with self.write():
            cur = self.conn.execute(
                "UPDATE cases SET status = 'closed', closed_on = ?, closed_reason = ?"
                " WHERE id = ? AND status = 'open'", [closed_on, reason, case_id])
            if cur.rowcount != 1:
                raise StorageError(f"case {case_id} is not open")
            self.audit("close", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id, details={"reason": reason})

    def add_case_person(self, case_id: int, person_id: int, role: str, *,
                        actor: str = SYSTEM_ACTOR, request_id: str | None = None) -> None:
        """Add a person to a case that has nobody in that role yet (``UNIQUE (case_id,
        role)``: of two requests at once, the second is refused with a StorageError)."""
        with self.write():
            added = self.conn.execute(
                "INSERT INTO case_people (case_id, person_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING case_id", [case_id, person_id, role]
            ).fetchall()
            if not added:
                raise StorageError(f"case {case_id} already has a {role}")
            self.audit("add_person", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id, details={"role": role})

    def remove_case_person(self, case_id: int, role: str, *, actor: str = SYSTEM_ACTOR,
                           request_id: str | None = None) -> None:
        """Take off a case a person recorded by mistake: only someone with no assessment
        on it, and never the case's only person. The person's row goes too unless another
        case or assessment refers to it."""
        with self.write():
            people = self.all("SELECT person_id, role FROM case_people WHERE case_id = ?",
                              [case_id])
            person = next((p["person_id"] for p in people if p["role"] == role), None)
            if person is None:
                raise StorageError(f"case {case_id} has no {role}")
            if len(people) == 1:
                raise StorageError(f"the {role} is the only person on case {case_id}")
            if self.one("SELECT 1 AS x FROM assessments WHERE case_id = ? AND person_id = ?",
                        [case_id, person]):
                raise StorageError(f"the {role} on case {case_id} has assessments")
            self.conn.execute("DELETE FROM case_people WHERE case_id = ? AND person_id = ?",
                              [case_id, person])
            self.conn.execute(
                "DELETE FROM people WHERE id = ?"
                " AND NOT EXISTS (SELECT 1 FROM case_people WHERE person_id = ?)"
                " AND NOT EXISTS (SELECT 1 FROM assessments WHERE person_id = ?)",
                [person, person, person])
            self.audit("remove_person", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id, details={"role": role})

    def _followed(self, instruments: list[str]) -> list[str]:
        unknown = [i for i in instruments if i not in self.engine.instruments]
        if unknown:
            raise StorageError(f"no instrument {', '.join(map(repr, unknown))} is installed")
        return list(dict.fromkeys(instruments))

    def set_case_instruments(self, case_id: int, instruments: list[str], *,
                             actor: str = SYSTEM_ACTOR, request_id: str | None = None) -> None:
        """The instruments a case follows: its schedule is their occasions, due from its
        opening date."""
        followed = self._followed(instruments)
        with self.write():
            cur = self.conn.execute("UPDATE cases SET instruments = ? WHERE id = ?",
                                    [json.dumps(followed), case_id])
            if cur.rowcount != 1:
                raise StorageError(f"no case {case_id}")
            self.audit("schedule", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id, details={"instruments": followed})

    def schedule_done(self, case_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
        """For each case, the (instrument, occasion) schedule entries done: those with a
        final assessment. Finalising a draft (``finalise``) is what marks its entry done;
        an amendment keeps it done (the new version is final), ``after_incident`` is never
        an entry."""
        done: dict[int, set[tuple[str, str]]] = {i: set() for i in case_ids}
        for start in range(0, len(case_ids), 500):  # SQLite's limit on parameters
            chunk = case_ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            # by the case index: the status index would read every final assessment
            status = no_index(self.conn, "status")
            for r in self.all(
                    "SELECT DISTINCT case_id, instrument_id, occasion FROM assessments"
                    f" WHERE {status} = 'final' AND case_id IN ({marks})", chunk):  # nosec B608
                done[r["case_id"]].add((r["instrument_id"], r["occasion"]))
        return done

    def move_case(self, case_id: int, team_id: int, *, actor: str = SYSTEM_ACTOR,
                  request_id: str | None = None) -> int | None:
        """Give a case to another team; returns the team it had."""
        with self.write():
            row = self.one("SELECT team_id FROM cases WHERE id = ?", [case_id])
            if row is None:
                raise StorageError(f"no case {case_id}")
            if not self.one("SELECT 1 AS x FROM teams WHERE id = ?", [team_id]):
                raise StorageError(f"no team {team_id}")
            if row["team_id"] == team_id:
                raise StorageError(f"case {case_id} is already in team {team_id}")
            self.conn.execute("UPDATE cases SET team_id = ? WHERE id = ?", [team_id, case_id])
            self.audit("move", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id,
                       details={"from_team": row["team_id"], "to_team": team_id})
            return row["team_id"]

    def reopen_case(self, case_id: int, *, actor: str = SYSTEM_ACTOR,
                    request_id: str | None = None) -> None:
        with self.write():
            cur = self.conn.execute(
                "UPDATE cases SET status = 'open', closed_on = NULL, closed_reason = NULL"
                " WHERE id = ? AND status = 'closed'", [case_id])
            if cur.rowcount != 1:
                raise StorageError(f"case {case_id} is not closed")
            self.audit("reopen", actor=actor, object_type="case", object_id=case_id,
                       request_id=request_id)

    # -- assessments ------------------------------------------------------------------------
    @staticmethod
    def _answer_rows(assessment_id: int, sub: Submission) -> list[tuple]:
        return [(assessment_id, item_id, encode_value(value), sub.comments.get(item_id),
                 sub.sources.get(item_id), sub.carried.get(item_id))
                for item_id, value in sub.answers.items()]

    def _insert_answers(self, assessment_id: int, sub: Submission) -> None:
        insert_many(self.conn, "answers", ANSWER_COLUMNS, self._answer_rows(assessment_id, sub))

    def create_assessment(self, inst: Instrument, sub: Submission, *, person_id: int,
                          occasion: str, assessor: str | None = None, status: str = "final",
                          case_id: int | None = None, actor: str = SYSTEM_ACTOR,
                          request_id: str | None = None, supersedes: dict | None = None,
                          amendment_reason: str | None = None, audit_row: bool = True,
                          audit_details: dict[str, Any] | None = None,
                          notify: bool = True, language: str | None = None) -> int:
        """Store a checked submission; a final one is scored on the way in. With ``notify``
        the ``assessment_saved`` hook runs after the commit (a caller whose transaction
        this is part of notifies after its own commit instead). ``language``: the one it
        is completed in (an amendment keeps that of the version it replaces; else English)."""
        if language is None:
            language = supersedes.get("language", "en") if supersedes else "en"
        if occasion not in inst.occasions and occasion != "after_incident":
            raise StorageError(
                f"instrument {inst.id} is not used at occasion {occasion!r} "
                f"(occasions: {', '.join(inst.occasions)}, after_incident)")
        if status == "final":
            require_fields_for_final(inst, sub, f"assessment of {inst.id}")
        if inst.retired and supersedes is None:
            raise StorageError(
                f"instrument {inst.id} v{inst.version} is retired (its definition file is "
                "gone; its stored assessments use the stored copy): start new assessments "
                f"with a registered version of {inst.id}")
        result = self.engine.score(inst, sub) if status == "final" else None
        now = audit.utcnow()
        date = sub.fields.get(inst.assessment_date_field)
        from .snapshots import snapshot_id

        with self.write():
            assessment_id = insert_returning_id(
                self.conn,
                "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
                " instrument_version, snapshot_id, occasion, assessment_date, assessor,"
                " status, wording, fields, judgement, version_no, supersedes_id,"
                " amendment_reason, created_at, updated_at, finalised_at, draft_answers,"
                " language)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [new_uid(), person_id, case_id, inst.id, inst.version,
                 snapshot_id(self, inst), occasion,
                 date.isoformat() if date else None, assessor, status, sub.wording,
                 json.dumps(sub.to_json().get("fields", {}), ensure_ascii=False),
                 json.dumps(sub.judgement) if sub.judgement else None,
                 (supersedes["version_no"] + 1) if supersedes else 1,
                 supersedes["id"] if supersedes else None, amendment_reason, now, now,
                 now if status == "final" else None,
                 draft_document(sub) if status == "draft" else None, language])
            if status != "draft":  # a draft's answers are in its draft_answers document
                self._insert_answers(assessment_id, sub)
            if result is not None:
                self.add_score(assessment_id, result)
            if audit_row:
                self.audit("amend" if supersedes else "create", actor=actor,
                           object_type="assessment", object_id=assessment_id,
                           request_id=request_id,
                           details={"instrument": inst.id, "occasion": occasion,
                                    "status": status, "items": len(sub.answers),
                                    **(audit_details or {})})
        if notify:
            self._saved(assessment_id, result)
        return assessment_id

    def notify_saved(self, first_id: int, last_id: int) -> None:
        """Run the ``assessment_saved`` hook for assessments ``first_id`` to ``last_id``
        (committed, e.g. by an import), with each one's latest result, reading them a few
        at a time; nothing is read when no plugin listens."""
        if not self.engine.pm.hook.assessment_saved.get_hookimpls():
            return
        for start in range(first_id, last_id + 1, 500):
            rows = self.all(
                "SELECT a.id, s.result, s.config_name, sc.record FROM assessments a"  # nosec B608: a code constant
                " LEFT JOIN scores s ON s.id = (SELECT s2.id FROM scores s2"
                " WHERE s2.assessment_id = a.id ORDER BY s2.seq DESC LIMIT 1) "
                + RESULT_CONFIGURATION + " WHERE a.id BETWEEN ? AND ? ORDER BY a.id",
                [start, min(last_id, start + 499)])
            for row in rows:
                self._saved(row["id"], read_result(row["result"], row["config_name"],
                                                   row["record"]) if row["result"] else None)

    def _saved(self, assessment_id: int, result: dict | None) -> None:
        import logging

        for impl in reversed(self.engine.pm.hook.assessment_saved.get_hookimpls()):
            try:
                impl.function(store=self, assessment_id=assessment_id, result=result)
            except Exception:  # a plugin's failure must not undo a committed save
                logging.getLogger(__name__).exception(
                    "plugin %s failed in assessment_saved", impl.plugin_name)

    def add_score(self, assessment_id: int, result: dict[str, Any]) -> int:
        """Add a score row (never overwrite) with the assessment's next sequence number.

        The number is worked out in the INSERT itself, one writer of the assessment's scores
        at a time (on PostgreSQL a transaction-scoped lock on the assessment's scores); a
        row numbered the same meanwhile by a writer that did not take it (``UNIQUE
        (assessment_id, seq)``) makes this one try the next number, so that concurrent saves
        neither collide nor fail."""
        level = result.get("level") or {}
        values = [assessment_id, result["instrument"]["id"], result["instrument"]["version"],
                  result["scorer"]["plugin"], result["scorer"]["version"],
                  result["configuration"]["name"], result["configuration"]["hash"],
                  int(bool(result.get("complete"))), level.get("final"),
                  result_text(result), audit.utcnow()]
        from .sql import serialise_on

        with self.write():
            add_configurations(self.conn, {result["configuration"]["hash"]:
                                           configuration_text(result["configuration"])})
            # PostgreSQL: writers numbering the same assessment's scores take turns, so that
            # none loses the race for the next number every time under load (SQLite's
            # writers already take turns)
            serialise_on(self.conn, f"scores:{assessment_id}")
            for _attempt in range(SCORE_ATTEMPTS):
                score_id = insert_or_nothing(
                    self.conn,
                    "INSERT INTO scores (assessment_id, instrument_id, instrument_version,"
                    " scorer_plugin, scorer_version, config_name, config_hash, complete,"
                    " level_final, result, created_at, seq) SELECT ?,?,?,?,?,?,?,?,?,?,?,"
                    " (SELECT COALESCE(MAX(seq), 0) + 1 FROM scores WHERE assessment_id = ?)"
                    " WHERE 1 = 1",  # (SQLite reads ON CONFLICT after a WHERE only)
                    [*values, assessment_id], "(assessment_id, seq)")
                if score_id is not None:
                    break
            else:
                raise BusyError("the assessment's scores are being saved by others; nothing "
                                "was saved: try again in a moment")
            insert_many(self.conn, "score_values", SCORE_VALUE_COLUMNS,
                        score_value_rows(score_id, result))
            return score_id

    def get_assessment(self, assessment_id: int) -> dict[str, Any] | None:
        row = self.one(self.assessment_query("a.id = ?"), [assessment_id])
        return None if row is None else self.assessment_from_row(row)

    def assessment_query(self, where: str, *, columns: str = "", joins: str = "") -> str:
        """The statement that reads assessments (``a``) with every answer and the latest
        result in one row, as ``assessment_from_row`` takes them: ``where`` (code constants
        and placeholders) chooses them; ``columns`` (each after a comma) and ``joins`` add
        to the row, under names that no assessment column has. One row: each statement and
        each row fetched is a step into SQLite (which lets other server threads run and then
        waits to get back in), and on PostgreSQL a round trip."""
        packed = json_array_agg(
            self.conn, json_array(self.conn, "item_id", "value", "comment", "source",
                                  "carried_from"))
        return ("SELECT a.*, CASE WHEN a.status = 'draft' THEN NULL ELSE"  # nosec B608: helpers' SQL and the caller's code constants
                f" (SELECT {packed} FROM answers WHERE assessment_id = a.id) END AS"
                " packed_answers, fe_s.result AS fe_score_result, fe_s.config_name AS"
                f" fe_score_config, fe_sc.record AS fe_score_record{columns}"
                " FROM assessments a"
                # its latest score (drafts have none), by the (assessment_id, seq) index
                " LEFT JOIN scores fe_s ON fe_s.id = (SELECT s.id FROM scores s"
                " WHERE s.assessment_id = a.id ORDER BY s.seq DESC LIMIT 1)"
                f" LEFT JOIN score_configurations fe_sc ON fe_sc.hash = fe_s.config_hash{joins}"
                f" WHERE {where}")

    def assessment_from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """An assessment as ``get_assessment`` gives it, from a row of ``assessment_query``
        (with only its own columns left in it), its latest result included."""
        row["fields"] = json.loads(row["fields"])
        row["judgement"] = json.loads(row["judgement"]) if row["judgement"] else None
        draft, packed = row.pop("draft_answers"), row.pop("packed_answers")
        if row["status"] == "draft":
            row["answers"], row["comments"], row["sources"] = read_draft_document(draft)
            row["carried"], row["declined"], row["declined_fields"] = read_draft_carried(draft)
        else:
            row["answers"], row["comments"], row["sources"], row["carried"] = {}, {}, {}, {}
            # a finalised assessment is offered nothing
            row["declined"], row["declined_fields"] = [], []
            for item_id, value, comment, source, carried in json.loads(packed or "[]"):
                row["answers"][item_id] = json.loads(value)
                if comment:
                    row["comments"][item_id] = comment
                if source:
                    row["sources"][item_id] = source
                if carried:
                    row["carried"][item_id] = carried
        result, config_name = row.pop("fe_score_result"), row.pop("fe_score_config")
        record = row.pop("fe_score_record")
        row["result"] = (None if result is None or row["status"] == "draft"  # (has none)
                         else read_result(result, config_name, record))
        row["draft_result"] = json.loads(row["draft_result"]) if row["draft_result"] else None
        return row

    def submission_data(self, row: dict[str, Any]) -> dict[str, Any]:
        """The stored assessment as answers-file data, for rescoring or editing."""
        data = {"instrument": row["instrument_id"], "version": row["instrument_version"],
                "answers": row["answers"], "fields": row["fields"], "wording": row["wording"]}
        for key in ("comments", "sources", "carried", "declined", "declined_fields"):
            if row.get(key):
                data[key] = row[key]
        if row.get("judgement"):
            data["judgement"] = row["judgement"]
        return data

    def draft_score(self, sub: Submission) -> dict[str, Any] | None:
        """The provisional result of a checked draft (None when no plugin can score it)."""
        try:
            return self.engine.score(
                self.engine.instruments.get(sub.instrument_id, sub.version), sub)
        except SubmissionError:
            return None

    def update_draft(self, assessment_id: int, sub: Submission, *, expected_revision: int,
                     actor: str, request_id: str | None = None,
                     previous: dict[str, Any] | None = None,
                     judgement_before: dict[str, str] | None | object = KEEP,
                     carried_forward: dict[str, Any] | None = None,
                     declined_offers: dict[str, Any] | None = None) -> int:
        """Replace a draft's answers and its provisional result (scored here, on the
        server, at every save). Fails cleanly when someone else saved first.

        ``previous``: the answers the caller read at ``expected_revision`` (every change of
        answers moves the revision on, so they are still the stored ones when the revision
        matches); saves reading them again for the audit row's list of changed items.
        ``judgement_before``: the judgement the caller read, when the save may change it (the
        audit row then says how it changed).
        ``carried_forward``: the answers this save confirms as carried forward from an
        earlier assessment (``{"items": [...], "from_assessment": uid, "from_date": date}``),
        recorded in the save's audit row. ``declined_offers``: what was offered that this
        save leaves empty on purpose (``{"items": [...], "from_assessment": uid}`` for
        answers offered from an earlier assessment, ``{"fields": [...]}`` for the details
        page's fields), recorded in the audit row as ``offers_declined``."""
        draft_result = self.draft_score(sub)
        # Everything that can be prepared is prepared before the write lock is taken.
        date = sub.fields.get(
            self.engine.instruments.get(sub.instrument_id, sub.version).assessment_date_field)
        values = [json.dumps(sub.to_json().get("fields", {}), ensure_ascii=False),
                  json.dumps(sub.judgement) if sub.judgement else None, sub.wording,
                  date.isoformat() if date else None,
                  json.dumps(draft_result, ensure_ascii=False, default=str)
                  if draft_result else None, audit.utcnow(), assessment_id]
        after = {k: encode_value(v) for k, v in sub.answers.items()}
        document = draft_document(sub)

        def audit_details(previous: dict[str, Any]) -> dict[str, Any]:
            before = {k: encode_value(v) for k, v in previous.items()}
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            details: dict[str, Any] = {"changed_items": changed}
            if carried_forward:
                details["carried_forward"] = carried_forward
            if declined_offers:
                details["offers_declined"] = declined_offers
            if judgement_before is not KEEP:
                details.update(judgement_details(cast("dict[str, str] | None", judgement_before),
                                                 sub.judgement) or {})
            return details

        # (with the answers read by the caller, the audit row's details are ready too)
        details = audit_details(previous) if previous is not None else None
        with self.write():
            if details is None:  # read the answers (before they are replaced)
                stored = self.one("SELECT draft_answers FROM assessments WHERE id = ?",
                                  [assessment_id])
                details = audit_details(
                    read_draft_document(stored["draft_answers"])[0] if stored else {})
            # The revision check is the update's own condition: one statement, not two.
            updated = self.conn.execute(
                "UPDATE assessments SET draft_answers = ?, fields = ?, judgement = ?,"
                " wording = ?, assessment_date = ?, draft_result = ?, revision = revision + 1,"
                " updated_at = ? WHERE id = ? AND status = 'draft' AND revision = ?",
                [document, *values, expected_revision]).rowcount
            if updated != 1:
                row = self.one("SELECT status FROM assessments WHERE id = ?", [assessment_id])
                if row is None:
                    raise StorageError(f"no assessment {assessment_id}")
                if row["status"] != "draft":
                    raise LockedError("this assessment is finalised and locked; amend it "
                                      "instead")
                raise StaleEditError(
                    "this assessment was changed by someone else since you opened it; "
                    "nothing was saved: reload it to see their changes")
            self.audit("update", actor=actor, object_type="assessment", object_id=assessment_id,
                       request_id=request_id, details=details)
            return expected_revision + 1

    def _refuse_if_case_closed(self, row: dict[str, Any]) -> None:
        if row["case_id"] is not None and self.one(
                "SELECT 1 AS x FROM cases WHERE id = ? AND status = 'closed'", [row["case_id"]]):
            raise CaseClosedError("This case is closed, so its assessments cannot be "
                                  "finalised: reopen the case to finalise this one")

    def finalise(self, assessment_id: int, *, expected_revision: int, actor: str,
                 request_id: str | None = None,
                 judgement: dict[str, str] | None | object = KEEP) -> dict[str, Any]:
        """Score and lock a draft, exactly as it stood at ``expected_revision`` (the version
        the finaliser checked); any later save makes this fail with nothing changed. This
        completes its case's schedule entry for the instrument and occasion (see
        ``schedule_done``). A draft on a closed case is refused (``CaseClosedError``):
        nothing is due on a closed case, and reopening it comes first.

        ``judgement``: the professional judgement to lock with it (``None``: none), checked
        and stored in the same statement as the lock; by default the one saved on the
        draft."""
        row = self.get_assessment(assessment_id)
        if row is None:
            raise StorageError(f"no assessment {assessment_id}")
        if row["status"] == "draft":
            self._refuse_if_case_closed(row)
        if row["status"] == "draft" and row["revision"] != expected_revision:
            # what was read is not the version the caller means: score nothing from it
            raise StaleEditError(
                "this assessment was changed or finalised by someone else; nothing was saved")
        data = self.submission_data(row)
        if judgement is not KEEP:
            data.pop("judgement", None)
            if judgement:
                data["judgement"] = judgement
        inst, sub = self.engine.check(data)
        require_fields_for_final(inst, sub, f"assessment of {inst.id}")
        result = self.engine.score(inst, sub)
        with self.write():
            cur = self.conn.execute(
                "UPDATE assessments SET status = 'final', revision = revision + 1,"
                " judgement = ?, draft_result = NULL, draft_answers = NULL, finalised_at = ?,"
                " updated_at = ? WHERE id = ? AND status = 'draft' AND revision = ?",
                [json.dumps(sub.judgement) if sub.judgement else None, audit.utcnow(),
                 audit.utcnow(), assessment_id, expected_revision])
            if cur.rowcount != 1:
                raise StaleEditError(
                    "this assessment was changed or finalised by someone else; nothing was saved")
            self._refuse_if_case_closed(row)  # closed since it was read: rolled back
            # the answers read above are the draft's at this revision: now stored as rows
            self._insert_answers(assessment_id, sub)
            self.add_score(assessment_id, result)
            self.audit("lock", actor=actor, object_type="assessment", object_id=assessment_id,
                       request_id=request_id, details=judgement_details(row["judgement"],
                                                                        sub.judgement))
        self._saved(assessment_id, result)
        return result

    def amend(self, assessment_id: int, sub: Submission, *, reason: str, actor: str,
              request_id: str | None = None) -> int:
        """A new final version of a finalised assessment; the old one is kept as superseded."""
        if not reason or not reason.strip():
            raise StorageError("an amendment needs a reason")
        inst = self.engine.instruments.get(sub.instrument_id, sub.version)
        with self.write():
            old = self.one("SELECT * FROM assessments WHERE id = ?", [assessment_id])
            if old is None:
                raise StorageError(f"no assessment {assessment_id}")
            if old["status"] != "final":
                raise StaleEditError(
                    "only the current final version can be amended; it was amended or is a "
                    "draft")
            self.conn.execute("UPDATE assessments SET status = 'superseded', updated_at = ?"
                              " WHERE id = ?", [audit.utcnow(), assessment_id])
            before = json.loads(old["judgement"]) if old["judgement"] else None
            new_id = self.create_assessment(
                inst, sub, person_id=old["person_id"], occasion=old["occasion"],
                assessor=old["assessor"], status="final", case_id=old["case_id"], actor=actor,
                request_id=request_id, supersedes=old, amendment_reason=reason.strip(),
                audit_details=judgement_details(before, sub.judgement), notify=False)
        self.notify_saved(new_id, new_id)  # after the amendment's commit
        return new_id

    def rescore(self, assessment_id: int, *, actor: str = SYSTEM_ACTOR) -> dict[str, Any]:
        row = self.get_assessment(assessment_id)
        if row is None or row["status"] == "draft":
            raise StorageError(f"assessment {assessment_id} is not a final assessment")
        inst, sub = self.engine.check(self.submission_data(row))
        result = self.engine.score(inst, sub)
        with self.write():
            self.add_score(assessment_id, result)
            self.audit("rescore", actor=actor, object_type="assessment",
                       object_id=assessment_id, details={"config": result["configuration"]["hash"]})
        return result


def judgement_details(before: dict | None, after: dict | None) -> dict[str, Any] | None:
    """For an audit row: how a professional judgement changed (its levels, never its
    reason's words; None when it did not change)."""
    if (before or None) == (after or None):
        return None
    return {"judgement": {"from": (before or {}).get("level"),
                          "to": (after or {}).get("level"),
                          "reason_changed": (before or {}).get("reason") !=
                          (after or {}).get("reason")}}


def score_value_rows(score_id: int, result: dict[str, Any]) -> Iterator[tuple]:
    """A scored result flattened to (kind, name, number, text) rows for queries and exports."""

    def row(kind: str, name: str, value: Any) -> tuple:
        if isinstance(value, bool):
            return (score_id, kind, name, float(value), None)
        if isinstance(value, (int, float)):
            return (score_id, kind, name, float(value), None)
        return (score_id, kind, name, None, None if value is None else str(value))

    for name, value in (result.get("scores") or {}).items():
        yield row("score", name, value)
    for name, value in (result.get("bands") or {}).items():
        yield row("band", name, value)
    level = result.get("level") or {}
    for name in ("computed", "judged", "final"):
        if level:
            yield row("level", name, level.get(name))
    for name, value in (result.get("flags") or {}).items():
        yield row("flag", name, value)
    for name, value in (result.get("criteria") or {}).items():
        yield row("criterion", name, value)
    for name, value in (result.get("criteria_groups") or {}).items():
        yield row("group", name, value.get("met"))


# The kinds of score value whose rows are one per name of a mapping of the result: those
# before the level's rows, then those after them (score_value_rows' order)
_VALUE_MAPPINGS = ((("score", "scores"), ("band", "bands")),
                   (("flag", "flags"), ("criterion", "criteria")))


def _sort_value(row: tuple, value: Any, numbers: list[tuple], texts: list[tuple],
                empty: list[tuple]) -> None:
    if value is None:
        empty.append(row)
    elif isinstance(value, (int, float)):
        numbers.append((*row, float(value)))
    else:
        texts.append((*row, str(value)))


def sort_score_values(score_id: int, result: dict[str, Any], numbers: list[tuple],
                      texts: list[tuple], empty: list[tuple]) -> None:
    """The rows of ``score_value_rows(score_id, result)``, appended by which value column
    they fill: (score_id, kind, name, number) to ``numbers``, (score_id, kind, name, text) to
    ``texts`` and (score_id, kind, name) to ``empty``. The same values as
    ``score_value_rows`` (in its order within each list), made without a call per score or
    flag: a bulk import writes each list with one statement that names only its columns."""
    for part, mappings in enumerate(_VALUE_MAPPINGS):
        if part:
            level = result.get("level")
            if level:
                for name in ("computed", "judged", "final"):
                    _sort_value((score_id, "level", name), level.get(name), numbers, texts,
                                empty)
        for kind, key in mappings:
            for name, value in (result.get(key) or {}).items():
                cls = value.__class__
                if cls is bool or cls is int or cls is float:
                    numbers.append((score_id, kind, name, float(value)))
                else:
                    _sort_value((score_id, kind, name), value, numbers, texts, empty)
    for name, group in (result.get("criteria_groups") or {}).items():
        _sort_value((score_id, "group", name), group.get("met"), numbers, texts, empty)


# -- a score's configuration record, stored once per configuration hash (core_0012) ----------
RESULT_CONFIGURATION = ("LEFT JOIN score_configurations sc ON sc.hash = s.config_hash")


def configuration_text(configuration: dict[str, Any]) -> str:
    """The stored text of a configuration record: the record without its name (which the
    score row's ``config_name`` holds). The hash covers the instrument, its version and every
    parameter (and a scorer's own configuration), so every record of one hash is the same
    but for its name."""
    return json.dumps({k: v for k, v in configuration.items() if k != "name"},
                      ensure_ascii=False, default=str)


def result_text(result: dict[str, Any]) -> str:
    """A result as a score row stores it: without its configuration record, which
    ``score_configurations`` keeps once for its hash (``configuration_text``)."""
    return _result_json({k: v for k, v in result.items() if k != "configuration"})


# what json.dumps(..., ensure_ascii=False, default=str) gives, without making an encoder a call
_result_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def add_configurations(conn: Any, records: dict[str, str]) -> None:
    """Keep these configuration records (hash -> ``configuration_text``), each once: a hash
    already kept is left as it is. Inside the caller's write."""
    if records:
        conn.executemany("INSERT INTO score_configurations (hash, record) VALUES (?, ?)"
                         " ON CONFLICT (hash) DO NOTHING", list(records.items()))


def read_result(text: str, config_name: str, record: str | None) -> dict[str, Any]:
    """A stored result with its configuration record put back where scoring put it (after
    the scorer's record). ``record``: the kept record of the score's hash (read through
    ``RESULT_CONFIGURATION``); a result that holds its own record is returned as stored."""
    result: dict[str, Any] = json.loads(text)
    if "configuration" in result or record is None:
        return result
    configuration = {"name": config_name, **json.loads(record)}
    whole: dict[str, Any] = {}
    for key, value in result.items():
        whole[key] = value
        if key == "scorer":
            whole["configuration"] = configuration
    whole.setdefault("configuration", configuration)
    return whole
