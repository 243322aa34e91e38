"""Definition snapshots: the exact definition each assessment was made with.

The first time a version of an instrument is used (an assessment is created or imported
with it, or the database is opened while assessments of it exist), its definition is
stored in ``definition_snapshots`` as canonical JSON with the SHA-256 hash of that text,
and every assessment references its snapshot (``assessments.snapshot_id``).

When the database is opened (``check_definitions``):

- a registered definition whose content differs from the snapshot stored for the same
  instrument and version is refused (``DefinitionChangedError``): a changed definition
  needs a new version, so that stored results keep meaning what they meant;
- a version whose file is gone but which stored assessments use is rebuilt from its
  snapshot and registered as *retired* (its assessments can be viewed, compared,
  exported, rescored and amended; no new assessment is started with it), with a warning
  naming what was missing;
- assessments stored before snapshots existed get theirs (from the definition registered
  now, for the versions that are still registered).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from .. import audit
from ..errors import DefinitionError, FormsEngineError, StorageError
from .sql import json_field_text

if TYPE_CHECKING:
    from ..instruments import Instrument
    from . import Store

log = logging.getLogger(__name__)

# The schema change, as plain statements (applied by store_schema's m009).
SNAPSHOT_DDL = [
    """CREATE TABLE definition_snapshots (
        id INTEGER PRIMARY KEY,
        instrument_id TEXT NOT NULL,
        instrument_version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        plugin TEXT NOT NULL,
        plugin_version TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        UNIQUE (instrument_id, instrument_version)
    )""",
    "ALTER TABLE assessments ADD COLUMN snapshot_id INTEGER"
    " REFERENCES definition_snapshots(id)",
    "CREATE INDEX assessments_snapshot ON assessments(snapshot_id)",
]

SNAPSHOT_SOURCE = "the copy stored in the database"


class DefinitionChangedError(FormsEngineError):
    """A definition file changed under a version that stored assessments already use."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "definitions changed without a new version:\n"
            + "\n".join(f"- {p}" for p in problems))


def canonical_json(definition: dict[str, Any]) -> str:
    """The definition as canonical JSON text: keys sorted, no spaces, UTF-8 kept."""
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(definition: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(definition).encode()).hexdigest()


def _changed_message(inst: Instrument, first_seen: str) -> str:
    where = f" (file {inst.source})" if inst.source else ""
    return (f"instrument {inst.id} v{inst.version}{where} from plugin {inst.plugin!r} is not "
            f"the definition stored for v{inst.version} when it was first used "
            f"({first_seen[:10]}): assessments made with it would be read or rescored "
            f"differently. Give the changed definition a new version (for example "
            f"{_next_version(inst.version)}) and keep the v{inst.version} file as it was")


def _next_version(version: str) -> str:
    parts = version.split(".")
    try:
        parts[-1] = str(int(parts[-1]) + 1)
    except ValueError:
        return version + ".1"
    return ".".join(parts)


def snapshot_id(store: Store, inst: Instrument) -> int:
    """The id of ``inst``'s snapshot, stored now if this is the version's first use.
    Raises ``DefinitionChangedError`` when a different definition is stored for the
    version. Part of the caller's write transaction (or one of its own).

    Two first uses at once (two requests, two server processes) store it once: the insert
    does nothing on a conflict and the row the other writer stored is read instead."""
    row = _stored(store, inst)
    if row is None:
        with store.write():
            inserted = store.conn.execute(
                "INSERT INTO definition_snapshots (instrument_id, instrument_version,"
                " content_hash, definition, plugin, plugin_version, first_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (instrument_id, instrument_version) DO NOTHING RETURNING id",
                [inst.id, inst.version, inst.content_hash, canonical_json(inst.definition),
                 inst.plugin, inst.plugin_version, audit.utcnow()]).fetchall()
            if inserted:
                return int(inserted[0][0])
            row = _stored(store, inst)
            if row is None:  # cannot happen: the conflicting row is committed and visible
                raise StorageError(f"the snapshot of {inst.id} v{inst.version} could not "
                                   "be stored or read")
    if row["content_hash"] != inst.content_hash:
        raise DefinitionChangedError([_changed_message(inst, row["first_seen"])])
    return int(row["id"])


def _stored(store: Store, inst: Instrument) -> dict[str, Any] | None:
    return store.one("SELECT id, content_hash, first_seen FROM definition_snapshots"
                     " WHERE instrument_id = ? AND instrument_version = ?",
                     [inst.id, inst.version])


def get_snapshot(store: Store, instrument_id: str, version: str) -> dict[str, Any] | None:
    """The stored snapshot of a version (its definition parsed), or None."""
    row = store.one("SELECT * FROM definition_snapshots"
                    " WHERE instrument_id = ? AND instrument_version = ?",
                    [instrument_id, version])
    if row is not None:
        row["definition"] = json.loads(row["definition"])
    return row


def list_snapshots(store: Store) -> list[dict[str, Any]]:
    """Every snapshot (without its definition) with the number of assessments using it."""
    return store.all(
        "SELECT s.id, s.instrument_id, s.instrument_version, s.content_hash, s.plugin,"
        " s.plugin_version, s.first_seen, (SELECT COUNT(*) FROM assessments a"
        " WHERE a.snapshot_id = s.id) AS assessments"
        " FROM definition_snapshots s ORDER BY s.instrument_id, s.instrument_version")


def check_definitions(store: Store) -> list[str]:
    """Compare the registered definitions with the stored snapshots, register the retired
    versions that stored assessments still need, and give older assessments their
    snapshot. Returns the warnings (each also logged once per process); raises
    ``DefinitionChangedError`` for definitions changed under an existing version."""
    from ..instruments import build_instrument
    from ..plugins import warn_once

    registry = store.engine.instruments
    problems: list[str] = []
    warnings: list[str] = []
    rows = store.all("SELECT id, instrument_id, instrument_version, content_hash, plugin,"
                     " plugin_version, first_seen FROM definition_snapshots")
    for row in rows:
        key = (row["instrument_id"], row["instrument_version"])
        if key in registry:
            inst = registry.get(*key)
            if inst.retired:
                continue  # rebuilt from this snapshot by an earlier open
            if inst.content_hash != row["content_hash"]:
                problems.append(_changed_message(inst, row["first_seen"]))
            continue
        text = store.one("SELECT definition FROM definition_snapshots WHERE id = ?",
                         [row["id"]])
        assert text is not None  # nosec B101: the row was read above
        try:
            inst = build_instrument(json.loads(text["definition"]), plugin=row["plugin"],
                                    plugin_version=row["plugin_version"],
                                    source=SNAPSHOT_SOURCE)
        except DefinitionError as exc:
            warnings.append(f"instrument {key[0]} v{key[1]}: its definition file is missing "
                            f"and the stored copy cannot be used ({exc})")
            continue
        inst.retired = True
        registry.add(inst)
        count = store.one("SELECT COUNT(*) AS n FROM assessments WHERE snapshot_id = ?",
                          [row["id"]])
        warnings.append(
            f"instrument {key[0]} v{key[1]} (plugin {row['plugin']!r}) is no longer "
            f"registered: its definition file is missing. Its {count['n'] if count else 0} "
            "stored assessment(s) are read from the copy stored in the database; no new "
            "assessment can be started with this version")
    if problems:
        raise DefinitionChangedError(problems)
    _backfill(store, warnings)
    for message in warnings:
        warn_once("warning: " + message)
    return warnings


def _backfill(store: Store, warnings: list[str]) -> None:
    """Give each assessment stored before snapshots existed the snapshot of its version."""
    registry = store.engine.instruments
    pending = store.all("SELECT DISTINCT instrument_id, instrument_version FROM assessments"
                        " WHERE snapshot_id IS NULL")
    for row in pending:
        key = (row["instrument_id"], row["instrument_version"])
        if key not in registry:
            warnings.append(
                f"instrument {key[0]} v{key[1]} is not registered and no copy of it is "
                "stored: its assessments cannot be shown or scored until a plugin registers "
                "that version again")
            continue
        inst = registry.get(*key)
        with store.write():
            sid = snapshot_id(store, inst)
            # dated by the definition's date field (before, only assessment_date was read)
            store.conn.execute(
                "UPDATE assessments SET snapshot_id = ?, assessment_date = COALESCE("  # nosec B608: helper's SQL
                f" {json_field_text(store.conn, 'fields')}, assessment_date)"
                " WHERE instrument_id = ? AND instrument_version = ? AND snapshot_id IS NULL",
                [sid, inst.assessment_date_field, *key])


def assessment_snapshot(store: Store, assessment_id: int) -> dict[str, Any] | None:
    """The snapshot an assessment references (its definition parsed), or None."""
    row = store.one("SELECT s.* FROM definition_snapshots s JOIN assessments a"
                    " ON a.snapshot_id = s.id WHERE a.id = ?", [assessment_id])
    if row is not None:
        row["definition"] = json.loads(row["definition"])
    return row


def final_ids_not_at_version(store: Store, instrument_id: str, version: str) -> list[int]:
    """The current final assessments of an instrument made with another version."""
    return [r["id"] for r in store.all(
        "SELECT id FROM assessments WHERE status = 'final' AND instrument_id = ?"
        " AND instrument_version != ? ORDER BY id", [instrument_id, version])]


def move_to_version(store: Store, instrument_id: str, version: str, *,
                    actor: str) -> list[int]:
    """Move every current final assessment of ``instrument_id`` to ``version`` of its
    definition: each is amended (its answers checked and scored under that version; the
    earlier one kept as superseded, with the reason in the audit trail). Every assessment
    is checked first: when any cannot be moved (an answer the new version does not accept,
    a required field it adds), none is. Returns the new assessments' ids."""
    from ..errors import SubmissionError
    from ..submission import require_fields_for_final

    target = store.engine.instruments.get(instrument_id, version)
    if target.retired:
        raise FormsEngineError(f"instrument {instrument_id} v{version} is retired (its "
                               "definition file is gone): move assessments to a registered "
                               "version")
    checked = []
    problems: list[str] = []
    for assessment_id in final_ids_not_at_version(store, instrument_id, version):
        row = store.get_assessment(assessment_id)
        if row is None:  # pragma: no cover - read just above
            continue
        data = {**store.submission_data(row), "version": version}
        where = f"assessment {row['uid']} (v{row['instrument_version']})"
        try:
            inst, sub = store.engine.check(data, where=where)
            require_fields_for_final(inst, sub, where)
        except SubmissionError as exc:
            problems.append(str(exc))
            continue
        checked.append((assessment_id, sub))
    if problems:
        raise FormsEngineError(
            f"nothing was moved: {len(problems)} assessment(s) cannot be moved to "
            f"{instrument_id} v{version}:\n" + "\n".join(f"- {p}" for p in problems[:20]))
    reason = f"moved to version {version} of the definition"
    return [store.amend(assessment_id, sub, reason=reason, actor=actor)
            for assessment_id, sub in checked]
