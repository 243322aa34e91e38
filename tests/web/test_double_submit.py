"""A create form sent twice creates one record; "Sign out everywhere" ends every session of
the account; an organisation can limit the sessions one account has at once."""

from __future__ import annotations

import re
import threading

import pytest

from formsengine.store import inspection as look
from formsengine.web import accounts

from .conftest import csrf, login, post

ONCE = re.compile(r'name="once" value="([^"]+)"')


def _case_form(client) -> dict:
    page = client.get("/cases/new").get_data(as_text=True)
    return {"csrf_token": csrf(client, "/cases/new"), "once": ONCE.search(page).group(1),
            "team": re.search(r'name="team" value="(\d+)"', page).group(1),
            "practitioner": re.search(
                r'id="practitioner" name="practitioner">\s*<option value="(\d+)"',
                page).group(1),
            "victim_survivor": "y", "opened_on-day": "6", "opened_on-month": "1",
            "opened_on-year": "2025", "schedule": ["intake"]}


def _count(store, table):
    return look.count(store, table)


def test_a_new_case_form_sent_twice_creates_one_case(alice, store):
    form = _case_form(alice)
    first = alice.post("/cases/new", data=form)
    second = alice.post("/cases/new", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(store, "cases") == 1
    # a form shown again has a new token: another case
    assert alice.post("/cases/new", data=_case_form(alice)).status_code == 302
    assert _count(store, "cases") == 2


def test_sent_twice_at_the_same_moment_still_one_case(app, users, store):
    clients = [app.test_client() for _ in range(2)]
    assert login(clients[0], "alice").status_code == 302
    form = _case_form(clients[0])  # one browser: the second send carries the same cookie
    clients[1].set_cookie("fe_session", clients[0].get_cookie("fe_session").value)
    results = []
    start = threading.Barrier(2)

    def send(client):
        start.wait()
        response = client.post("/cases/new", data=form)
        results.append(response.headers.get("Location") or response.get_data(as_text=True)[:3000])

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2 and results[0] == results[1]
    assert _count(store, "cases") == 1


def test_start_assessment_sent_twice_creates_one_draft(alice, store):
    alice.post("/cases/new", data=_case_form(alice))
    case = look.value(store, "cases", "uid")
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    form = {"csrf_token": csrf(alice, f"/cases/{case}"), "once": ONCE.search(page).group(1),
            "instrument": "test-risk", "occasion": "intake"}
    first = alice.post(f"/cases/{case}/assessments", data=form)
    second = alice.post(f"/cases/{case}/assessments", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(store, "assessments") == 1


def test_another_users_token_is_not_theirs(app, alice, store, users):
    """A token belongs to the account that was shown the form."""
    form = _case_form(alice)
    assert alice.post("/cases/new", data=form).status_code == 302
    sue = app.test_client()
    assert login(sue, "sue").status_code == 302
    theirs = _case_form(sue)
    theirs["once"] = form["once"]
    assert sue.post("/cases/new", data=theirs).status_code == 302
    assert _count(store, "cases") == 2


def test_sign_out_everywhere_ends_every_session(app, store, users):
    phone, desk = app.test_client(), app.test_client()
    assert login(phone, "alice").status_code == 302
    assert login(desk, "alice").status_code == 302
    assert "Sign out everywhere" in desk.get("/account/password").get_data(as_text=True)
    response = post(desk, "/account/sign-out-everywhere", {})
    assert response.headers["Location"].endswith("/signed-out")
    assert phone.get("/").status_code == 302 and desk.get("/").status_code == 302
    assert look.count(store, "web_sessions") == 0
    assert look.value(store, "audit", "details", action="logout") == (
        '{"everywhere": true, "sessions": 2}')
    # it needs the form's CSRF token
    assert login(desk, "alice").status_code == 302
    assert desk.post("/account/sign-out-everywhere").status_code == 400
    assert _sessions(store, users["alice"]) == 1


def _sessions(store, user_id):
    return look.count(store, "web_sessions", user_id=user_id)


def test_the_organisation_limits_sessions_per_account(app, admin, store, users):
    response = post(admin, "/admin/settings", {"exit_url": "https://example.org/",
                                               "max_sessions": "2"}, token_from="/admin/")
    assert response.status_code == 302
    assert accounts.get_setting(store, "max_sessions") == 2
    clients = [app.test_client() for _ in range(3)]
    for c in clients:
        assert login(c, "alice").status_code == 302
    assert _sessions(store, users["alice"]) == 2
    assert clients[0].get("/").status_code == 302  # the oldest was ended
    assert clients[1].get("/").status_code == clients[2].get("/").status_code == 200
    assert look.count(store, "audit", action="session_limit") == 1


@pytest.mark.parametrize("value", ["21", "-1", "lots", "9" * 30])
def test_a_session_limit_out_of_range_is_refused(admin, store, value):
    response = post(admin, "/admin/settings", {"exit_url": "https://example.org/",
                                               "max_sessions": value}, token_from="/admin/")
    assert response.status_code == 400
    assert "Enter a number of sessions from 0 to 20" in response.get_data(as_text=True)
    assert accounts.get_setting(store, "max_sessions") == 0
