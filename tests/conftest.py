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


EXAMPLE_DEFINITIONS = Path(__file__).resolve().parent.parent / "docs" / "examples" / "definitions"


def example_definition(name: str) -> dict:
    """One of the documentation's example definitions (``docs/examples/definitions``), read
    afresh so that a test may change it."""
    return json.loads((EXAMPLE_DEFINITIONS / name).read_text(encoding="utf-8"))


def build_definition(data: dict, **where):
    """An instrument built from a definition as a plugin's would be (no file behind it)."""
    from formsengine.instruments import build_instrument

    return build_instrument(data, **{"plugin": "test", "plugin_version": "0", "source": None,
                                     **where})


def definition_problems(data: dict) -> list[str]:
    """What the validator says of a definition it refuses (the test fails if it does not)."""
    from formsengine.errors import DefinitionError

    with pytest.raises(DefinitionError) as caught:
        build_definition(data)
    return caught.value.problems


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
    """A new store: a SQLite file in tmp_path, or a fresh PostgreSQL schema when the tests
    run with FORMSENGINE_TEST_BACKEND=postgres (see ``new_database``)."""
    with new_database(tmp_path, "test.db") as location:
        s = Store.open(location, engine, create=True)
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


TEST_AUDIT_KEY = "test-audit-key-" + "k" * 40  # PostgreSQL's audit key comes from the environment
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def selected_backend() -> str:
    """The database the backend-following tests run on: ``sqlite`` (the default) or
    ``postgresql`` (FORMSENGINE_TEST_BACKEND=postgres, as ``make test``'s second pass)."""
    backend = os.environ.get("FORMSENGINE_TEST_BACKEND", "sqlite")
    if backend in ("postgres", "postgresql"):
        return "postgresql"
    if backend != "sqlite":
        raise ValueError("FORMSENGINE_TEST_BACKEND must be sqlite or postgres")
    return "sqlite"


def server_url() -> str:
    """The PostgreSQL server's SQLAlchemy URL: FORMSENGINE_TEST_DATABASE_URL, else the server
    on 127.0.0.1:5432 if one answers. Without one the test is skipped, except under CI
    (CI=true) or in the PostgreSQL pass, where it fails."""
    url = os.environ.get("FORMSENGINE_TEST_DATABASE_URL")
    if url:
        return url
    if _postgres_answers():
        return DEFAULT_PG_URL
    if os.environ.get("CI") == "true" or selected_backend() == "postgresql":
        pytest.fail("no PostgreSQL server: set FORMSENGINE_TEST_DATABASE_URL or run .ci/run")
    pytest.skip("no PostgreSQL server (set FORMSENGINE_TEST_DATABASE_URL)")


_worker_database: dict[str, str] = {}


def worker_url() -> str:
    """The URL of this test process's own database: under pytest-xdist each worker makes a
    fresh database on the server (``fe_test_<worker>_<random>``), dropped when its session
    ends, so that workers (and a second run at the same time) share neither tables nor
    advisory locks. Where the account may not create databases, the server's URL itself
    (every test still works in a schema of its own)."""
    if "url" in _worker_database:
        return _worker_database["url"]
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"fe_test_{worker}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no CREATEDB right: schemas in the given database
        _worker_database["url"] = base
    else:
        _worker_database["url"] = make_url(base).set(database=name).render_as_string(
            hide_password=False)
        _worker_database["drop"] = name
        _worker_database["admin"] = base
    finally:
        admin.dispose()
    return _worker_database["url"]


def pytest_sessionfinish(session, exitstatus):
    """Drop this process's test database (see ``worker_url``)."""
    name = _worker_database.pop("drop", None)
    if name is None:
        return
    from sqlalchemy import create_engine, text

    from formsengine.store import postgres

    postgres.dispose()
    admin = create_engine(_worker_database["admin"], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            # FORCE (PostgreSQL 13 and later) ends connections a test left open
            force = " WITH (FORCE)" if conn.dialect.server_version_info >= (13,) else ""
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"{force}'))
    finally:
        admin.dispose()


@pytest.fixture(scope="module")
def pg_url() -> str:
    """This test process's PostgreSQL database (see ``server_url`` and ``worker_url``)."""
    return worker_url()


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


@contextlib.contextmanager
def pg_schema_url(pg_url: str):
    """A database URL whose connections see a fresh schema of their own (their search
    path), dropped after; the audit key set in the environment as PostgreSQL needs it."""
    pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    from formsengine.store import postgres

    with pg_schema(pg_url) as schema:
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


@contextlib.contextmanager
def new_database(folder: str | Path, name: str):
    """Where a test's database goes: the SQLite file ``folder/name``, or, when the tests run
    with FORMSENGINE_TEST_BACKEND=postgres, a URL on a fresh PostgreSQL schema (dropped
    after). For fixtures of any scope (``pg_database`` is per test)."""
    if selected_backend() == "postgresql":
        with pg_schema_url(worker_url()) as url:
            yield url
    else:
        yield str(Path(folder) / name)


@pytest.fixture
def open_new_store(tmp_path):
    """Open a new store with a given engine (``open_new_store(engine, "name.db")``) on the
    selected backend (see ``new_database``); each is closed and dropped after the test."""
    with contextlib.ExitStack() as stack:
        def opener(engine: Engine, name: str = "test.db") -> Store:
            location = stack.enter_context(new_database(tmp_path, name))
            store = Store.open(location, engine, create=True)
            stack.callback(store.close)
            return store

        yield opener


@pytest.fixture
def pg_database(pg_url):
    """A database URL whose connections see a fresh schema of their own, dropped after the
    test (see ``pg_schema_url``)."""
    with pg_schema_url(pg_url) as url:
        yield url


@pytest.fixture
def pg_store(engine, pg_database) -> Store:
    """A store on PostgreSQL (a fresh schema, created as ``db init`` creates it). Skipped
    when no server answers, failing under CI=true (see ``pg_url``)."""
    s = Store.open(pg_database, engine, create=True)
    yield s
    s.close()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``sqlite_only`` are not run on PostgreSQL (neither as a ``backend``
    parameter nor in the PostgreSQL pass). When FORMSENGINE_TEST_BACKEND is set (``make
    test`` sets it in each of its two passes), a test parametrised over both databases runs
    only on the one named; unset, it runs on both."""
    kept, dropped = [], []
    named = os.environ.get("FORMSENGINE_TEST_BACKEND") and selected_backend()
    pg_pass = named == "postgresql"
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_pg = params.get("backend") == "postgresql" or (pg_pass and "backend" not in params)
        other_pass = named and params.get("backend") not in (None, named)
        if other_pass or (on_pg and item.get_closest_marker("sqlite_only")):
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
