"""``score_values``' check on the kind of a value: the same rule after m010, written without
an ``IN`` list (which SQLite evaluated at a cost on every row written)."""

from __future__ import annotations

import pytest
from sqlite_utils import Database
from sqlite_utils.utils import sqlite3

from formsengine.store import Store, connect
from formsengine.store_schema import core_migrations

NOW = "2026-01-01T00:00:00Z"


def _table_sql(conn, name):
    return conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]


def test_an_existing_database_keeps_every_score_value(engine, tmp_path):
    path = tmp_path / "old.db"
    db = Database(connect(path))
    core_migrations.apply(db, stop_before="m010_score_value_kind_check")
    assert " IN (" in _table_sql(db.conn, "score_values")  # as made before
    values = [(1, "score", "total", 3.0, None), (1, "band", "total", None, "low"),
              (1, "level", "judged", None, None), (1, "group", "marac", 1.0, None),
              (2, "flag", "x", 0.0, None)]
    with db.atomic():
        db.execute("INSERT INTO people (id, ref, role, created_at) VALUES"
                   " (1, 'P-1', 'victim_survivor', ?)", [NOW])
        db.execute("INSERT INTO assessments (id, uid, person_id, instrument_id,"
                   " instrument_version, occasion, status, created_at, updated_at)"
                   " VALUES (1, 'u', 1, 'toy-checklist', '1.0', 'intake', 'final', ?, ?)",
                   [NOW, NOW])
        for sid in (1, 2):
            db.execute("INSERT INTO scores (id, assessment_id, seq, instrument_id,"
                       " instrument_version, scorer_plugin, scorer_version, config_name,"
                       " config_hash, complete, result, created_at)"
                       " VALUES (?, 1, ?, 'toy-checklist', '1.0', 'p', '1', 'c', 'h', 1, '{}', ?)",
                       [sid, sid, NOW])
        db.conn.executemany("INSERT INTO score_values VALUES (?, ?, ?, ?, ?)", values)
    db.conn.close()

    with Store.open(path, engine) as store:
        sql = _table_sql(store.conn, "score_values")
        assert " IN (" not in sql.replace("\n", " ") and "WITHOUT ROWID" in sql
        stored = store.conn.execute("SELECT * FROM score_values ORDER BY score_id, kind, name")
        assert sorted(values) == [tuple(r) for r in stored]
        store.conn.execute("DELETE FROM scores WHERE id = 2")  # the foreign key still cascades
        assert store.conn.execute("SELECT COUNT(*) FROM score_values").fetchone()[0] == 4
        assert store.migrate() == []


@pytest.mark.parametrize("kind", ["score", "band", "level", "flag", "criterion", "group"])
def test_every_kind_is_accepted(store, kind):
    with store.write():
        _score(store)
        store.conn.execute("INSERT INTO score_values (score_id, kind, name, value_num)"
                           " VALUES (1, ?, 'n', 1.0)", [kind])


@pytest.mark.parametrize("kind", ["Score", "scores", "", "score ", "x' OR '1'='1"])
def test_any_other_kind_is_refused(store, kind):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), store.write():
        _score(store)
        store.conn.execute("INSERT INTO score_values (score_id, kind, name, value_num)"
                           " VALUES (1, ?, 'n', 1.0)", [kind])
    assert store.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 0


def _score(store):
    pid = store.ensure_person("P-1", "victim_survivor", actor="t")
    store.conn.execute("INSERT INTO assessments (id, uid, person_id, instrument_id,"
                       " instrument_version, occasion, status, created_at, updated_at)"
                       " VALUES (1, 'u', ?, 'toy-checklist', '1.0', 'intake', 'draft', ?, ?)",
                       [pid, NOW, NOW])
    store.conn.execute("INSERT INTO scores (id, assessment_id, seq, instrument_id,"
                       " instrument_version, scorer_plugin, scorer_version, config_name,"
                       " config_hash, complete, result, created_at)"
                       " VALUES (1, 1, 1, 'toy-checklist', '1.0', 'p', '1', 'c', 'h', 1, '{}', ?)",
                       [NOW])
