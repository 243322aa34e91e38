"""The data layer's boundaries: the web package reaches the database through ``web/db.py``,
and a ``Store`` is closed by a ``with`` block rather than ``try ... finally: close()``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from formsengine.errors import StorageError
from formsengine.store import Store

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "formsengine").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")])
WEB = ROOT / "formsengine" / "web"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_store_is_a_context_manager_that_closes(engine, tmp_path):
    path = tmp_path / "cm.db"
    with Store.open(path, engine, create=True) as store:
        assert store.conn.execute("SELECT 1").fetchone()[0] == 1
    with pytest.raises(Exception, match="closed"):
        store.conn.execute("SELECT 1")


def test_store_closes_when_the_block_fails(engine, tmp_path):
    path = tmp_path / "cm.db"
    with pytest.raises(StorageError), Store.open(path, engine, create=True) as store:
        raise StorageError("boom")
    with pytest.raises(Exception, match="closed"):
        store.conn.execute("SELECT 1")


def _closes_in_finally(node: ast.Try) -> bool:
    for stmt in node.finalbody:
        for sub in ast.walk(stmt):
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr == "close" and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id == "store"):
                return True
    return False


def test_no_try_finally_store_close():
    """Every store opened outside the store package is closed by ``with ... as store``."""
    found = []
    for path in SOURCES:
        if (ROOT / "formsengine" / "store") in path.parents:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Try) and _closes_in_finally(node):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_web_reaches_the_store_through_db_module():
    """Views import ``get_store``/``get_engine`` from ``web/db.py``, never through the
    package ``web/__init__`` (which would import the app factory and its views: a cycle)."""
    found = []
    for path in sorted(WEB.glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                from_package = (node.level == 1 and node.module is None) or (
                    node.level == 0 and node.module == "formsengine.web")
                names = {a.name for a in node.names}
                if from_package and names & {"get_store", "get_engine", "create_app"}:
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_amend_imports_no_private_names():
    found = []
    for node in ast.walk(_tree(WEB / "amend.py")):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            found += [f"{node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and a.name != "__future__"]
    assert found == []


# -- SQL stays in the store package ------------------------------------------------------------
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|PRAGMA|BEGIN"
                      r"|VACUUM)\s")
RAW_ACCESS = {"conn", "one", "all", "execute", "executemany", "executescript", "query"}

# Modules allowed to hold SQL or use a connection outside formsengine/store/, with the reason.
ALLOWED = {
    "formsengine/store_schema.py": "release 0.1's core migrations (the baseline's reference)",
    "formsengine/web/schema.py": "release 0.1's web migrations (the baseline's reference)",
    "formsengine/migrations/__init__.py": "reads Alembic's and release 0.1's bookkeeping",
    "formsengine/web/db.py": "opens the request's connection and rolls back at teardown",
}
# Alembic revisions are DDL: every file in a branch's versions directory
MIGRATION_DIRS = (ROOT / "formsengine" / "migrations" / "versions",
                  ROOT / "formsengine" / "web" / "migrations")
# Modules whose SQL has not been moved into formsengine/store/ yet: none now. It stays empty:
# a module not named here (or in ALLOWED) that writes SQL or touches a connection fails.
NOT_YET_MOVED: set[str] = set()


def _sql_sites(path: Path) -> list[int]:
    """Lines of SQL text, connection attributes, one/all/execute calls and sqlite-utils
    table access (``.db[...]``)."""
    lines = []
    tree = _tree(path)
    # ``x.all()`` and ``x.one()`` with no SQL (a Playwright locator's elements, a pandas
    # column's truth) are not database reads
    bare = {id(node.func) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("all", "one") and not node.args and not node.keywords}
    for node in ast.walk(tree):
        if id(node) in bare:
            continue
        if ((isinstance(node, ast.Constant) and isinstance(node.value, str)
             and SQL_TEXT.match(node.value))
                or (isinstance(node, ast.Attribute) and node.attr in RAW_ACCESS)
                or (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "db")):
            lines.append(node.lineno)
    return lines


def test_sql_only_in_the_store_package():
    found = []
    for path in SOURCES:
        name = path.relative_to(ROOT).as_posix()
        if (ROOT / "formsengine" / "store") in path.parents or name in ALLOWED:
            continue
        if path.parent in MIGRATION_DIRS:
            continue
        if name not in NOT_YET_MOVED and (lines := _sql_sites(path)):
            found.append(f"{name}:{lines[0]}")
    assert found == []


def test_the_not_yet_moved_list_only_names_modules_with_sql():
    """A module whose SQL has been moved leaves the list (so it cannot come back)."""
    stale = sorted(name for name in NOT_YET_MOVED
                   if not (ROOT / name).exists() or not _sql_sites(ROOT / name))
    assert stale == []


def test_the_guard_finds_sql_and_connections(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f(store):\n    return store.all("SELECT 1")\n'
                      'def g(store):\n    store.conn.commit()\n'
                      'def h(store):\n    return store.db["people"]\n', encoding="utf-8")
    assert sorted(set(_sql_sites(sample))) == [2, 4, 6]
    sample.write_text('def f(store):\n    return store.list_cases(team="a")\n',
                      encoding="utf-8")
    assert _sql_sites(sample) == []


def test_team_names_from_the_store(store):
    for name in ("South", "North"):
        store.ensure_team(name, actor="test")
    from formsengine.store.teams import team_names

    assert team_names(store) == ["North", "South"]


# -- tests reach the database through store functions ------------------------------------------
TESTS = ROOT / "tests"
# Test modules whose subject is the data layer itself, or the database file beneath it, and
# which therefore keep their SQL or open a connection of their own, with the reason.
ALLOWED_TESTS = {
    "tests/conftest.py": "makes and drops a PostgreSQL schema for each test module",
    "tests/store/test_importing.py": "the import's SQL module: its own statements",
    "tests/store/test_postgres.py": "the PostgreSQL connection: placeholders and locks",
    "tests/test_importer.py": "compares the rows an import writes with those a save writes, "
                              "table by table",
    "tests/store/test_auditlog.py": "the audit trail's SQL module: its own statements",
    "tests/store/test_viewlog.py": "the view log's SQL module: triggers, and tamper tests that"
                                   " edit, delete and forge rows behind its back",
    "tests/store/test_erasing.py": "the erasure's SQL module: what remains in each table",
    "tests/store/test_exports.py": "the exports' SQL module: its own statements",
    "tests/test_store.py": "the Store itself: transactions, locking, its connection",
    "tests/test_store_sql.py": "the store's SQL helpers (placeholder lists, chunks)",
    "tests/test_store_tables.py": "the schema's descriptions compared with the SQLite schema",
    "tests/test_data_layer.py": "the data layer's boundaries: the store's connection closes",
    "tests/test_audit.py": "the audit chain's own tests (append and verify take the "
                           "connection) and tamper tests that edit and delete rows behind "
                           "the store, as someone holding the file would",
    "tests/test_query_plans.py": "the query plans SQLite chooses for the store's statements",
    "tests/store/test_counts.py": "the counts' triggers under single statements that change "
                                  "several assessments at once, counts set wrong behind "
                                  "them, and the database as the revision before left it",
    "tests/store/test_trigger_reads.py": "what the triggers read: statements that fire "
                                         "them one at a time on many rows, and the database "
                                         "as the revision before left it",
    "tests/test_cli.py": "audit verify against a trail tampered with as the sqlite3 shell "
                         "would: the append-only trigger dropped, a row edited",
    "tests/test_migrations.py": "the migrations themselves: a release-0.1 database upgraded "
                                "in place and compared table by table, revisions and "
                                "triggers on SQLite and PostgreSQL",
    "tests/test_occasions.py": "builds a database as it stood before migration m006, with "
                               "rows in columns the current store no longer writes",
    "tests/web/test_crash_server.py": "a server killed mid-write: the file's integrity check "
                                      "and what the file holds, read with a connection of "
                                      "its own after the crash",
}


def _test_sql_sites(path: Path) -> list[int]:
    """``_sql_sites`` and calls that open a connection (``sqlite3.connect``, the store's
    ``connect``)."""
    lines = _sql_sites(path)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "connect")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "connect")):
            lines.append(node.lineno)
    return sorted(lines)


def test_tests_use_store_functions():
    """Tests read and set up records through named store functions
    (``formsengine/store/inspection.py`` for what only a check needs), not through SQL."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED_TESTS:
            continue
        if lines := _test_sql_sites(path):
            found.append(f"{name}:{lines[0]}")
    assert found == []


def test_the_allowed_tests_hold_sql():
    """A test module that no longer holds SQL leaves the list (so it cannot come back)."""
    stale = sorted(name for name in ALLOWED_TESTS
                   if not (ROOT / name).exists() or not _test_sql_sites(ROOT / name))
    assert stale == []


def test_the_test_guard_finds_connections_and_skips_bare_calls(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text('import sqlite3\n'
                      'def test_f(path):\n    sqlite3.connect(path)\n'
                      'def test_g(path):\n    connect(path)\n', encoding="utf-8")
    assert _test_sql_sites(sample) == [3, 5]
    sample.write_text('def test_f(page, frame):\n'
                      '    assert page.locator("li").all() and frame.isna().all()\n'
                      'def test_g(store):\n    return count(store, "cases")\n',
                      encoding="utf-8")
    assert _test_sql_sites(sample) == []
    sample.write_text('def test_f(store):\n    return store.all("SELECT 1")\n',
                      encoding="utf-8")
    assert _test_sql_sites(sample) == [2, 2]
