"""Migrations with Alembic (formsengine.migrations): a new database at every branch's head,
a release-0.1 database taken over in place, plugins' branches, and servers that refuse a
schema that is behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

import formsengine
from formsengine import audit, migrations
from formsengine.errors import StorageError
from formsengine.migrations import SchemaBehindError
from formsengine.store import Store, connect
from formsengine.store_schema import core_migrations
from formsengine.web.schema import web_migrations
from tests.conftest import (
    DATA,
    TEST_AUDIT_KEY,
    DefinitionsPlugin,
    answers,
    make_engine,
    pg_schema,
)
from tests.test_store_tables import _describe

BOOKKEEPING = {"alembic_version", "_sqlite_migrations"}
CONFIGURATIONS_TABLE = ("CREATE TABLE score_configurations (hash TEXT NOT NULL PRIMARY KEY,"
                        " record TEXT NOT NULL)")


def schema_of(path: Path) -> dict:
    """Tables (as test_store_tables describes them) and the SQL of triggers and indexes."""
    described = {k: v for k, v in _describe(path).items() if k not in BOOKKEEPING}
    conn = connect(path)
    try:
        sql = sorted((r[0], r[1], r[2]) for r in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index')"
            " AND sql IS NOT NULL AND tbl_name NOT IN ('_sqlite_migrations')"))
    finally:
        conn.close()
    return {"tables": described, "sql": sql}


def legacy_database(path: Path, engine, *, stop_before: str | None = None) -> None:
    """A database as release 0.1 made it: its sqlite-utils migration sets, then records
    written by the store (a team, people, final and draft assessments with their scores, a
    user account and the audit rows of all of it)."""
    conn = connect(path)
    db = Database(conn)
    core_migrations.apply(db, stop_before=stop_before)
    if stop_before is None:
        web_migrations.apply(db)
    store = Store(conn, engine)
    team = store.ensure_team("North", actor="old")
    if stop_before is not None:  # (older layouts: people only)
        for n in range(3):
            store.ensure_person(f"P-{n}", "victim_survivor", actor="old")
        conn.close()
        return
    from formsengine.web import accounts

    accounts.create_user(store, "pat", role="practitioner",
                         password="correct-horse-battery-staple-42",
                         params={"time_cost": 1, "memory_cost": 8, "parallelism": 1},
                         teams=[team], actor="old")
    # today's store writes the assessments: the column it names that release 0.1 did not
    # have (core_0010's language) and the table of configuration records (core_0012's) are
    # there only while it writes them
    conn.execute("ALTER TABLE assessments ADD COLUMN language TEXT NOT NULL DEFAULT 'en'")
    conn.execute(CONFIGURATIONS_TABLE)
    for n, status in enumerate(["final", "final", "draft"]):
        inst, sub = engine.check(answers(a="yes" if n else "no"))
        pid = store.ensure_person(f"P-{n}", "victim_survivor")
        store.create_assessment(inst, sub, person_id=pid, occasion="intake",
                                assessor="old", status=status)
    conn.execute("ALTER TABLE assessments DROP COLUMN language")
    with_whole_results(conn)
    conn.close()


def without_carried_column(after: dict[str, list]) -> None:
    """Take core_0007's column (the last of ``answers``) out of rows read after an upgrade,
    having checked that no answer of the older database is said to be carried forward."""
    assert {row[-1] for row in after["answers"]} <= {None}
    after["answers"] = [tuple(row[:-1]) for row in after["answers"]]


def with_language(rows: list) -> list:
    """Assessments as core_0010 leaves them: each completed in English."""
    return [(*row, "en") for row in rows]


def with_whole_results(conn) -> None:
    """Scores as the store wrote them before core_0012: each result with its configuration
    record in it, and no ``score_configurations`` (today's store, which wrote them, keeps
    the record there)."""
    from formsengine.store import read_result

    rows = conn.execute("SELECT s.id, s.result, s.config_name, c.record FROM scores s"
                        " JOIN score_configurations c ON c.hash = s.config_hash").fetchall()
    for score_id, result, name, record in rows:
        whole = json.dumps(read_result(result, name, record), ensure_ascii=False)
        conn.execute("UPDATE scores SET result = ? WHERE id = ?", [whole, score_id])
    conn.execute("DROP TABLE score_configurations")


def read_scores(rows: list, configurations: list | None = None) -> list:
    """Score rows (as ``SELECT *`` reads them) with their result as the store reads it: parsed,
    its configuration record put back from ``configurations`` (core_0012's rows)."""
    from formsengine.store import read_result

    records = dict(configurations or [])
    return [(*row[:11], read_result(row[11], row[7], records.get(row[8])), *row[12:])
            for row in rows]


def as_upgraded(after: dict[str, list], before: dict[str, list]) -> None:
    """core_0012 on the dumps of a database before and after it: each configuration record
    taken out of the results and kept once (here, one configuration), every result read as
    it was."""
    configurations = after.pop("score_configurations")
    assert len(configurations) == 1 and all(
        '"configuration"' not in row[11] for row in after["scores"])
    after["scores"] = read_scores(after["scores"], configurations)
    before["scores"] = read_scores(before["scores"])


def dump(path: Path) -> dict[str, list]:
    """Every row of every table but the migration bookkeeping."""
    conn = connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f"SELECT * FROM {n} ORDER BY 1, 2").fetchall()  # nosec B608
                for n in names if n not in BOOKKEEPING}
    finally:
        conn.close()


@pytest.fixture
def engine(toy):
    return make_engine(DefinitionsPlugin(toy))


def cli(tmp_path, *args):
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120)


# -- a new database ---------------------------------------------------------------------------
def test_a_new_database_is_built_exactly_as_release_0_1_built_it_then_upgraded(engine,
                                                                                tmp_path):
    Store.open(tmp_path / "new.db", engine, create=True).close()
    old = Database(connect(tmp_path / "old.db"))
    core_migrations.apply(old)
    web_migrations.apply(old)
    old.conn.close()
    baseline = schema_of(tmp_path / "old.db")
    conn = connect(tmp_path / "old.db")
    assert migrations.upgrade(conn, engine) == ["core:core_0002", "core:core_0003",
                                                "core:core_0004", "core:core_0007",
                                                "core:core_0009", "core:core_0005",
                                                "core:core_0008", "core:core_0010",
                                                "core:core_0011", "core:core_0012"]
    conn.close()
    assert schema_of(tmp_path / "new.db") == schema_of(tmp_path / "old.db") != baseline
    conn = connect(tmp_path / "new.db")
    assert [b.behind for b in migrations.status(conn, engine)] == [False, False]
    assert {b.label: b.current for b in migrations.status(conn, engine)} == {
        "core": "core_0012", "web": "web_0001"}
    # the keyed audit chain starts as the release's m005 started it
    assert audit.verify(conn).ok
    conn.close()


def test_the_comparison_notices_a_missing_trigger(engine, tmp_path):
    Store.open(tmp_path / "a.db", engine, create=True).close()
    Store.open(tmp_path / "b.db", engine, create=True).close()
    conn = connect(tmp_path / "b.db")
    conn.execute("DROP TRIGGER case_risk_delete")
    conn.close()
    assert schema_of(tmp_path / "a.db") != schema_of(tmp_path / "b.db")


def test_upgrading_a_current_database_applies_nothing(store):
    assert store.migrate() == []
    assert store.all("SELECT version_num FROM alembic_version ORDER BY 1") == [
        {"version_num": "core_0012"}, {"version_num": "web_0001"}]


# -- a database made by release 0.1 -----------------------------------------------------------
def test_a_release_0_1_database_is_stamped_and_upgraded_in_place(engine, tmp_path):
    path = tmp_path / "cli.db"
    legacy_database(path, engine)
    before = dump(path)
    assert before["assessments"] and before["web_users"] and before["scores"]

    with pytest.raises(SchemaBehindError, match="formsengine db upgrade"):
        Store.open(path, engine)
    status = cli(tmp_path, "db", "status")
    assert status.returncode == 1, status.stderr
    assert "made by formsengine 0.1" in status.stdout and "db upgrade" in status.stderr

    with Store.open(path, engine, upgrade=True) as store:
        # stamped at the baseline, then upgraded from there
        assert store.last_upgrade == ["core:core_0002", "core:core_0003", "core:core_0004",
                                     "core:core_0007", "core:core_0009", "core:core_0005",
                                     "core:core_0008", "core:core_0010",
                                     "core:core_0011", "core:core_0012"]
        assert audit.verify(store.conn).ok
        # the old record is kept
        assert store.one("SELECT COUNT(*) AS n FROM _sqlite_migrations")["n"] == 11
    after = dump(path)
    assert after.pop("case_people_set_aside") == []  # core_0002's table: no case had two
    after = {k: v for k, v in after.items()  # core_0003's and core_0008's
             if not k.startswith(("schedule_", "final_"))}
    assert after.pop("view_log") == []  # core_0005's table, empty
    without_carried_column(after)
    as_upgraded(after, before)
    assert after == before | {"assessments": with_language(before["assessments"])}
    fresh = tmp_path / "fresh.db"
    Store.open(fresh, engine, create=True).close()
    assert schema_of(path) == schema_of(fresh)
    status = cli(tmp_path, "db", "status")
    assert status.returncode == 0, status.stderr
    assert "core    core_0012  core_0012  current" in status.stdout
    with Store.open(path, engine) as store:  # opens without complaint now
        assert store.get_person("P-1") is not None


def test_the_cli_upgrade_takes_over_a_release_0_1_database_and_audits_it(engine, tmp_path):
    path = tmp_path / "cli.db"
    legacy_database(path, engine, stop_before="m007_list_indexes")
    before = dump(path)
    out = cli(tmp_path, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    assert "applied formsengine:m007_list_indexes" in out.stdout
    assert "applied formsengine:m009_definition_snapshots" in out.stdout
    # the web set had never run on it: its branch is applied from its first revision
    assert "applied web:web_0001" in out.stdout
    after = dump(path)
    for table, rows in before.items():
        if table not in ("audit", "assessments", "cases"):
            assert after[table] == rows, table
    assert len(after["assessments"]) == len(before["assessments"])
    assert [r[:4] for r in after["audit"][:len(before["audit"])]] == [
        r[:4] for r in before["audit"]]
    conn = connect(path)
    assert audit.verify(conn).ok
    assert conn.execute("SELECT action FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0] \
        == "db_upgrade"
    conn.close()
    fresh = tmp_path / "fresh.db"
    Store.open(fresh, engine, create=True).close()
    assert schema_of(path) == schema_of(fresh)
    again = cli(tmp_path, "db", "upgrade")
    assert again.returncode == 0 and "applied" not in again.stdout


def test_two_upgrades_at_once_take_a_release_0_1_database_over_once(engine, tmp_path):
    """Two deploy scripts running db upgrade at the same moment: one takes the database
    over, the other waits for it and finds nothing left to do."""
    path = tmp_path / "cli.db"
    legacy_database(path, engine)
    before = dump(path)
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA), "FORMSENGINE_DB": str(path)}
    env.pop("FORMSENGINE_CONFIG", None)
    procs = [subprocess.Popen([sys.executable, "-m", "formsengine.cli", "db", "upgrade"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    conn = connect(path)
    assert {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")} == {
        "core_0012", "web_0001"}
    conn.close()
    after = dump(path)
    assert after.pop("case_people_set_aside") == []  # core_0002's table: no case had two
    after = {k: v for k, v in after.items()  # core_0003's and core_0008's
             if not k.startswith(("schedule_", "final_"))}
    # one of them applied core_0002 and core_0003 (and audited it); the other found nothing
    assert [r[3] for r in after["audit"][len(before["audit"]):]] == ["db_upgrade"]
    after["audit"] = after["audit"][:len(before["audit"])]
    assert after.pop("view_log") == []  # core_0005's table, empty
    without_carried_column(after)
    as_upgraded(after, before)
    assert after == before | {"assessments": with_language(before["assessments"])}


def test_upgrades_in_threads_of_one_process_take_turns(engine, tmp_path):
    import threading

    path = tmp_path / "threads.db"
    legacy_database(path, engine)
    results: list = []
    start = threading.Barrier(3)

    def run() -> None:
        conn = connect(path)
        try:
            start.wait()
            results.append(migrations.upgrade(conn, engine))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [[], [], ["core:core_0002", "core:core_0003", "core:core_0004",
                                         "core:core_0007", "core:core_0009", "core:core_0005",
                                         "core:core_0008", "core:core_0010",
                                         "core:core_0011", "core:core_0012"]]


def test_a_database_from_newer_code_is_refused(engine, tmp_path):
    path = tmp_path / "n.db"
    Store.open(path, engine, create=True).close()
    conn = connect(path)
    conn.execute("UPDATE alembic_version SET version_num = 'core_0099'"
                 " WHERE version_num = 'core_0012'")
    conn.close()
    with pytest.raises(SchemaBehindError, match="newer formsengine"):
        Store.open(path, engine)


def test_the_heads_read_from_the_files_are_alembics(engine, tmp_path):
    assert migrations.quick_heads(engine) == frozenset(migrations.scripts(engine).heads.values())
    # a revision file that does not say its revisions plainly: Alembic reads them
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "odd_0001_x.py").write_text("revision = make_id()\ndown_revision = None\n")
    odd = make_engine(DefinitionsPlugin(), NotesPlugin(versions, "odd"))
    assert migrations.quick_heads(odd) is None


def test_a_command_on_a_current_database_starts_without_alembic(engine, tmp_path):
    """A database at every head is known to be current from the revision files alone; one
    that is behind is still refused (by Alembic's reading)."""
    assert cli(tmp_path, "db", "init").returncode == 0
    probe = ("import sys; from formsengine.cli import main\n"
             "sys.argv = ['formsengine', 'cases', 'list', '--json']\n"
             "try:\n    main()\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "print('alembic' in sys.modules)\n")
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "False"
    conn = connect(tmp_path / "cli.db")
    core_head = migrations.scripts(engine).heads["core"]
    conn.execute("UPDATE alembic_version SET version_num = 'core_0004'"
                 f" WHERE version_num = '{core_head}'")  # nosec B608 (a test's own value)
    conn.close()
    refused = cli(tmp_path, "cases", "list", "--json")
    assert refused.returncode != 0 and "formsengine db upgrade" in refused.stderr


# -- servers refuse a schema that is behind --------------------------------------------------
class NotesPlugin:
    """A plugin with a branch of its own in ``directory``."""

    __name__ = "org-notes"

    def __init__(self, directory: Path, label: str = "org_notes") -> None:
        self.directory = directory
        self.label = label

    @formsengine.hookimpl
    def register_migrations(self):
        return self.label, self.directory


def test_a_plugin_branch_is_written_applied_and_required(toy, tmp_path):
    path = tmp_path / "p.db"
    Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True).close()
    versions = tmp_path / "versions"
    versions.mkdir()
    engine = make_engine(DefinitionsPlugin(toy), NotesPlugin(versions))

    first = migrations.new_revision(engine, "notes table", "org_notes")
    assert first.parent == versions and first.name.startswith("org_notes_0001_")
    text = first.read_text()
    assert "branch_labels = ('org_notes',)" in text and "depends_on = 'core_0012'" in text
    first.write_text(text.replace(
        "def upgrade() -> None:\n    pass",
        "def upgrade() -> None:\n    op.create_table('org_notes', sa.Column('id', sa.Integer,"
        " primary_key=True), sa.Column('case_id', sa.Integer, sa.ForeignKey('cases.id')))"))
    second = migrations.new_revision(engine, "a note's text", "org_notes")
    assert "down_revision = 'org_notes_0001'" in second.read_text()
    second.write_text(second.read_text().replace(
        "def upgrade() -> None:\n    pass",
        "def upgrade() -> None:\n    op.add_column('org_notes', sa.Column('text', sa.Text))"))
    migrations._scripts_cache.clear()

    # an installed plugin's new branch: the database is behind until db upgrade
    with pytest.raises(SchemaBehindError, match=r"org_notes at nothing.*db upgrade"):
        Store.open(path, engine)
    from formsengine.web.app import create_app

    with pytest.raises(SchemaBehindError, match="formsengine db upgrade"):
        create_app({"DATABASE": str(path), "ENGINE": engine, "TESTING": True})
    with Store.open(path, engine, upgrade=True) as store:
        assert store.last_upgrade == ["org_notes:org_notes_0001", "org_notes:org_notes_0002"]
        assert [r["name"] for r in store.all("PRAGMA table_info(org_notes)")] == [
            "id", "case_id", "text"]
        assert {b.label: b.current for b in migrations.status(store.conn, engine)} == {
            "core": "core_0012", "web": "web_0001", "org_notes": "org_notes_0002"}
    create_app({"DATABASE": str(path), "ENGINE": engine, "TESTING": True})
    # a new database gets the plugin's branch with the rest
    with Store.open(tmp_path / "new.db", engine, create=True) as store:
        assert "text" in {r["name"] for r in store.all("PRAGMA table_info(org_notes)")}


def test_a_failing_revision_leaves_the_database_as_it_was(toy, tmp_path):
    path = tmp_path / "f.db"
    Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True).close()
    versions = tmp_path / "versions"
    versions.mkdir()
    engine = make_engine(DefinitionsPlugin(toy), NotesPlugin(versions))
    rev = migrations.new_revision(engine, "broken", "org_notes")
    rev.write_text(rev.read_text().replace(
        "def upgrade() -> None:\n    pass",
        "def upgrade() -> None:\n    op.create_table('org_half', sa.Column('id', sa.Integer))\n"
        "    op.execute('SELECT * FROM no_such_table')"))
    migrations._scripts_cache.clear()
    with pytest.raises(Exception, match="no_such_table"):
        Store.open(path, engine, upgrade=True)
    conn = connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "org_half" not in names
    assert {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")} == {
        "core_0012", "web_0001"}
    conn.close()


def test_serve_refuses_a_schema_that_is_behind(engine, tmp_path):
    legacy_database(tmp_path / "cli.db", engine)
    out = cli(tmp_path, "serve", "--port", "1")
    assert out.returncode != 0
    assert "formsengine db upgrade" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("offer, problem", [
    (("Bad Label", "."), "not lower-case"),
    (("core", "."), "two plugins offer"),
    (("org", "no/such/dir"), "no directory"),
    (["org", "."], "returns (label, versions directory)"),
    ("org", "returns (label, versions directory)"),
    (("x" * 40, "."), "not lower-case"),
])
def test_a_plugin_offering_a_bad_branch_gets_a_clear_error(toy, tmp_path, offer, problem):
    class Bad:
        __name__ = "bad"

        @formsengine.hookimpl
        def register_migrations(self):
            if isinstance(offer, tuple) and offer[1] == ".":
                return offer[0], tmp_path
            return offer

    engine = make_engine(DefinitionsPlugin(toy), Bad())
    with pytest.raises(StorageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Store.open(tmp_path / "x.db", engine, create=True)


def test_revision_command_checks_its_input(engine, tmp_path):
    with pytest.raises(StorageError, match="no migration branch 'nope'"):
        migrations.new_revision(engine, "x", "nope")
    with pytest.raises(StorageError, match="message"):
        migrations.new_revision(engine, "  ", "core")
    for hostile in ('end """ import os', "two\nlines", "back\\slash", "x" * 201):
        with pytest.raises(StorageError, match="one line of at most 200"):
            migrations.new_revision(engine, hostile, "core")
    out = cli(tmp_path, "db", "revision", "-m", "x" * 201)
    assert out.returncode == 2 and "at most 200" in out.stderr


# -- PostgreSQL -------------------------------------------------------------------------------
@pytest.fixture
def pg_connection(pg_url):
    from sqlalchemy import create_engine

    pytest.importorskip("psycopg")
    with pg_schema(pg_url, "m") as schema:
        bind = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            with bind.connect() as conn:
                yield conn
        finally:
            bind.dispose()


def test_the_baseline_builds_the_described_schema_on_postgresql(engine, pg_connection,
                                                                 monkeypatch):
    from sqlalchemy import inspect, text

    from formsengine.store import tables

    monkeypatch.setenv("FORMSENGINE_AUDIT_KEY", TEST_AUDIT_KEY)
    migrations.run_upgrade(pg_connection, engine)
    inspector = inspect(pg_connection)
    assert set(inspector.get_table_names()) == set(tables.metadata.tables) | {
        "alembic_version"}
    for table in tables.metadata.tables.values():
        assert [c["name"] for c in inspector.get_columns(table.name)] == [
            c.name for c in table.columns], table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)
                   if "duplicates_constraint" not in i}
        assert indexes == {i.name for i in table.indexes}, table.name
        assert {tuple(fk["constrained_columns"]) for fk in
                inspector.get_foreign_keys(table.name)} == {
            tuple(c.parent.name for c in fk.elements) for fk in table.foreign_key_constraints
        }, table.name
    triggers = {r[0] for r in pg_connection.execute(text(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
    assert {"audit_no_update", "audit_no_delete", "audit_insert_in_chain",
            "case_risk_score", "case_risk_status", "case_risk_delete"} <= triggers
    assert {"schedule_case", "schedule_assessment"} <= triggers
    assert "final_counts_assessment" in triggers
    assert {r[0] for r in pg_connection.execute(text(
        "SELECT version_num FROM alembic_version"))} == {"core_0012", "web_0001"}
    migrations.run_upgrade(pg_connection, engine)  # nothing left to do


# -- core_0002: one person per role on a case ------------------------------------------------
@pytest.fixture
def at_core_0001(backend, request, engine, tmp_path):
    """A database at core_0001 and web_0001 (release 0.1's schema) with data in it, among
    which a case given two victim-survivors (as two requests at once could give it): its
    location. SQLite: made by release 0.1's migration sets; PostgreSQL: by the revisions."""
    if backend == "sqlite":
        where: str = str(tmp_path / "cli.db")
        legacy_database(Path(where), engine)
        conn = connect(where)
    else:
        from alembic import command

        from formsengine.store.postgres import connect as pg_connect
        from formsengine.store.postgres import engine_for

        where = request.getfixturevalue("pg_database")
        with engine_for(where).connect() as sa:
            command.upgrade(migrations.config(engine, sa), "web_0001")
            sa.commit()
        conn = pg_connect(where)
    store = Store(conn, engine)
    first = store.ensure_person("V-1", "victim_survivor")
    second = store.ensure_person("V-2", "victim_survivor")
    other = store.ensure_person("S-1", "service_user")
    case = store.create_case("C-1", people=[(first, "victim_survivor"),
                                            (second, "victim_survivor"),
                                            (other, "service_user")])
    inst, sub = engine.check(answers(a="yes"))
    # (the column core_0010 adds and core_0012's table are there only while today's store
    # writes the assessment)
    conn.execute("ALTER TABLE assessments ADD COLUMN language TEXT NOT NULL DEFAULT 'en'")
    conn.execute(CONFIGURATIONS_TABLE)
    store.create_assessment(inst, sub, person_id=second, occasion="intake", case_id=case)
    conn.execute("ALTER TABLE assessments DROP COLUMN language")
    with_whole_results(conn)
    conn.close()
    return where, case, first, second, other


def _everything(store) -> dict[str, list]:
    from formsengine.store import tables

    present = migrations._table_names(store.conn)
    return {name: sorted(map(tuple, store.conn.execute(
        f"SELECT * FROM {name}").fetchall()), key=repr)  # nosec B608 (described tables)
        for name in tables.metadata.tables if name in present}


def test_core_0002_keeps_one_person_a_role_and_sets_the_others_aside(at_core_0001, engine,
                                                                     tmp_path, backend):
    where, case, first, second, other = at_core_0001
    with pytest.raises(SchemaBehindError, match="formsengine db upgrade"):
        Store.open(where, engine)
    conn = Store(connect(where) if backend == "sqlite" else
                 __import__("formsengine.store.postgres", fromlist=["connect"]).connect(where),
                 engine)
    before = _everything(conn)
    assert "case_people_set_aside" not in before
    conn.close()
    with Store.open(where, engine, upgrade=True) as store:
        assert store.last_upgrade == [
            "core:core_0002", "core:core_0003", "core:core_0004", "core:core_0007",
            "core:core_0009", "core:core_0005",
            "core:core_0008", "core:core_0010", "core:core_0011",
            "core:core_0012",
            f"note: case {case} had 2 people as victim_survivor: kept person {second}, "
            f"moved person(s) {first} to case_people_set_aside"]
        after = _everything(store)
        # the person with an assessment on the case stays on it; the other is set aside
        assert sorted(after["case_people"]) == sorted(
            [(case, second, "victim_survivor"), (case, other, "service_user")])
        assert [row[:3] for row in after["case_people_set_aside"]] == [
            (case, first, "victim_survivor")]
        # nothing else changed: every person, assessment, score and audit row is there
        without_carried_column(after)
        for table, rows in before.items():
            if table == "assessments":  # core_0010: each completed in English
                rows = sorted(with_language(rows), key=repr)
            if table == "scores":  # core_0012: read with the configuration record kept once
                assert read_scores(after[table], after["score_configurations"]) == \
                    read_scores(rows), table
            elif table != "case_people":
                assert after[table] == rows, table
        assert audit.verify(store.conn).ok
        # and the rule holds from now on
        with pytest.raises(StorageError, match="already has a victim_survivor"):
            store.add_case_person(case, first, "victim_survivor")
        assert store.migrate() == []


def test_db_upgrade_and_status_on_postgresql(at_core_0001, engine, backend):
    if backend != "postgresql":
        pytest.skip("the SQLite command line is tested above")
    where = at_core_0001[0]
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
           "FORMSENGINE_DATABASE_URL": where, "FORMSENGINE_SECRET_KEY": "s" * 40}
    env.pop("FORMSENGINE_CONFIG", None)
    env.pop("FORMSENGINE_DB", None)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "formsengine.cli", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    status = run("db", "status")
    assert status.returncode == 1 and "core    core_0001  core_0012  behind" in status.stdout
    serve = run("serve", "--port", "1")
    assert serve.returncode != 0 and "formsengine db upgrade" in serve.stderr
    assert "Traceback" not in serve.stderr
    up = run("db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert "applied core:core_0002" in up.stdout and "note: case" in up.stdout
    status = run("db", "status")
    assert status.returncode == 0 and "core    core_0012  core_0012  current" in status.stdout
    assert "applied" not in run("db", "upgrade").stdout


def test_a_database_before_core_0005_gets_the_view_log_and_its_chain_still_verifies(
        engine, tmp_path):
    """``db upgrade`` from core_0009 (the revision before core_0005) adds the view log
    (and its triggers); the audit rows written before stay as they were and verify, and
    views are logged and sealed after."""
    from formsengine.store import inspection as look

    path = tmp_path / "at4.db"
    with Store.open(path, engine, create=True) as store:
        for i in range(4):
            store.audit("view", actor=f"before{i}", object_type="case", object_id=i)
        before = look.rows(store, "audit")
    conn = connect(path)  # back to core_0009: no view log (nor core_0008's counts)
    conn.execute("DROP TABLE view_log")
    for name in ("insert", "update_old", "update_new", "delete"):
        conn.execute(f"DROP TRIGGER final_counts_{name}")
    conn.execute("DROP TABLE final_counts")
    conn.execute("DROP TABLE final_people")
    conn.execute("DROP INDEX assessments_supersedes")  # (core_0011's index)
    conn.execute("ALTER TABLE assessments DROP COLUMN language")  # (and core_0010's)
    conn.execute("DROP TABLE score_configurations")  # (and core_0012's: no score here)
    conn.execute("UPDATE alembic_version SET version_num = 'core_0009'"
                 " WHERE version_num = 'core_0012'")
    conn.close()
    with pytest.raises(SchemaBehindError):
        Store.open(path, engine)
    with Store.open(path, engine, upgrade=True) as store:
        assert store.last_upgrade == ["core:core_0005", "core:core_0008", "core:core_0010",
                                      "core:core_0011", "core:core_0012"]
        assert look.rows(store, "audit") == before
        assert audit.verify(store.conn).ok
        store.log_view("view", actor="after", object_type="case", object_id=1)
        assert store.seal_views() == 1
        report = audit.verify(store.conn)
        assert report.ok and report.views_sealed == 1 and report.rows == len(before) + 1
        assert set(look.schema_sql(store)) >= {"view_log", "view_log_no_update",
                                               "view_log_no_delete", "view_log_actor"}


# -- core_0012: each configuration record kept once ------------------------------------------
def test_core_0012_keeps_each_configuration_record_once_and_every_result_reads_the_same(
        engine, tmp_path):
    path = tmp_path / "c.db"
    with Store.open(path, engine, create=True) as store:
        for n in range(3):
            inst, sub = engine.check(answers(a="yes" if n else "no"))
            pid = store.ensure_person(f"P-{n}", "victim_survivor")
            store.create_assessment(inst, sub, person_id=pid, occasion="intake",
                                    assessor="t", status="final")
    conn = connect(path)  # back to core_0010: every result with its own record
    with_whole_results(conn)
    odd = json.loads(conn.execute("SELECT result FROM scores WHERE id = 3").fetchone()[0])
    odd["configuration"]["overridden"] = ["said otherwise"]  # not the record of its hash
    conn.execute("UPDATE scores SET result = ? WHERE id = 3", [json.dumps(odd)])
    whole = {i: json.loads(r) for i, r in conn.execute("SELECT id, result FROM scores")}
    conn.execute("UPDATE alembic_version SET version_num = 'core_0011'"
                 " WHERE version_num = 'core_0012'")
    conn.close()
    with Store.open(path, engine, upgrade=True) as store:
        assert store.last_upgrade == ["core:core_0012"]
        kept = store.all("SELECT hash, record FROM score_configurations")
        assert len(kept) == 1 and "name" not in json.loads(kept[0]["record"])
        stored = {r["id"]: json.loads(r["result"]) for r in store.all(
            "SELECT id, result FROM scores")}
        assert ["configuration" in stored[i] for i in (1, 2, 3)] == [False, False, True]
        for score_id, result in whole.items():
            read = store.get_assessment(score_id)["result"]  # (assessment n has score n)
            assert read == result and list(read) == list(result)
