"""The store on PostgreSQL: the connection that takes the store's SQL, opening a database by
URL, schema creation, transactions, and the audit chain under concurrent writers."""

from __future__ import annotations

import threading

import pytest

from formsengine.audit import verify
from formsengine.config import Settings
from formsengine.errors import ConfigError, StorageError
from formsengine.store import Store, create_schema, sql
from formsengine.store.postgres import is_url, redacted, translate

from ..conftest import answers
from ..test_store import save


# -- placeholders ------------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "named", "expected"), [
    ("SELECT * FROM t WHERE a = ? AND b = ?", False, "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT '?' || ?", False, "SELECT '?' || %s"),  # a ? in a string stays
    ("SELECT \"odd?name\" FROM t WHERE x = ?", False, "SELECT \"odd?name\" FROM t WHERE x = %s"),
    ("SELECT 5 % 2, x LIKE '50%' FROM t WHERE y = ?", False,
     "SELECT 5 %% 2, x LIKE '50%%' FROM t WHERE y = %s"),
    ("SELECT 'it''s ?' WHERE a = ?", False, "SELECT 'it''s ?' WHERE a = %s"),
    ("SELECT x FROM t WHERE a = :me AND b = :me", True,
     "SELECT x FROM t WHERE a = %(me)s AND b = %(me)s"),
    ("SELECT '[]'::json, to_regclass(:t)::text", True,
     "SELECT '[]'::json, to_regclass(%(t)s)::text"),
    ("SELECT ':not_a_name' WHERE a = ?", False, "SELECT ':not_a_name' WHERE a = %s"),
])
def test_placeholders_are_translated_outside_quotes(given, named, expected):
    assert translate(given, named) == expected


def test_urls_are_told_from_files_and_passwords_are_never_shown():
    assert is_url("postgresql+psycopg://u:secret@db.example/fe")
    assert not is_url("postgresql.db") and not is_url(None)
    assert redacted("postgresql+psycopg://u:secret@db.example/fe") == (
        "postgresql+psycopg://u:***@db.example/fe")


def test_the_url_comes_from_the_environment_and_a_file_given_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMSENGINE_DATABASE_URL", "postgresql+psycopg://u@h/fe")
    settings = Settings.from_env()
    assert settings.on_server and settings.location == "postgresql+psycopg://u@h/fe"
    assert Settings.from_env(database=tmp_path / "x.db").location == tmp_path / "x.db"
    monkeypatch.setenv("FORMSENGINE_DATABASE_URL", "mysql://u@h/fe")
    with pytest.raises(ConfigError, match="postgresql"):
        Settings.from_env()


# -- the connection ---------------------------------------------------------------------------
def test_values_are_bound_never_read_as_sql(pg_store):
    hostile = ["%s", "%(x)s", "?", "'); DROP TABLE people; --", "50% off", "a\\b", "é中😀"]
    for i, text in enumerate(hostile):
        pg_store.ensure_person(f"P-{i}", "victim_survivor", display_name=text)
    assert [pg_store.get_person(f"P-{i}")["display_name"] for i in range(len(hostile))] == hostile
    assert pg_store.one("SELECT COUNT(*) AS n FROM people WHERE display_name LIKE ?",
                        ["50%"])["n"] == 1


def test_rows_are_dicts_and_inserts_return_their_id(pg_store):
    first = pg_store.ensure_team("North")
    second = pg_store.ensure_team("South")
    assert second == first + 1
    assert pg_store.all("SELECT id, name FROM teams ORDER BY id") == [
        {"id": first, "name": "North"}, {"id": second, "name": "South"}]


def test_a_failed_write_leaves_nothing_and_a_failed_inner_write_only_its_own(pg_store):
    with pytest.raises(RuntimeError), pg_store.write():
        pg_store.ensure_team("Gone")
        raise RuntimeError("stop")
    assert pg_store.team_id("Gone") is None
    assert not pg_store.conn.in_transaction
    with pg_store.write():
        pg_store.ensure_team("Kept")
        with pytest.raises(RuntimeError), pg_store.write():  # a savepoint
            pg_store.ensure_team("Inner")
            raise RuntimeError("stop")
        pg_store.ensure_team("Also kept")
    assert pg_store.team_id("Kept") and pg_store.team_id("Also kept")
    assert pg_store.team_id("Inner") is None
    assert verify(pg_store.conn).ok


def test_text_with_a_nul_character_is_refused_plainly(pg_store):
    with pytest.raises(StorageError, match="NUL character"):
        pg_store.ensure_person("P-1", "victim_survivor", display_name="a\x00b")
    assert pg_store.get_person("P-1") is None


def test_the_dialect_helpers_agree_on_both_databases(store):
    save(store, answers(a="yes"), person="VS-1")
    assert sql.dialect_of(store.conn) == store.dialect
    row = store.one(
        f"SELECT {sql.json_array_agg(store.conn, 'x')} AS a,"  # nosec B608: test constants
        f" {sql.day_number(store.conn, '?')} - {sql.day_number(store.conn, '?')} AS d"
        " FROM (SELECT 1 AS x UNION ALL SELECT 2) q", ["2026-03-01", "2026-02-01"])
    assert row["a"].replace(" ", "") == "[1,2]" and row["d"] == 28
    assert store.one(f"SELECT {sql.json_array_agg(store.conn, 'id')} AS a"  # nosec B608
                     " FROM teams WHERE id < 0")["a"] == "[]"
    assert store.one(f"SELECT 1 AS x WHERE {sql.glob_match(store.conn, '?')}",  # nosec B608
                     ["C-12345", sql.glob_pattern(store.conn, "C-[0-9][0-9][0-9][0-9][0-9]")])
    assert not store.one(f"SELECT 1 AS x WHERE {sql.glob_match(store.conn, '?')}",  # nosec B608
                         ["C-1234X", sql.glob_pattern(store.conn, "C-[0-9][0-9][0-9][0-9][0-9]")])
    due = ("WITH x(d, u, n) AS (VALUES (?, ?, CAST(? AS INTEGER)))"  # nosec B608: helper's SQL
           f" SELECT {sql.offset_date(store.conn, 'x.d', 'x.u', 'x.n')} AS due FROM x")
    assert [store.one(due, [d, "months", 1])["due"]
            for d in ("2026-01-31", "2024-01-31", "2026-03-15")] == [
        "2026-02-28", "2024-02-29", "2026-04-15"]
    assert store.one(due, ["2026-12-29", "weeks", 1])["due"] == "2027-01-05"


# -- opening and creating ---------------------------------------------------------------------
def test_opening_a_database_without_the_schema_says_how_to_create_it(engine, pg_database):
    with pytest.raises(StorageError, match="db init"):
        Store.open(pg_database, engine)
    with Store.open(pg_database, engine, create=True) as store:
        assert create_schema(store) == []  # there already: nothing done
        assert verify(store.conn).ok
    with Store.open(pg_database, engine) as store:  # now it opens
        assert store.postgres and store.file is None


def test_two_processes_creating_the_schema_at_once_create_it_once(engine, pg_database):
    errors, done = [], []

    def create():
        try:
            with Store.open(pg_database, engine, create=True) as store:
                done.append(store.one("SELECT COUNT(*) AS n FROM audit")["n"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and done == [1, 1, 1]  # one chain, started once


def test_without_the_audit_key_in_the_environment_nothing_starts(engine, pg_database,
                                                                monkeypatch):
    monkeypatch.delenv("FORMSENGINE_AUDIT_KEY")
    with pytest.raises(StorageError, match="FORMSENGINE_AUDIT_KEY"):
        Store.open(pg_database, engine, create=True)


def test_the_web_app_needs_the_session_key_from_the_environment(pg_database, monkeypatch):
    from formsengine.web.app import create_app

    monkeypatch.delenv("FORMSENGINE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="FORMSENGINE_SECRET_KEY"):
        create_app({"DATABASE": pg_database, "LOAD_ENTRYPOINTS": False})


# -- the audit chain --------------------------------------------------------------------------
def test_concurrent_appends_from_threads_keep_the_chain(engine, pg_store, pg_database):
    """Appends from many connections at once: each waits for the advisory lock, so that no
    two rows claim the same place in the chain and no write fails."""
    writers, per_writer = 6, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(n: int) -> None:
        try:
            with Store.open(pg_database, engine) as store:
                start.wait()
                for i in range(per_writer):
                    if i % 3 == 0:
                        store.ensure_team(f"T-{n}-{i}", actor=f"w{n}")  # a write with its row
                    else:
                        store.audit("view", actor=f"w{n}", object_type="case", object_id=i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = verify(pg_store.conn)
    assert report.ok, report.message()
    assert report.rows == 1 + writers * per_writer
    ids = [r["id"] for r in pg_store.all("SELECT id FROM audit ORDER BY id")]
    assert ids == list(range(1, len(ids) + 1))


def test_the_chain_lock_is_taken_inside_the_write_and_released_by_its_end(pg_store):
    def held() -> int:
        return pg_store.one("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
                            " AND pid = pg_backend_pid()")["n"]

    with pg_store.write():
        pg_store.audit("view", actor="a")
        assert held() == 1
    assert held() == 0


def test_update_delete_and_out_of_chain_inserts_are_refused(pg_store):
    pg_store.audit("view", actor="a")
    for statement in ("UPDATE audit SET actor = 'x' WHERE id = 2", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"):
            pg_store.conn.execute(statement)
    with pytest.raises(Exception, match="only appended"), pg_store.write():
        pg_store.conn.execute(
            "INSERT INTO audit (id, at, actor, action, details, prev_hash, hash)"
            " VALUES (99, 'now', 'x', 'forged', '{}', ?, ?)", ["0" * 64, "0" * 64])
    assert verify(pg_store.conn).ok


def test_an_edited_row_is_found_when_the_triggers_were_dropped(pg_store):
    for i in range(4):
        pg_store.audit("view", actor=f"user{i}")
    pg_store.conn.execute("DROP TRIGGER audit_no_update ON audit")
    pg_store.conn.execute("UPDATE audit SET actor = 'someone else' WHERE id = 3")
    report = verify(pg_store.conn)
    assert not report.ok and report.first_broken_id == 3
    assert "audit_no_update" in report.message()


def test_times_in_seconds_keep_their_precision(pg_store):
    """SQLite's REAL is 8 bytes; PostgreSQL's is 4 (a time would move by a minute or more):
    the schema says DOUBLE PRECISION there."""
    at = 1_796_000_123.456789
    with pg_store.write():
        pg_store.conn.execute("INSERT INTO web_login_attempts (username_hash, at, ok)"
                              " VALUES (?, ?, 0)", ["h", at])
    assert pg_store.one("SELECT at FROM web_login_attempts")["at"] == at


def test_a_schema_made_before_the_stored_schedule_gets_it_on_upgrade(engine, pg_database):
    """``db upgrade`` on a PostgreSQL schema at core_0002 applies core_0003 (the schedule's
    tables and triggers); opening fills them from the cases already there."""
    from alembic import command

    from formsengine import migrations
    from formsengine.store.postgres import connect as pg_connect
    from formsengine.store.postgres import engine_for
    from formsengine.store.schedule import entries_of

    with engine_for(pg_database).connect() as sa:
        command.upgrade(migrations.config(engine, sa), "core_0002")
        command.upgrade(migrations.config(engine, sa), "web_0001")
        sa.commit()
    older = Store(pg_connect(pg_database), engine)
    team = older.ensure_team("T")
    case = older.create_case("C-1", team_id=team, instruments=["toy-checklist"],
                             opened_on="2025-01-31")
    older.close()
    with Store.open(pg_database, engine, upgrade=True) as store:
        assert store.last_upgrade == ["core:core_0003", "core:core_0004", "core:core_0007",
                                      "core:core_0009", "core:core_0005",
                                      "core:core_0008", "core:core_0010",
                                      "core:core_0011", "core:core_0012"]
        assert [(r["occasion"], r["due"]) for r in entries_of(store, [case])] == [
            ("exit", "2025-07-31"), ("intake", "2025-01-31"), ("review", "2025-04-30")]
        store.close_case(case, closed_on="2025-02-01", reason="other")  # the triggers too
        assert entries_of(store, [case]) == []
    with Store.open(pg_database, engine, upgrade=True) as store:
        assert store.last_upgrade == []


# -- bulk inserts --------------------------------------------------------------------------------

def test_an_import_goes_in_by_copy_and_stores_what_sqlite_stores(pg_database, tmp_path):
    """Bulk rows (answers, score values) reach PostgreSQL through COPY: the same rows as the
    same import gives on SQLite, NULL columns and comments included."""
    import json

    import formsengine_dash

    from formsengine.engine import Engine
    from formsengine.importer import import_file
    from formsengine.store import inspection as look
    from formsengine.synthetic import generate

    dash = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    records = [r for r in generate(dash, people=40, instruments=["dash-safelives"], seed=5)]
    records[0]["comments"] = {next(iter(records[0]["answers"])): "said with \t a tab\nand a line"}
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    found = {}
    for name, where in (("sqlite", tmp_path / "s.db"), ("postgresql", pg_database)):
        with Store.open(where, dash, create=True) as s:
            assert import_file(s, source, actor="test")["imported"] == len(records)
            found[name] = (
                look.rows(s, "answers", "assessment_id", "item_id", "value", "comment",
                          order_by=["assessment_id", "item_id"]),
                look.rows(s, "score_values", "score_id", "kind", "name", "value_num",
                          "value_text", order_by=["score_id", "kind", "name"]))
    assert sum(len(r["answers"]) for r in records) == len(found["postgresql"][0]) > 1000
    assert found["postgresql"] == found["sqlite"]
    assert any(r["comment"] for r in found["postgresql"][0])
    assert any(r["value_num"] is None for r in found["postgresql"][1])


# -- first uses at once ----------------------------------------------------------------------------

def test_a_definition_first_used_by_many_writers_at_once_is_stored_once(engine, pg_store,
                                                                         pg_database):
    """Several requests creating the first assessment of a version at the same moment (as
    several server processes do after a deploy): each gets the one snapshot, none fails."""
    from formsengine.store import inspection as look
    from formsengine.store.snapshots import snapshot_id

    inst = next(iter(engine.instruments))
    writers = 8
    start = threading.Barrier(writers)
    found: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Store.open(pg_database, engine) as store:
                start.wait()
                with store.write():
                    found.append(snapshot_id(store, inst))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(found) == writers and len(set(found)) == 1
    assert look.count(pg_store, "definition_snapshots", instrument_id=inst.id) == 1


def test_a_schema_before_core_0005_gets_the_view_log_and_its_chain_still_verifies(
        engine, pg_database):
    """``db upgrade`` from core_0009 (the revision before core_0005) adds the view log;
    the audit rows written before stay as they were and verify, and views are then logged
    and sealed after them."""
    from alembic import command

    from formsengine import migrations
    from formsengine.store.postgres import connect as pg_connect
    from formsengine.store.postgres import engine_for

    with engine_for(pg_database).connect() as sa:
        command.upgrade(migrations.config(engine, sa), "core_0009")
        command.upgrade(migrations.config(engine, sa), "web_0001")
        sa.commit()
    older = Store(pg_connect(pg_database), engine)
    for i in range(4):
        older.audit("view", actor=f"before{i}", object_type="case", object_id=i)
    before = older.all("SELECT * FROM audit ORDER BY id")
    older.close()
    with Store.open(pg_database, engine, upgrade=True) as store:
        assert store.last_upgrade == ["core:core_0005", "core:core_0008", "core:core_0010",
                                      "core:core_0011", "core:core_0012"]
        assert store.all("SELECT * FROM audit ORDER BY id") == before
        assert verify(store.conn).ok
        store.log_view("view", actor="after", object_type="case", object_id=1)
        assert store.seal_views() == 1
        report = verify(store.conn)
        assert report.ok and report.views_sealed == 1 and report.rows == len(before) + 1
