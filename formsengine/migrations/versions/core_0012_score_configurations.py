"""Each configuration record stored once, by its hash, instead of in every score's result.

A scored result records the configuration it was scored with (its name, hash, every
parameter and which of them the organisation overrode): about 460 bytes of JSON, the same
for every assessment of an instrument version scored under one configuration, and close to a
third of each stored result. This revision adds ``score_configurations`` (hash -> the record
without its name, which ``scores.config_name`` holds) and takes the record out of the
stored results that it matches; reading a score puts it back (``formsengine.store``), so
every reader sees the result it saw before. A result whose record differs from the one kept
for its hash keeps its own record in place (readers use the one in the result when there is
one).

The hash covers the instrument, its version and every parameter (and a scorer's own
configuration, when it folds one in), so every record with one hash is the same but for its
name.

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "core_0012"
down_revision = "core_0011"
branch_labels = None
depends_on = None

BATCH = 1000  # score rows read and rewritten at a time


def _record_text(configuration: dict[str, Any]) -> str:
    """The stored text of a configuration record: the record without its name. (The store
    writes it the same way: ``formsengine.store.configuration_text``, as it stood here.)"""
    return json.dumps({k: v for k, v in configuration.items() if k != "name"},
                      ensure_ascii=False, default=str)


def _batches(bind: Any) -> Any:
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, config_name, config_hash, result FROM scores WHERE id > :last"
            " ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    op.execute("CREATE TABLE score_configurations (hash TEXT NOT NULL PRIMARY KEY,"
               " record TEXT NOT NULL)")
    bind = op.get_bind()
    kept: dict[str, str] = {}
    for rows in _batches(bind):
        updates = []
        for score_id, name, config_hash, text in rows:
            result = json.loads(text)
            configuration = result.get("configuration")
            if not isinstance(configuration, dict) or configuration.get("name") != name \
                    or configuration.get("hash") != config_hash:
                continue  # not what the columns say: the result keeps its own record
            record = _record_text(configuration)
            if kept.setdefault(config_hash, record) != record:
                continue
            del result["configuration"]
            updates.append({"id": score_id,
                            "result": json.dumps(result, ensure_ascii=False, default=str)})
        if updates:
            bind.execute(sa.text("UPDATE scores SET result = :result WHERE id = :id"), updates)
    if kept:
        bind.execute(sa.text("INSERT INTO score_configurations (hash, record)"
                             " VALUES (:hash, :record)"),
                     [{"hash": h, "record": r} for h, r in kept.items()])


def downgrade() -> None:
    bind = op.get_bind()
    records = {h: json.loads(r) for h, r in bind.execute(
        sa.text("SELECT hash, record FROM score_configurations"))}
    for rows in _batches(bind):
        updates = []
        for score_id, name, config_hash, text in rows:
            result = json.loads(text)
            if "configuration" in result or config_hash not in records:
                continue
            whole: dict[str, Any] = {}
            for key, value in result.items():  # the record back after the scorer's
                whole[key] = value
                if key == "scorer":
                    whole["configuration"] = {"name": name, **records[config_hash]}
            whole.setdefault("configuration", {"name": name, **records[config_hash]})
            updates.append({"id": score_id,
                            "result": json.dumps(whole, ensure_ascii=False, default=str)})
        if updates:
            bind.execute(sa.text("UPDATE scores SET result = :result WHERE id = :id"), updates)
    op.execute("DROP TABLE score_configurations")
