"""The append-only, hash-chained audit trail.

Each row's hash covers its own fields and the previous row's hash, so changing, inserting or
removing a row breaks the chain from that row on. Triggers refuse UPDATE and DELETE on the
table; ``verify`` also reports when those triggers have been dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
FIELDS = ("id", "at", "actor", "action", "object_type", "object_id", "request_id", "details")


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def row_hash(row: dict[str, Any], prev_hash: str) -> str:
    body = json.dumps([row[f] for f in FIELDS] + [prev_hash], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# The last row this process appended to each database file: (id, hash). Lets the next
# append be one statement (an insert that only happens if that row is still the last one)
# instead of reading the last row first. Anything else that appended meanwhile (another
# process, a bulk import, a rolled-back transaction) makes the condition fail, and the row
# is appended the long way.
_HEADS: dict[str, tuple[int, str]] = {}

_INSERT = ("INSERT INTO audit (id, at, actor, action, object_type, object_id, request_id,"
           " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_AFTER = ("INSERT INTO audit (id, at, actor, action, object_type, object_id, request_id,"
                 " details, prev_hash, hash) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                 " WHERE (SELECT hash FROM audit ORDER BY id DESC LIMIT 1) = ?")


def append(conn: Any, action: str, *, actor: str, object_type: str | None = None,
           object_id: Any = None, details: dict[str, Any] | None = None,
           request_id: str | None = None, head_key: str | None = None) -> int:
    """Append one audit row. Must run inside a write transaction (BEGIN IMMEDIATE), so that
    reading the last hash and appending are one step for every writer.

    ``head_key``: the database file's name, to remember the row appended (see _HEADS)."""
    if not conn.in_transaction:
        raise RuntimeError("audit.append must run inside a write transaction")
    row = {
        "id": 0,
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "request_id": request_id,
        "details": json.dumps(details or {}, sort_keys=True, ensure_ascii=False),
    }
    head = _HEADS.get(head_key) if head_key else None
    if head is not None:
        row["id"] = head[0] + 1
        digest = row_hash(row, head[1])
        cur = conn.execute(_INSERT_AFTER, [row[f] for f in FIELDS] + [head[1], digest, head[1]])
        if cur.rowcount == 1:
            _HEADS[head_key] = (row["id"], digest)
            return row["id"]
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev_hash = last[1] if last else GENESIS
    row["id"] = (last[0] + 1) if last else 1
    digest = row_hash(row, prev_hash)
    conn.execute(_INSERT, [row[f] for f in FIELDS] + [prev_hash, digest])
    if head_key:
        _HEADS[head_key] = (row["id"], digest)
    return row["id"]


def append_many(conn: Any, entries: list[dict[str, Any]], *, actor: str) -> None:
    """Append several audit rows in one statement (bulk import). Each entry holds action,
    object_type, object_id and details. Same chain, same transaction rule as ``append``."""
    if not conn.in_transaction:
        raise RuntimeError("audit.append_many must run inside a write transaction")
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    next_id, prev_hash = ((last[0] + 1), last[1]) if last else (1, GENESIS)
    at = utcnow()
    rows = []
    for entry in entries:
        row = {"id": next_id, "at": at, "actor": actor, "action": entry["action"],
               "object_type": entry.get("object_type"),
               "object_id": None if entry.get("object_id") is None else str(entry["object_id"]),
               "request_id": entry.get("request_id"),
               "details": json.dumps(entry.get("details") or {}, sort_keys=True,
                                     ensure_ascii=False)}
        digest = row_hash(row, prev_hash)
        rows.append([row[f] for f in FIELDS] + [prev_hash, digest])
        prev_hash = digest
        next_id += 1
    conn.executemany(_INSERT, rows)


@dataclass
class VerifyReport:
    ok: bool
    rows: int
    first_broken_id: int | None = None
    problem: str | None = None
    missing_triggers: tuple[str, ...] = ()

    def message(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.rows} rows verified"
        parts = []
        if self.first_broken_id is not None:
            parts.append(f"audit chain broken at row {self.first_broken_id}: {self.problem}")
        if self.missing_triggers:
            parts.append("append-only triggers missing: " + ", ".join(self.missing_triggers))
        return "; ".join(parts)


def verify(conn: Any) -> VerifyReport:
    from .store_schema import AUDIT_TRIGGERS

    present = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")}
    missing = tuple(t for t in AUDIT_TRIGGERS if t not in present)
    prev_hash = GENESIS
    expected_id = None
    count = 0
    cursor = conn.execute(
        "SELECT id, at, actor, action, object_type, object_id, request_id, details, prev_hash,"
        " hash FROM audit ORDER BY id")
    for values in cursor:
        row = dict(zip(FIELDS + ("prev_hash", "hash"), values))
        count += 1
        problem = None
        if expected_id is not None and row["id"] != expected_id:
            problem = f"row ids jump from {expected_id - 1} to {row['id']} (rows removed)"
        elif row["prev_hash"] != prev_hash:
            problem = "does not follow the row before it (a row was changed or removed)"
        elif row_hash(row, prev_hash) != row["hash"]:
            problem = "its contents do not match its hash (the row was edited)"
        if problem:
            return VerifyReport(False, count, row["id"], problem, missing)
        prev_hash = row["hash"]
        expected_id = row["id"] + 1
    return VerifyReport(not missing, count, None, None, missing)
