"""What the triggers read when one case or assessment changes: statements that fire them,
one at a time, counted on a database where one occasion has many final assessments in other
cases (SQLite's virtual machine steps, PostgreSQL's rows read), and core_0011, which made
the schedule's triggers and the risk order read only the case's own assessments, applied to
a database at the revision before. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from formsengine.store.schedule import entries_of
from tests.conftest import answers
from tests.test_migrations import CONFIGURATIONS_TABLE, with_whole_results


@pytest.fixture
def location(backend, request, tmp_path) -> str:
    """A database to open more than once: a SQLite file, or a fresh PostgreSQL schema."""
    if backend == "postgresql":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "s.db")


CROWD = 4000  # cases, each with a final intake assessment of toy-checklist


def _crowded(store) -> dict[str, int]:
    """A database without statistics (none is ever analysed) where one occasion has many
    final assessments: CROWD cases without an opening date (so no entries), each with its
    final intake; then a case opened on a date whose own final intake is the last of them in
    every index, and a case with no assessment at all."""
    from formsengine.store.sql import is_postgres

    team = store.ensure_team("T")
    person = store.ensure_person("P-1", "victim_survivor")
    numbers = ("generate_series(1, ?) AS n(i)" if is_postgres(store.conn) else
               "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
               " SELECT i FROM n) AS n")
    with store.write():
        store.conn.execute("INSERT INTO cases (uid, ref, team_id, instruments, created_at)"
                           f" SELECT 'u-' || i, 'R-' || i, ?, '[\"toy-checklist\"]', 'now'"
                           f" FROM {numbers}", [team, CROWD])
        store.conn.execute(
            "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
            " instrument_version, occasion, status, created_at, updated_at) SELECT"
            " 'a-' || id, ?, id, 'toy-checklist', '1', 'intake', 'final', 'now', 'now'"
            " FROM cases", [person])
    target = store.create_case("C-1", team_id=team, instruments=["toy-checklist"])
    bare = store.create_case("C-2", team_id=team, instruments=["toy-checklist"])
    with store.write():
        store.conn.execute(
            "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
            " instrument_version, occasion, status, created_at, updated_at) VALUES"
            " ('mine', ?, ?, 'toy-checklist', '1', 'intake', 'final', 'now', 'now')",
            [person, target])
    return {"team": team, "person": person, "target": target, "bare": bare}


def _cost(store, sql: str, params: list) -> int:
    """What one statement and the triggers it fires read: on SQLite the virtual machine's
    steps; on PostgreSQL the rows it read from ``assessments`` (through any index or by a
    scan), counted for the transaction by the statistics functions."""
    from formsengine.store.sql import is_postgres

    if is_postgres(store.conn):
        read = ("SELECT pg_stat_get_xact_tuples_returned('assessments'::regclass)"
                " + (SELECT COALESCE(SUM(pg_stat_get_xact_tuples_returned(indexrelid)), 0)"
                " FROM pg_index WHERE indrelid = 'assessments'::regclass) AS n")
        with store.write():
            before = store.one(read)["n"]
            store.conn.execute(sql, params)
            return int(store.one(read)["n"] - before)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with store.write():
        store.conn.set_progress_handler(count, 1)
        try:
            store.conn.execute(sql, params)
        finally:
            store.conn.set_progress_handler(None, 1)
    return steps[0]


def test_the_triggers_read_only_the_cases_own_assessments(store):
    """Giving a case its opening date, finalising, superseding, scoring and deleting an
    assessment read that case's assessments only, through the case index, however many
    final assessments the same occasion has in other cases. (Without statistics both
    databases used to find a case's final assessment through ``assessments_counts``,
    reading every final assessment of the occasion: at 100,000 assessments, setting every
    case's opening date did not finish in 25 minutes.)"""
    from formsengine.store.sql import is_postgres

    ids = _crowded(store)
    target, bare = ids["target"], ids["bare"]
    insert = ("INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
              " instrument_version, occasion, status, created_at, updated_at) VALUES"
              " (?, ?, ?, 'toy-checklist', '1', 'intake', 'final', 'now', 'now')")
    steps = {
        "open the case": ("UPDATE cases SET opened_on = '2025-01-31' WHERE id = ?", [target]),
        "open a case without assessments": (
            "UPDATE cases SET opened_on = '2025-01-31' WHERE id = ?", [bare]),
        "create an opened case": (
            "INSERT INTO cases (uid, ref, team_id, instruments, opened_on, created_at)"
            " VALUES ('u-new', 'C-3', ?, '[\"toy-checklist\"]', '2025-01-31', 'now')",
            [ids["team"]]),
        "store a final assessment": (insert, ["second", ids["person"], bare]),
        "supersede it": ("UPDATE assessments SET status = 'superseded' WHERE uid = 'second'",
                         []),
        "finalise it again": ("UPDATE assessments SET status = 'final' WHERE uid = 'second'",
                              []),
        "score it": (
            "INSERT INTO scores (assessment_id, seq, instrument_id, instrument_version,"
            " scorer_plugin, scorer_version, config_name, config_hash, complete, result,"
            " created_at) SELECT id, 1, 'toy-checklist', '1', 'p', '1', 'c', 'h', 1, '{}',"
            " 'now' FROM assessments WHERE uid = 'second'", []),
        "delete it": ("DELETE FROM assessments WHERE uid = 'second'", []),
    }
    # PostgreSQL: rows of assessments read; SQLite: steps (a few hundred for a case's rows,
    # at least CROWD for a walk through the other cases' final assessments)
    most = 40 if is_postgres(store.conn) else CROWD // 2
    costs = {name: _cost(store, sql, params) for name, (sql, params) in steps.items()}
    assert {name: cost for name, cost in costs.items() if cost > most} == {}, costs
    # and the entries say what is done
    assert {(r["case_id"], r["occasion"]): r["done"] for r in entries_of(store, [target, bare])
            if r["occasion"] == "intake"} == {(target, "intake"): 1, (bare, "intake"): 0}


def _downgrade(location: str, engine, target: str) -> None:
    """Take the database back to ``target`` with the revisions' own downgrades."""
    from alembic import command

    from formsengine import migrations
    from formsengine.store import connect

    if location.startswith("postgresql"):
        from formsengine.store.postgres import engine_for

        with engine_for(location).connect() as sa:
            command.downgrade(migrations.config(engine, sa), target)
            sa.commit()
        return
    raw = connect(location)
    try:
        with migrations.sqlalchemy_connection(raw) as sa:
            command.downgrade(migrations.config(engine, sa), target)
            sa.commit()
    finally:
        raw.close()


def _trigger_sql(store) -> list[str]:
    """The schedule's trigger code as stored: SQLite's triggers, PostgreSQL's functions."""
    if store.postgres:
        return [r["prosrc"] for r in store.all(
            "SELECT prosrc FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
            " AND proname IN ('schedule_case',"
            " 'schedule_assessment', 'case_risk_order') ORDER BY proname")]
    return [r["sql"] for r in store.all(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'schedule_%'"
        " ORDER BY name")]


def _indexes(store) -> set[str]:
    return {r["name"] for r in store.all(
        "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'assessments'"
        " AND schemaname = current_schema()"
        if store.postgres else
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'assessments'")}


def test_core_0011_replaces_the_triggers_of_a_database_at_core_0010(location, engine):
    """From the previous head: a database at core_0010 (core_0003's triggers) with cases
    and assessments; ``db upgrade`` applies core_0011 alone, keeps every entry, and the
    triggers it leaves are the store's, reading only the case's own assessments."""
    from formsengine.migrations import SchemaBehindError
    from formsengine.store import Store
    from formsengine.store.schedule import postgres_triggers, sqlite_triggers

    with Store.open(location, engine, create=True) as store:
        now = _trigger_sql(store)
        team = store.ensure_team("T")
        person = store.ensure_person("P-1", "victim_survivor")
        cases = [store.create_case(f"C-{n}", team_id=team, instruments=["toy-checklist"],
                                   opened_on="2025-01-31", people=[(person, "victim_survivor")])
                 for n in range(3)]
    _downgrade(location, engine, "core_0010")
    with pytest.raises(SchemaBehindError):
        Store.open(location, engine)
    from formsengine.store import connect as sqlite_connect
    from formsengine.store.postgres import connect as pg_connect

    older = Store((pg_connect if location.startswith("postgresql") else sqlite_connect)(
        location), engine)
    before = _trigger_sql(older)
    assert before != now
    assert not any("INDEXED BY" in sql or "OFFSET 0" in sql or "|| ''" in sql
                   for sql in before)
    assert "assessments_supersedes" not in _indexes(older)
    inst, sub = engine.check(answers(a="yes"))
    older.conn.execute(CONFIGURATIONS_TABLE)  # (core_0012's: only while today's store writes)
    older.create_assessment(inst, sub, person_id=person, occasion="intake", case_id=cases[0],
                            status="final")
    with_whole_results(older.conn)
    entries = entries_of(older)
    older.close()
    assert {(e["case_id"], e["occasion"]): e["done"] for e in entries
            if e["occasion"] == "intake"} == {(cases[0], "intake"): 1, (cases[1], "intake"): 0,
                                               (cases[2], "intake"): 0}
    with Store.open(location, engine, upgrade=True) as store:
        assert store.last_upgrade == ["core:core_0011", "core:core_0012"]
        assert _trigger_sql(store) == now
        assert "assessments_supersedes" in _indexes(store)
        if store.postgres:  # the functions' bodies as the store writes them
            assert sorted(now[1:]) == sorted(
                sql.split("$$")[1] for sql in postgres_triggers() if "$$" in sql)
        else:
            assert sorted(now) == sorted(sqlite_triggers())
        assert entries_of(store) == entries
        # and they keep the entries from there, reading the case's own rows
        older_aid = store.one("SELECT id FROM assessments WHERE case_id = ?",
                              [cases[0]])["id"]
        assert _cost(store, "UPDATE assessments SET status = 'superseded' WHERE id = ?",
                     [older_aid]) < (40 if store.postgres else 2000)
        assert [e["done"] for e in entries_of(store, [cases[0]])
                if e["occasion"] == "intake"] == [0]
        assert _cost(store, "UPDATE cases SET opened_on = '2025-02-28' WHERE id = ?",
                     [cases[1]]) < (40 if store.postgres else 2000)
        assert [(e["occasion"], e["due"]) for e in entries_of(store, [cases[1]])] == [
            ("exit", "2025-08-28"), ("intake", "2025-02-28"), ("review", "2025-05-28")]
