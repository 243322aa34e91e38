"""Core test fixtures.

Installed entry points are not loaded under test: each test registers the plugins it needs,
so that results do not depend on what happens to be installed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path

import pytest

import formsengine
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import Store

DATA = Path(__file__).parent / "data"


def toy_definition() -> dict:
    return json.loads((DATA / "toy.json").read_text())


class DefinitionsPlugin:
    """A test-only plugin that registers the definitions it is given."""

    def __init__(self, *definitions: dict, name: str = "test-plugin") -> None:
        self.definitions = definitions
        self.__name__ = name

    @formsengine.hookimpl
    def register_instruments(self, register):
        for d in self.definitions:
            register(copy.deepcopy(d))


def make_engine(*plugins, **kwargs) -> Engine:
    return Engine(Settings(), load_entrypoints=False, plugins=plugins, **kwargs)


@pytest.fixture
def toy() -> dict:
    return toy_definition()


@pytest.fixture
def engine(toy) -> Engine:
    return make_engine(DefinitionsPlugin(toy))


@pytest.fixture
def store(engine, tmp_path) -> Store:
    s = Store.open(tmp_path / "test.db", engine, create=True)
    yield s
    s.close()


def answers(**items) -> dict:
    """Answers data for the toy instrument; keyword names use _ for the dots."""
    base = {"toy.a": "no", "toy.b": "no", "toy.c": "no", "toy.d": "no"}
    for key, value in items.items():
        base["toy." + key.replace("__", ".")] = value
    return {"instrument": "toy-checklist", "answers": base,
            "fields": {"assessment_date": "2026-01-10"}}


def _postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pg_url() -> str:
    """A PostgreSQL server's SQLAlchemy URL: FORMSENGINE_TEST_DATABASE_URL, else the server on
    127.0.0.1:5432 if one answers. Without one the test is skipped, except under CI
    (CI=true), where it fails: CI always tests PostgreSQL."""

    url = os.environ.get("FORMSENGINE_TEST_DATABASE_URL")
    if url:
        return url
    if _postgres_answers():
        return "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    if os.environ.get("CI") == "true":
        pytest.fail("no PostgreSQL server: set FORMSENGINE_TEST_DATABASE_URL or run .ci/run")
    pytest.skip("no PostgreSQL server (set FORMSENGINE_TEST_DATABASE_URL)")


TEST_AUDIT_KEY = "test-audit-key-" + "k" * 40  # PostgreSQL's audit key comes from the environment


@contextlib.contextmanager
def pg_schema(pg_url: str, prefix: str = "t"):
    """A fresh PostgreSQL schema (its name yielded), dropped with everything in it after."""
    import secrets

    from sqlalchemy import create_engine, text

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_database(pg_url):
    """A database URL whose connections see a fresh schema of their own (their search path),
    dropped after the test; the audit key set in the environment as PostgreSQL needs it."""
    import secrets

    pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from formsengine.store import postgres

    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    # set here rather than through monkeypatch, which a test may undo
    before = os.environ.get("FORMSENGINE_AUDIT_KEY")
    os.environ["FORMSENGINE_AUDIT_KEY"] = TEST_AUDIT_KEY
    try:
        yield rendered
    finally:
        if before is None:
            os.environ.pop("FORMSENGINE_AUDIT_KEY", None)
        else:
            os.environ["FORMSENGINE_AUDIT_KEY"] = before
        postgres.dispose(rendered)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_store(engine, pg_database) -> Store:
    """A store on PostgreSQL (a fresh schema, created as ``db init`` creates it). Skipped
    when no server answers, failing under CI=true (see ``pg_url``)."""
    s = Store.open(pg_database, engine, create=True)
    yield s
    s.close()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``sqlite_only`` are not run on PostgreSQL."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("backend") == "postgresql" and item.get_closest_marker("sqlite_only"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    """Which database a test parametrised over both runs on."""
    return request.param


@pytest.fixture
def any_store(backend, request, engine, tmp_path) -> Store:
    """The ``store`` fixture on each backend in turn: SQLite (a file), then PostgreSQL."""
    if backend == "postgresql":
        return request.getfixturevalue("pg_store")
    s = Store.open(tmp_path / "test.db", engine, create=True)
    request.addfinalizer(s.close)
    return s
