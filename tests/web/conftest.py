"""Fixtures for the web application: a real SQLite file in tmp_path, CSRF left on, cheap
Argon2 parameters, and a small instrument definition of the tests' own."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.web import accounts, create_app
from tests.conftest import selected_backend

DEFINITIONS = Path(__file__).parent / "definitions"
FAST_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def engine():
    return Engine(Settings(definitions_dir=DEFINITIONS), load_entrypoints=False)


def web_test_database(request, tmp_path) -> str:
    """The database the web tests run on: a SQLite file, or a fresh PostgreSQL schema when
    FORMSENGINE_TEST_BACKEND=postgres."""
    if selected_backend() == "postgresql":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "web.db")


@pytest.fixture
def app(request, tmp_path, engine):
    app = create_app({
        "TESTING": True,
        "DATABASE": web_test_database(request, tmp_path),
        "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
        "ENGINE": engine,
        "PASSWORD_HASH": FAST_HASH,
    })
    yield app
    # this thread's connection, kept between requests (web/db.py), goes back to its pool
    kept = getattr(app.extensions["formsengine_connections"], "store", None)
    if kept is not None:
        kept.close()


@pytest.fixture
def store(app):
    from formsengine.store import Store

    s = Store.open(app.config["DATABASE"], app.extensions["formsengine_engine"])
    yield s
    s.close()


@pytest.fixture
def client(app):
    return app.test_client()


def make_user(store, username, role="practitioner", teams=("Team A",), password=PASSWORD,
              must_change=False):
    team_ids = [store.ensure_team(t) for t in teams]
    return accounts.create_user(store, username, role=role, password=password,
                                params=FAST_HASH, teams=team_ids, must_change=must_change)


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path="/sign-in"):
    response = client.get(path)
    match = TOKEN.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def post(client, path, data=None, *, token_from=None, **kw):
    """POST with a CSRF token taken from a page, as a browser would."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf(client, token_from or _token_page(client)))
    return client.post(path, data=data, **kw)


def _token_page(client):
    return "/account/password"


def login(client, username, password=PASSWORD):
    token = csrf(client, "/sign-in")
    return client.post("/sign-in", data={"username": username, "password": password,
                                         "csrf_token": token})


@pytest.fixture
def users(store):
    """Two practitioners in different teams, a supervisor, an administrator, a researcher."""
    return {
        "alice": make_user(store, "alice", teams=("Team A",)),
        "bob": make_user(store, "bob", teams=("Team B",)),
        "sue": make_user(store, "sue", role="supervisor", teams=("Team A",)),
        "admin": make_user(store, "admin", role="administrator", teams=()),
        "rita": make_user(store, "rita", role="researcher", teams=()),
    }


@pytest.fixture
def cli_run(app, monkeypatch):
    """Run a ``formsengine`` command against the application's database."""
    from click.testing import CliRunner

    from formsengine.cli import _load_plugin_commands, cli
    from formsengine.store import is_database_url

    database = app.config["DATABASE"]
    monkeypatch.setenv("FORMSENGINE_DATABASE_URL" if is_database_url(database)
                       else "FORMSENGINE_DB", database)
    _load_plugin_commands(cli)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


@pytest.fixture
def admin(app, users):
    """The administrator, signed in (a client of its own)."""
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    return client


@pytest.fixture
def alice(client, users):
    assert login(client, "alice").status_code == 302
    return client


def create_case(client, **extra):
    data = {"victim_survivor": "y", "opened_on": "2025-01-06", "instruments": ["test-risk"]}
    page = client.get("/cases/new").get_data(as_text=True)
    team = re.search(r'name="team" value="(\d+)"', page) or re.search(
        r'<option value="(\d+)"', page)
    data["team"] = team.group(1)
    practitioner = re.search(r'id="practitioner" name="practitioner">\s*<option value="(\d+)"',
                             page)
    data["practitioner"] = practitioner.group(1)
    data.update(extra)
    response = post(client, "/cases/new", data, token_from="/cases/new")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"].rsplit("/", 1)[-1]


def start_assessment(client, case_uid, occasion="intake", instrument="test-risk"):
    response = post(client, f"/cases/{case_uid}/assessments",
                     {"instrument": instrument, "occasion": occasion},
                     token_from=f"/cases/{case_uid}")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[-1]


REV = re.compile(r'name="revision" value="(\d+)"')


def save_section(client, uid, section, answers, expect=302):
    page = client.get(f"/assessments/{uid}/sections/{section}").get_data(as_text=True)
    revision = REV.search(page).group(1)
    data = {"revision": revision, **answers}
    response = post(client, f"/assessments/{uid}/sections/{section}", data,
                    token_from=f"/assessments/{uid}/sections/{section}")
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


HIGH = {"q-t-injury": "yes", "q-t-frightened": "yes", "q-t-fears": ["killed"]}
HIGH2 = {"q-t-strangle": "yes", "q-t-threat_kill": "yes", "q-t-worse": "yes"}


def complete(client, uid, now=HIGH, history=HIGH2, details=None):
    save_section(client, uid, "details", details or {"f-assessment_date": "2025-01-06",
                                                     "f-incidents_12m": "1"})
    save_section(client, uid, "now", now)
    save_section(client, uid, "history", history)
    response = finalise(client, uid)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def finalise(client, uid, data=None, *, page=None):
    """Press a button of the check page's form as a browser would: with the revision and
    the judgement the page showed (``page``: a check page read earlier), and ``data``
    typed over them."""
    page = page or client.get(f"/assessments/{uid}/check").get_data(as_text=True)
    form = {"csrf_token": TOKEN.search(page).group(1), "revision": REV.search(page).group(1),
            "action": "finalise"}
    level = re.search(r'<option value="([^"]*)" selected>', page)
    if level:
        form["level"] = level.group(1)
    reason = re.search(r'name="reason"[^>]*>([^<]*)</textarea>', page)
    if reason:
        form["reason"] = html.unescape(reason.group(1))
    form.update(data or {})
    return client.post(f"/assessments/{uid}/finalise", data=form)


def load_bench():
    """The web benchmark's module: its server set-up and browser-like client, reused by the
    tests that run the real server under load."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_web.py"
    spec = importlib.util.spec_from_file_location("bench_web", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
