"""The SQLAlchemy Core description of the schema (``formsengine.store.tables``) against the
schema the migrations build (every branch at its head)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from formsengine import migrations
from formsengine.store import connect, tables
from tests.conftest import make_engine, pg_schema

# the migrations' own bookkeeping tables: not part of the described schema
_BOOKKEEPING = {"_sqlite_migrations", "alembic_version"}


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
    conn = connect(path)
    migrations.upgrade(conn, make_engine())
    conn.close()


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


@pytest.fixture(scope="module")
def pg_engine(pg_url):
    """An engine on a fresh schema of its own, dropped at the end of the module."""
    pytest.importorskip("psycopg")
    with pg_schema(pg_url) as schema:
        engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            engine.dispose()


def test_tables_are_created_on_postgresql(pg_engine):
    from sqlalchemy import inspect

    tables.metadata.create_all(pg_engine)
    inspector = inspect(pg_engine)
    assert set(inspector.get_table_names()) == set(tables.metadata.tables)
    for table in tables.metadata.tables.values():
        columns = [c["name"] for c in inspector.get_columns(table.name)]
        assert columns == [c.name for c in table.columns], table.name
        # (the indexes behind UNIQUE constraints are listed too: those are left out)
        indexes = {i["name"] for i in inspector.get_indexes(table.name)
                   if "duplicates_constraint" not in i}
        assert indexes == {i.name for i in table.indexes}, table.name
        assert inspector.get_pk_constraint(table.name)["constrained_columns"] == [
            c.name for c in table.primary_key.columns], table.name


def test_user_names_are_unique_regardless_of_case_on_postgresql(pg_engine):
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    tables.metadata.create_all(pg_engine)
    row = dict(display_name="A", role="practitioner", password_hash="x", created_at="now")
    with pg_engine.begin() as conn:
        conn.execute(insert(tables.web_users).values(uid="u1", username="Alex", **row))
    with pytest.raises(IntegrityError), pg_engine.begin() as conn:
        conn.execute(insert(tables.web_users).values(uid="u2", username="aLEX", **row))


def test_postgres_triggers_keep_the_audit_and_risk_rules(pg_engine):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from formsengine.store.triggers import create_postgres_triggers

    engine = pg_engine
    zeros = "0" * 64
    tables.metadata.create_all(engine)
    with engine.begin() as conn:
        create_postgres_triggers(conn)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (id, at, actor, action, prev_hash, hash)"
                          " VALUES (1, 't', 'a', 'x', :z, 'h1')"), {"z": zeros})
    for sql in ("INSERT INTO audit (id, at, actor, action, prev_hash, hash)"
                " VALUES (3, 't', 'a', 'x', 'h1', 'h3')",
                "INSERT INTO audit (id, at, actor, action, prev_hash, hash)"
                " VALUES (2, 't', 'a', 'x', 'wrong', 'h2')",
                "UPDATE audit SET actor = 'b'", "DELETE FROM audit"):
        with pytest.raises(DBAPIError, match="audit rows are"):
            with engine.begin() as conn:
                conn.execute(text(sql))
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO teams (id, name, created_at) VALUES (1, 't', 'now');"
            "INSERT INTO people (id, ref, role, created_at)"
            " VALUES (1, 'P', 'victim_survivor', 'now');"
            "INSERT INTO cases (id, uid, ref, team_id, created_at)"
            " VALUES (1, 'u', 'C', 1, 'now');"
            "INSERT INTO assessments (id, uid, person_id, case_id, instrument_id,"
            " instrument_version, occasion, assessment_date, status, created_at,"
            " updated_at) VALUES (1, 'a', 1, 1, 'i', '1', 'o', '2026-01-01', 'final',"
            " 'now', 'now');"
            "INSERT INTO scores (assessment_id, seq, instrument_id, instrument_version,"
            " scorer_plugin, scorer_version, config_name, config_hash, complete,"
            " level_final, result, created_at) VALUES (1, 1, 'i', '1', 's', '1', 'c',"
            " 'h', 1, 'high', '{}', 'now')"))
        assert conn.execute(text("SELECT risk_order FROM cases")).scalar() == 0
        conn.execute(text("DELETE FROM assessments"))
        assert conn.execute(text("SELECT risk_order FROM cases")).scalar() == 3
