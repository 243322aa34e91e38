"""Requests that race each other, on SQLite and on PostgreSQL: the user sees the page's
plain message (or the change made once), never a database error."""

from __future__ import annotations

import threading

import pytest

from formsengine.store import caseviews
from formsengine.store import inspection as look
from formsengine.web.app import create_app

from .conftest import FAST_HASH, create_case, csrf, login

CLIENTS = 3


@pytest.fixture
def app(request, tmp_path, engine, backend):
    """The application on each database in turn (whatever FORMSENGINE_TEST_BACKEND says)."""
    database = (request.getfixturevalue("pg_database") if backend == "postgresql"
                else str(tmp_path / "web.db"))
    app = create_app({"TESTING": True, "DATABASE": database, "ENGINE": engine,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "PASSWORD_HASH": FAST_HASH})
    yield app
    kept = getattr(app.extensions["formsengine_connections"], "store", None)
    if kept is not None:
        kept.close()


def at_once(calls):
    """Run the calls in threads started together; their results (or exceptions)."""
    results: list = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i):
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # a server error would come out here (TESTING propagates)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_adding_the_service_user_from_several_pages_at_once_adds_one(app, users, store):
    clients = [app.test_client() for _ in range(CLIENTS)]
    for client in clients:
        assert login(client, "alice").status_code == 302
    case = create_case(clients[0])  # a victim-survivor only
    tokens = [csrf(client, f"/cases/{case}") for client in clients]

    def add(i):
        def call():
            return clients[i].post(f"/cases/{case}/people", data={
                "role": "service_user", "initials": f"S{i}", "csrf_token": tokens[i]})
        return call

    responses = at_once([add(i) for i in range(CLIENTS)])
    assert not [r for r in responses if isinstance(r, Exception)], responses
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302] + [400] * (CLIENTS - 1)
    for response in responses:
        if response.status_code == 400:
            assert "This case already has one" in response.get_data(as_text=True)
    people = caseviews.case_people(store, store.find_case(case)["id"])
    assert sorted(p["role"] for p in people) == ["service_user", "victim_survivor"]
    # the refused requests' new people were rolled back with them
    assert look.count(store, "people") == 2
