"""The data layer's boundaries: the web package reaches the database through ``web/db.py``,
and a ``Store`` is closed by a ``with`` block rather than ``try ... finally: close()``."""

from __future__ import annotations

import ast
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
