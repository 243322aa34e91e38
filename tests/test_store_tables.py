"""The SQLAlchemy Core description of the schema (``formsengine.store.tables``) against the
schema the sqlite-utils migration sets build."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlite_utils import Database

from formsengine.store import tables
from formsengine.store_schema import core_migrations
from formsengine.web.schema import web_migrations

# sqlite-utils' own bookkeeping table: not part of the described schema
_BOOKKEEPING = {"_sqlite_migrations"}


def _describe(path: Path) -> dict[str, Any]:
    """Tables with their columns, keys, foreign keys, indexes and rowid-ness, normalised."""
    conn = sqlite3.connect(path)
    try:
        out: dict[str, Any] = {}
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name")]
        for name in names:
            if name in _BOOKKEEPING:
                continue
            columns = []
            for _cid, col, ctype, notnull, default, pk in conn.execute(
                    f"PRAGMA table_info({name})"):  # nosec B608 - names from sqlite_master
                # A primary key column never holds NULL here; SQLAlchemy spells that
                # NOT NULL where the migrations left it implicit.
                columns.append((col, ctype.upper(), bool(notnull) or pk > 0, default, pk))
            indexes = []
            for _seq, iname, unique, origin, _partial in conn.execute(
                    f"PRAGMA index_list({name})"):  # nosec B608
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({iname})"))  # nosec B608
                # automatic indexes (UNIQUE / PRIMARY KEY constraints) are named by SQLite
                label = None if iname.startswith("sqlite_autoindex_") else iname
                indexes.append((label, bool(unique), origin, cols))
            fks = sorted(
                (r[2], r[3], r[4], r[6].upper())
                for r in conn.execute(f"PRAGMA foreign_key_list({name})"))  # nosec B608
            # (SQLAlchemy quotes the collation's name)
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                               (name,)).fetchone()[0].upper().replace('"', "")
            out[name] = {
                "columns": columns,
                "indexes": sorted(indexes, key=repr),
                "foreign_keys": fks,
                "without_rowid": "WITHOUT ROWID" in sql,
                "nocase": sql.count("COLLATE NOCASE"),
                "checks": sql.count("CHECK"),
            }
        return out
    finally:
        conn.close()


def _migrated(path: Path) -> None:
    db = Database(path)
    core_migrations.apply(db)
    web_migrations.apply(db)
    db.close()


def _described(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    tables.metadata.create_all(engine)
    engine.dispose()


def test_tables_describe_the_migrated_schema(tmp_path):
    _migrated(tmp_path / "migrated.db")
    _described(tmp_path / "described.db")
    migrated = _describe(tmp_path / "migrated.db")
    described = _describe(tmp_path / "described.db")
    assert sorted(described) == sorted(migrated)
    for name in migrated:
        assert described[name] == migrated[name], name


def test_every_table_is_in_core_or_web():
    listed = {t.name for t in tables.CORE_TABLES + tables.WEB_TABLES}
    assert listed == set(tables.metadata.tables)


def test_comparison_notices_a_difference(tmp_path):
    """The comparison would fail if a column were missing from the description."""
    _migrated(tmp_path / "migrated.db")
    _described(tmp_path / "described.db")
    conn = sqlite3.connect(tmp_path / "described.db")
    conn.execute("ALTER TABLE cases DROP COLUMN closed_reason")
    conn.close()
    with pytest.raises(AssertionError):
        assert _describe(tmp_path / "described.db") == _describe(tmp_path / "migrated.db")
