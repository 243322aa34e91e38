"""The append-only, keyed and anchored audit trail.

Each row's hash is an HMAC-SHA256, under a key kept outside the database, of its own fields
and the previous row's hash: changing, inserting, removing or renumbering rows breaks the
chain from that row on, and nobody without the key can compute a chain that passes again.
Triggers refuse UPDATE and DELETE and refuse an INSERT that does not continue the chain (the
next id, the last row's hash as ``prev_hash``); ``verify`` also reports when those triggers
have been dropped.

What a chain alone cannot show is rows removed from its end. An *anchor* records the head of
the chain (row count, last id, its hash, the time) as one JSON line, appended to a file or
printed for shipping elsewhere (``formsengine audit anchor``; ``serve`` writes one
periodically when an anchor file is configured). ``verify`` with the anchors finds every
anchored row still there with the hash it had, and as many rows up to it.

Page views and lists (``VIEW_ACTIONS``) are not appended to the chain one by one, which on
PostgreSQL would make every page view wait on the chain's lock: they go to the view log
(``formsengine.store.viewlog``), inserted with no lock and no hash, and ``seal_views`` seals
them into the chain in batches. A seal is one audit row (action ``views sealed``) whose details
hold the batch's first and last id, its row count and a digest: an HMAC-SHA256, under the
audit key, of every row of the batch in id order. Batches follow each other with no gap from
id 1, so ``verify`` finds a sealed view row changed, removed or added (and names the batch);
rows not sealed yet are counted. Views are sealed every ``VIEW_SEAL_ROWS`` rows (by the view
that reaches a multiple of it), by the anchoring thread before each anchor, by ``formsengine
audit seal``, and by ``formsengine audit verify`` before it reads.

The rows are read from and appended to the audit table through ``formsengine.store.auditlog``;
this module decides what goes into them and what they prove.

The key: ``FORMSENGINE_AUDIT_KEY`` (at least 32 characters), or else the file
``<database>.audit-key`` beside the database (mode 0600), created with the keyed chain.

Databases from before the key: their rows keep their plain SHA-256 chain and verify as they
were. The migration that brings the key in appends one marked row (action
``audit_chain_keyed``), the first keyed row, which continues the old chain; every row from it
on is keyed. A chain with no marked row (all rows removed, or rewritten without the key)
fails verification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StorageError


def _views() -> Any:
    """The store's view-log functions (imported when first needed, as ``_log``)."""
    from .store import viewlog

    return viewlog


def _log() -> Any:
    """The store's audit-table functions, imported when first needed: importing the
    store loads the database libraries, which a command that never writes does not need."""
    from .store import auditlog

    return auditlog


GENESIS = "0" * 64
FIELDS = ("id", "at", "actor", "action", "object_type", "object_id", "request_id", "details")
KEYED_MARKER = "audit_chain_keyed"
KEY_ENV = "FORMSENGINE_AUDIT_KEY"
KEY_SUFFIX = ".audit-key"
ANCHOR_ENV = "FORMSENGINE_AUDIT_ANCHOR"
ANCHOR_MINUTES_ENV = "FORMSENGINE_AUDIT_ANCHOR_MINUTES"
ANCHOR_MINUTES = 5
MIN_KEY_CHARS = 32
# Views and lists of records: recorded in the view log and sealed into the chain in batches.
VIEW_ACTIONS = ("view", "list")
SEAL_ACTION = "views sealed"
VIEW_SEAL_ROWS = 500  # a batch is sealed by the view whose id is a multiple of this

log = logging.getLogger(__name__)


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def _body(row: dict[str, Any], prev_hash: str) -> bytes:
    return json.dumps([row[f] for f in FIELDS] + [prev_hash], ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def row_hash(row: dict[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """The row's hash: HMAC-SHA256 under ``key``; plain SHA-256 (rows from before the key)
    when ``key`` is None."""
    if key is None:
        return hashlib.sha256(_body(row, prev_hash)).hexdigest()
    return hmac.digest(key, _body(row, prev_hash), "sha256").hex()


# -- the key ---------------------------------------------------------------------------------
_MEMORY_KEY = secrets.token_bytes(32)  # a database in memory: nothing outlives the process
_KEYS: dict[str, bytes] = {}
_KEYS_GUARD = threading.Lock()


def key_path(database: str | Path) -> Path:
    return Path(str(database) + KEY_SUFFIX)


def _key_from_env() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    if not value:
        return None
    if len(value) < MIN_KEY_CHARS:
        raise StorageError(f"{KEY_ENV} must be at least {MIN_KEY_CHARS} characters long")
    return value.encode("utf-8")


def _read_key(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise StorageError(f"audit key file {path.name} can be read by other users; "
                           "run: chmod 600 on it")
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_KEY_CHARS:
        raise StorageError(f"audit key file {path.name} is too short to be a key")
    return value.encode("ascii")


def key_for(conn: Any, *, create: bool = False, file: str | None = None) -> bytes:
    """The audit key of this connection's database. ``create``: make the key file when there
    is none (only where the keyed chain starts); otherwise a missing key is an error, so
    that a database moved without its key is never chained on under a new one. ``file``: the
    database file when the caller knows it (saves asking the connection)."""
    from_env = _key_from_env()
    if from_env is not None:
        return from_env
    if _log().is_postgres(conn):
        raise StorageError(f"on PostgreSQL the audit key comes from {KEY_ENV} (at least "
                           f"{MIN_KEY_CHARS} characters, the same for every server process)")
    file = file or _log().database_file(conn)
    if file is None:
        return _MEMORY_KEY
    with _KEYS_GUARD:
        if file in _KEYS:
            return _KEYS[file]
        path = key_path(file)
        if create and not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.fchmod(fd, 0o600)  # whatever the umask
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_urlsafe(48))
                fh.flush()
                os.fsync(fh.fileno())
        try:
            key = _read_key(path)
        except FileNotFoundError:
            raise StorageError(
                f"the audit key for {Path(file).name} is missing ({path.name} beside the "
                f"database, or {KEY_ENV}): restore it from where the database came from"
            ) from None
        _KEYS[file] = key
        return key


def forget_keys() -> None:
    """Drop the keys read so far (after a key file was replaced)."""
    with _KEYS_GUARD:
        _KEYS.clear()


# -- who is at the keyboard ------------------------------------------------------------------
# A command's --actor is whatever name was typed; the command line also records, in each row's
# details, the operating-system account the process runs as (by its real user id, not from
# the environment, which anyone can set).
_OS_USER: str | None = None


def os_user() -> str:
    """The name of the account this process runs as (its user id when it has no name)."""
    import pwd

    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def record_os_user(on: bool = True) -> None:
    """From now on (``on``), every row this process appends names its operating-system
    account as ``os_user`` in its details. For the command line, not the web server."""
    global _OS_USER
    _OS_USER = os_user() if on else None


def _details(details: dict[str, Any] | None) -> str:
    if _OS_USER is not None:
        details = {**(details or {}), "os_user": _OS_USER}
    return json.dumps(details or {}, sort_keys=True, ensure_ascii=False)


# -- appending -------------------------------------------------------------------------------
# The last row this process appended to each database file: (id, hash). Lets the next
# append be one statement (an insert that only happens if that row is still the last one)
# instead of reading the last row first. Anything else that appended meanwhile (another
# process, a bulk import, a rolled-back transaction) makes the condition fail, and the row
# is appended the long way.
_HEADS: dict[str, tuple[int, str]] = {}


def append(conn: Any, action: str, *, actor: str, object_type: str | None = None,
           object_id: Any = None, details: dict[str, Any] | None = None,
           request_id: str | None = None, head_key: str | None = None,
           keeper: Any = None) -> int:
    """Append one audit row. Must run inside a write transaction (BEGIN IMMEDIATE), so that
    reading the last hash and appending are one step for every writer.

    ``head_key``: the database file's name, to remember the row appended (see _HEADS).
    ``keeper``: where the processes writing that file share the last row appended (the
    store's write lock: ``head()`` and ``remember((id, hash))``), used before _HEADS."""
    if not _log().in_write_transaction(conn):
        raise RuntimeError("audit.append must run inside a write transaction")
    key = key_for(conn, file=head_key)
    row: dict[str, Any] = {
        "id": 0,
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "request_id": request_id,
        "details": _details(details),
    }
    _log().lock_chain(conn)
    head = keeper.head() if keeper is not None else None
    if head is None and head_key:
        head = _HEADS.get(head_key)
    if head is not None:
        row["id"] = head[0] + 1
        digest = row_hash(row, head[1], key)
        if _log().append_row_after(conn, [row[f] for f in FIELDS] + [head[1], digest],
                                     head[1]):
            _remember(head_key, keeper, (row["id"], digest))
            return row["id"]
    last = _log().last_row(conn)
    prev_hash = last[1] if last else GENESIS
    row["id"] = (last[0] + 1) if last else 1
    digest = row_hash(row, prev_hash, key)
    _log().append_row(conn, [row[f] for f in FIELDS] + [prev_hash, digest])
    _remember(head_key, keeper, (row["id"], digest))
    return row["id"]


def _remember(head_key: str | None, keeper: Any, head: tuple[int, str]) -> None:
    if keeper is not None and keeper.remember(head):
        return
    if head_key:
        _HEADS[head_key] = head


def append_many(conn: Any, entries: list[dict[str, Any]], *, actor: str) -> None:
    """Append several audit rows in one statement (bulk import). Each entry holds action,
    object_type, object_id and details. Same chain, same transaction rule as ``append``."""
    if not _log().in_write_transaction(conn):
        raise RuntimeError("audit.append_many must run inside a write transaction")
    key = key_for(conn)
    _log().lock_chain(conn)
    last = _log().last_row(conn)
    next_id, prev_hash = ((last[0] + 1), last[1]) if last else (1, GENESIS)
    at = utcnow()
    rows = []
    for entry in entries:
        row = {"id": next_id, "at": at, "actor": actor, "action": entry["action"],
               "object_type": entry.get("object_type"),
               "object_id": None if entry.get("object_id") is None else str(entry["object_id"]),
               "request_id": entry.get("request_id"),
               "details": _details(entry.get("details"))}
        digest = row_hash(row, prev_hash, key)
        rows.append([row[f] for f in FIELDS] + [prev_hash, digest])
        prev_hash = digest
        next_id += 1
    _log().append_rows(conn, rows)


def start_keyed_chain(conn: Any) -> int:
    """Append the marked row from which every row is keyed (creating the key file when
    there is none). Runs once per database, in the migration that brings the key in."""
    key_for(conn, create=True)
    unkeyed = _log().row_count(conn)
    return append(conn, KEYED_MARKER, actor="system",
                  details={"scheme": "hmac-sha256", "unkeyed_rows": unkeyed})


# -- the view log and its seals --------------------------------------------------------------
def view_row(action: str, *, actor: str, object_type: str | None = None,
             object_id: Any = None, details: dict[str, Any] | None = None,
             request_id: str | None = None) -> list[Any]:
    """A view log row's values (``viewlog.COLUMNS`` without the id), as ``append`` would
    fill an audit row's."""
    return [utcnow(), actor, action, object_type,
            None if object_id is None else str(object_id), request_id, _details(details)]


def views_digest(rows: Iterable[tuple], key: bytes) -> tuple[int, str]:
    """(row count, digest) of view rows in id order: an HMAC-SHA256 under ``key`` of each
    row's fields, one JSON line a row."""
    mac = hmac.new(key, digestmod="sha256")
    count = 0
    for values in rows:
        mac.update(json.dumps(list(values), ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8") + b"\n")
        count += 1
    return count, mac.hexdigest()


def _sealed_upto(conn: Any) -> int:
    """The last view id sealed into the chain (0 before the first seal)."""
    details = _views().last_seal_details(conn, SEAL_ACTION)
    if details is None:
        return 0
    return int(json.loads(details)["last_id"])


def seal_views(conn: Any, *, upto: int | None = None, actor: str = "system",
               head_key: str | None = None) -> int:
    """Seal the view rows not sealed yet, up to id ``upto`` (default: the settled last id,
    ``viewlog.settled_last_id``), into the chain with one audit row; how many rows it
    sealed (0: nothing to seal, and no row appended). Inside a write transaction; on
    PostgreSQL ``upto`` should be read before it began (``viewlog.settled_last_id`` outside
    a transaction), so that the chain's lock is not held while in-flight views end."""
    if not _log().in_write_transaction(conn):
        raise RuntimeError("audit.seal_views must run inside a write transaction")
    if upto is None:
        upto = _views().settled_last_id(conn)
    key = key_for(conn, file=head_key)
    _log().lock_chain(conn)  # one sealer at a time, and the last seal read is the last
    after = _sealed_upto(conn)
    if upto <= after:
        return 0
    with _views().rows_between(conn, after, upto) as rows:
        count, digest = views_digest(rows, key)
    if count == 0:
        return 0
    append(conn, SEAL_ACTION, actor=actor, object_type="view_log",
           details={"first_id": after + 1, "last_id": upto, "rows": count,
                    "digest": digest}, head_key=head_key)
    return count


def seal_views_now(conn: Any, *, actor: str = "system") -> int:
    """``seal_views`` on a bare connection outside a transaction (the anchoring thread's,
    a command's): settles, then seals in a transaction of its own."""
    upto = _views().settled_last_id(conn)
    if upto <= _sealed_upto(conn):  # nothing new: no write transaction at all
        return 0
    with _views().transaction(conn):
        return seal_views(conn, upto=upto, actor=actor)


def _check_seals(conn: Any, seals: list[tuple[int, dict[str, Any]]],
                 key: bytes, *, after: int = 0) -> tuple[int, int, list[str]]:
    """Check every sealed batch of view rows against its seal, the first starting after view
    row ``after``. Returns (rows sealed, last id sealed, problems)."""
    problems: list[str] = []
    expected_first, sealed = after + 1, 0
    for audit_id, seal in seals:
        try:
            first, last, rows, digest = (int(seal["first_id"]), int(seal["last_id"]),
                                         int(seal["rows"]), str(seal["digest"]))
        except (KeyError, TypeError, ValueError):
            problems.append(f"the seal in audit row {audit_id} is not a seal of view rows")
            continue
        where = f"view rows {first} to {last} (sealed by audit row {audit_id})"
        if first != expected_first:
            problems.append(f"{where}: the seals before it end at view row "
                            f"{expected_first - 1} (a seal is missing)")
        with _views().rows_between(conn, first - 1, last) as found:
            count, found_digest = views_digest(found, key)
        if count != rows:
            problems.append(f"{where}: {count} rows there, {rows} sealed (view rows were "
                            + ("removed)" if count < rows else "added)"))
        elif found_digest != digest:
            problems.append(f"{where}: the rows do not match their seal (a view row was "
                            "changed or replaced)")
        sealed += rows
        expected_first = last + 1
    return sealed, expected_first - 1, problems


# -- verifying -------------------------------------------------------------------------------
@dataclass
class Anchor:
    """One recorded head of the chain."""

    rows: int
    last_id: int
    hash: str
    at: str
    line: int = 0

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "last_id": self.last_id, "hash": self.hash,
                           "at": self.at}, separators=(",", ":"))


@dataclass
class VerifyReport:
    ok: bool
    rows: int
    first_broken_id: int | None = None
    problem: str | None = None
    missing_triggers: tuple[str, ...] = ()
    unkeyed_rows: int = 0
    anchors: int = 0
    anchor_problems: list[str] = field(default_factory=list)
    views_sealed: int = 0
    views_unsealed: int = 0
    views_sealed_upto: int = 0  # the last view row sealed
    view_problems: list[str] = field(default_factory=list)

    def _views_text(self) -> str:
        text = f"; {self.views_sealed} view rows sealed"
        if self.views_unsealed:
            text += f", {self.views_unsealed} not yet sealed"
        return text

    def message(self) -> str:
        if self.ok:
            text = f"audit chain intact: {self.rows} rows verified"
            if self.unkeyed_rows:
                text += (f" (the first {self.unkeyed_rows} from before the audit key, "
                         "by their plain hash chain)")
            text += self._views_text()
            if self.anchors:
                text += f"; agrees with {self.anchors} anchor(s)"
            return text
        parts = []
        if self.first_broken_id is not None:
            parts.append(f"audit chain broken at row {self.first_broken_id}: {self.problem}")
        elif self.problem:
            parts.append(f"audit chain broken: {self.problem}")
        parts += self.view_problems
        parts += self.anchor_problems
        if self.missing_triggers:
            parts.append("append-only triggers missing: " + ", ".join(self.missing_triggers))
        return "; ".join(parts)


def _walk(rows: Iterable[tuple], key: bytes, *, prev_hash: str = GENESIS,
          expected_id: int | None = None, keyed: bool = False,
          seen: dict[int, str] | None = None,
          seals: list[tuple[int, dict[str, Any]]] | None = None,
          ) -> tuple[int, int, str, int | None, str | None]:
    """Check rows in id order. Returns (rows, unkeyed rows, last hash, first broken id,
    problem). ``seen``: ids whose hash the caller wants back (filled in place); ``seals``:
    filled with (id, details) of the view seals met."""
    count = unkeyed = 0
    for values in rows:
        row = dict(zip(_log().COLUMNS, values))
        count += 1
        if not keyed and row["action"] == KEYED_MARKER:
            keyed = True
        problem = None
        if expected_id is not None and row["id"] != expected_id:
            problem = f"row ids jump from {expected_id - 1} to {row['id']} (rows removed)"
        elif row["prev_hash"] != prev_hash:
            problem = "does not follow the row before it (a row was changed or removed)"
        elif row_hash(row, prev_hash, key if keyed else None) != row["hash"]:
            problem = ("its contents do not match its keyed hash (the row was edited, "
                       "or written without the audit key)" if keyed else
                       "its contents do not match its hash (the row was edited)")
        if problem:
            return count, unkeyed, prev_hash, row["id"], problem
        if not keyed:
            unkeyed += 1
        if seen is not None and row["id"] in seen:
            seen[row["id"]] = row["hash"]
        if seals is not None and row["action"] == SEAL_ACTION:
            try:
                seals.append((row["id"], json.loads(row["details"])))
            except ValueError:
                seals.append((row["id"], {}))
        prev_hash = row["hash"]
        expected_id = row["id"] + 1
    if count and not keyed:
        return count, unkeyed, prev_hash, None, (
            "no row starts the keyed chain: the rows were rewritten, or the keyed ones "
            "removed")
    return count, unkeyed, prev_hash, None, None


def missing_triggers(conn: Any) -> tuple[str, ...]:
    from .store_schema import AUDIT_TRIGGERS

    present = _log().trigger_names(conn)
    views = _views().trigger_names(conn)
    return (tuple(t for t in AUDIT_TRIGGERS if t not in present)
            + tuple(t for t in _views().TRIGGERS if t not in views))


def verify(conn: Any, anchors: list[Anchor] | None = None) -> VerifyReport:
    """Check the whole chain, the view rows sealed into it (the rows not sealed yet are
    counted), and, given anchors, that every anchored row is still there with its hash and
    as many rows up to it. Reads only: seal first (``seal_views``) to cover every view."""
    missing = missing_triggers(conn)
    key = key_for(conn)
    anchors = anchors or []
    seen: dict[int, str] = dict.fromkeys((a.last_id for a in anchors), "")
    seals: list[tuple[int, dict[str, Any]]] = []
    with _log().rows_in_order(conn) as rows:  # closed also when the walk stops early
        count, unkeyed, _, broken, problem = _walk(rows, key, seen=seen, seals=seals)
    if count == 0:
        problem = "the audit trail is empty: every row was removed"
    report = VerifyReport(problem is None and not missing, count, broken, problem, missing,
                          unkeyed, len(anchors))
    report.views_sealed, sealed_upto, report.view_problems = _check_seals(conn, seals, key)
    report.views_sealed_upto = sealed_upto
    report.views_unsealed = _views().count_after(conn, sealed_upto)
    if report.view_problems:
        report.ok = False
    first_id = _log().first_id(conn)
    for a in anchors:
        where = f"anchor of {a.at} (line {a.line})"
        if broken is not None and a.last_id >= broken:
            continue  # the chain is already reported broken before this anchor's row
        if not seen.get(a.last_id):
            report.anchor_problems.append(
                f"{where}: row {a.last_id} is gone (rows removed from the end)")
        elif seen[a.last_id] != a.hash:
            report.anchor_problems.append(
                f"{where}: row {a.last_id} no longer has the hash anchored (the chain was "
                "rewritten)")
        elif first_id is None or a.last_id - first_id + 1 != a.rows:
            report.anchor_problems.append(
                f"{where}: {a.rows} rows up to row {a.last_id} were anchored, "
                f"{a.last_id - (first_id or 0) + 1} are there")
    if report.anchor_problems:
        report.ok = False
    return report


# -- anchoring -------------------------------------------------------------------------------
def head(conn: Any) -> Anchor | None:
    """The chain's head now (one statement: one consistent reading)."""
    now = _log().head(conn)
    if now is None:
        return None
    return Anchor(rows=now[0], last_id=now[1], hash=now[2], at=utcnow())


def write_anchor(path: str | Path, anchor: Anchor) -> None:
    """Append one anchor line to ``path`` (created 0600), on disk before this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_size == 0:
            os.fchmod(fd, 0o600)
        os.write(fd, (anchor.to_json() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


MAX_ANCHOR_LINE = 1000


def read_anchors(path: str | Path) -> list[Anchor]:
    """Every anchor in an anchor file; a line that is not an anchor is an error naming it."""
    anchors = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                if len(line) > MAX_ANCHOR_LINE:
                    raise ValueError("too long")
                data = json.loads(line)
                anchor = Anchor(rows=data["rows"], last_id=data["last_id"],
                                hash=data["hash"], at=data["at"], line=number)
                if not (isinstance(anchor.rows, int) and isinstance(anchor.last_id, int)
                        and isinstance(anchor.hash, str) and isinstance(anchor.at, str)):
                    raise ValueError("wrong types")
            except (ValueError, KeyError, TypeError):
                raise StorageError(
                    f"anchor file {Path(path).name} line {number} is not an anchor (a JSON "
                    'object with "rows", "last_id", "hash" and "at")') from None
            anchors.append(anchor)
    return anchors


class Anchorer:
    """Appends the chain's head to an anchor file every ``interval`` seconds (when it moved
    on), after checking the rows added since the last anchor; a broken chain is logged and
    not anchored. Runs in a daemon thread on its own connection."""

    def __init__(self, database: str | Path, anchor_file: str | Path,
                 interval: float = ANCHOR_MINUTES * 60) -> None:
        self.database, self.anchor_file, self.interval = database, anchor_file, interval
        self._stop = threading.Event()
        self._last: Anchor | None = None
        self._views_upto = 0  # the last view row whose seal was checked
        self.thread = threading.Thread(target=self._run, name="audit-anchor", daemon=True)

    def start(self) -> Anchorer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)

    def anchor_once(self, conn: Any) -> Anchor | None:
        seal_views_now(conn)  # the views so far go into the chain, and so into the anchor
        now = head(conn)
        if now is None or (self._last and now.last_id == self._last.last_id
                           and now.hash == self._last.hash):
            return None
        key = key_for(conn)
        if self._last is not None and now.last_id < self._last.last_id:
            log.error("audit chain not anchored: it ends at row %s, but row %s was anchored "
                      "(rows removed from the end)", now.last_id, self._last.last_id)
            return None
        if self._last is None:  # the whole chain, and the anchors already written
            earlier = (read_anchors(self.anchor_file) if os.path.isfile(self.anchor_file)
                       else None)
            report = verify(conn, earlier)
            problem = None if report.ok else report.message()
            views_upto = report.views_sealed_upto
        else:  # only the rows since the last anchor, from its hash on, and the view rows
            # behind the seals among them
            seals: list[tuple[int, dict[str, Any]]] = []
            with _log().rows_in_order(conn, after=self._last.last_id,
                                        upto=now.last_id) as rows:
                _, _, _, broken, problem = _walk(rows, key, prev_hash=self._last.hash,
                                                 expected_id=self._last.last_id + 1,
                                                 keyed=True, seals=seals)
            if problem:
                problem = f"audit chain broken at row {broken}: {problem}"
            else:
                _, views_upto, view_problems = _check_seals(conn, seals, key,
                                                            after=self._views_upto)
                if view_problems:
                    problem = "; ".join(view_problems)
        if problem:
            log.error("audit chain not anchored: %s", problem)
            return None
        write_anchor(self.anchor_file, now)
        self._last, self._views_upto = now, views_upto
        return now

    def _run(self) -> None:
        from .store import connect_to

        conn = connect_to(self.database)  # a SQLite file or a PostgreSQL URL
        try:
            while True:
                try:
                    self.anchor_once(conn)
                except Exception:  # keep anchoring; the next round may succeed
                    log.exception("audit anchor failed")
                if self._stop.wait(self.interval):
                    return
        finally:
            conn.close()


def anchor_settings() -> tuple[str | None, float]:
    """The anchor file and interval (seconds) for ``serve``, from the environment."""
    raw = os.environ.get(ANCHOR_MINUTES_ENV)
    minutes: float = ANCHOR_MINUTES
    if raw:
        try:
            minutes = float(raw)
        except ValueError:
            raise StorageError(f"{ANCHOR_MINUTES_ENV} must be a number of minutes, "
                               f"not {raw[:20]!r}") from None
        if not 0 < minutes <= 24 * 60:
            raise StorageError(f"{ANCHOR_MINUTES_ENV} must be more than 0 and at most 1440")
    return os.environ.get(ANCHOR_ENV) or None, minutes * 60


def start_anchoring(database: str | Path) -> Anchorer | None:
    """For ``serve``: anchor periodically when an anchor file is configured."""
    anchor_file, interval = anchor_settings()
    if not anchor_file:
        return None
    return Anchorer(database, anchor_file, interval).start()
