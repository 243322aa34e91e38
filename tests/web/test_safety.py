"""Leaving quickly and timing out without losing work: the exit route ends the session and
clears the site's data, the Exit this page button is on every page and every signed-in
page is no-store; asking how long a session has left and the draft save sent before an
idle sign-out do not count as activity, typing does (the keep-alive); an idle sign-out
asked for by the page's script answers in JSON; short timeouts can be set in minutes."""

from __future__ import annotations

import re

import pytest

from formsengine.errors import ConfigError
from formsengine.store import inspection as look
from formsengine.web import accounts
from formsengine.web.sessions import duration_text
from formsengine.web.settings import default_config

from .conftest import REV, create_case, csrf, login, post, start_assessment

EXIT_LINK = re.compile(r'<a href="/exit" role="button"[^>]*govuk-exit-this-page__button')


def _cookie(client):
    return client.get_cookie("fe_session").value


def _replay(app, cookie, path="/"):
    other = app.test_client()
    other.set_cookie("fe_session", cookie)
    return other.get(path)


def _sessions(store) -> int:
    return look.count(store, "web_sessions")


def _age_session(store, seconds):
    look.move_back(store, "web_sessions", "last_seen", seconds)


def test_exit_link_ends_the_session_and_clears_the_site(app, alice, store):
    case = create_case(alice)
    old = _cookie(alice)
    response = alice.get("/exit")
    assert response.status_code == 303
    assert response.headers["Location"] == "https://www.bbc.co.uk/weather"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert response.headers["Cache-Control"] == "no-store"
    assert _sessions(store) == 0
    for path in ("/", f"/cases/{case}"):
        replayed = _replay(app, old, path)
        assert replayed.status_code == 302 and "/sign-in" in replayed.headers["Location"]
    row = look.first(store, "audit", "actor", "details", action="logout")
    assert row["actor"] == "alice" and "exit this page" in row["details"]


def test_exit_goes_to_the_organisations_exit_address(alice, store):
    accounts.set_setting(store, "exit_url", "https://example.org/news", actor="test")
    assert alice.get("/exit").headers["Location"] == "https://example.org/news"


def test_exit_when_not_signed_in_still_leaves(client, store):
    response = client.get("/exit")
    assert response.status_code == 303 and "Clear-Site-Data" in response.headers
    assert look.count(store, "audit", action="logout") == 0


def test_exit_by_post_needs_the_csrf_token(app, alice, store):
    old = _cookie(alice)
    refused = alice.post("/exit", data={})
    assert refused.status_code == 400 and _sessions(store) == 1
    response = post(alice, "/exit", token_from="/due")
    assert response.status_code == 204
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert _sessions(store) == 0
    assert _replay(app, old).status_code == 302


def test_exit_with_a_password_change_pending_still_ends_the_session(app, store, users):
    client = app.test_client()
    look.change_rows(store, "web_users", {"must_change_password": 1}, id=users["bob"])
    login(client, "bob")
    assert client.get("/").headers["Location"].endswith("/account/password")
    assert client.get("/exit").status_code == 303 and _sessions(store) == 0


def test_exit_button_and_no_store_on_every_signed_in_page(alice, admin):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    pages = ["/", "/due", "/cases/new", f"/cases/{case}", f"/assessments/{uid}",
             f"/assessments/{uid}/sections/now", f"/assessments/{uid}/check",
             "/account/password", "/no-such-page"]
    for client, paths in ((alice, pages), (admin, ["/admin/", "/research/"])):
        for path in paths:
            response = client.get(path)
            page = response.get_data(as_text=True)
            assert len(EXIT_LINK.findall(page)) == 1, path
            assert response.headers["Cache-Control"] == "no-store", path


def test_exit_button_sits_where_it_stays_in_view(alice):
    """GOV.UK's component is sticky within its parent: the first thing in the container
    that holds the whole page, not in a wrapper of its own."""
    page = alice.get("/").get_data(as_text=True)
    placed = re.search(r'<div class="govuk-width-container">\s*'
                       r'(?:\{#.*?#\}\s*)?<div class="govuk-exit-this-page"', page, re.S)
    assert placed and placed.end() < page.index("<main")


def test_status_does_not_count_as_activity(app, alice, store):
    idle = app.config["IDLE_TIMEOUT"]
    _age_session(store, 600)
    before = look.value(store, "web_sessions", "last_seen")
    answer = alice.get("/session/status", headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert idle - 602 <= answer.get_json()["remaining"] <= idle - 598
    assert look.value(store, "web_sessions", "last_seen") == before


def test_status_of_an_ended_session_is_401_and_the_sign_in_page_says_why(app, alice, store):
    _age_session(store, app.config["IDLE_TIMEOUT"] + 5)
    answer = alice.get("/session/status", headers={"Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json() == {"signed_in": False}
    assert _sessions(store) == 0
    page = alice.get("/sign-in?next=/due").get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert look.count(store, "audit", action="session_timeout")


def test_keep_alive_restarts_the_idle_time(app, alice, store):
    _age_session(store, 600)
    token = csrf(alice, "/due")
    _age_session(store, 600)
    answer = alice.post("/session/extend", headers={"X-CSRFToken": token,
                                                    "Accept": "application/json"})
    assert answer.get_json()["remaining"] == app.config["IDLE_TIMEOUT"]
    status = alice.get("/session/status", headers={"Accept": "application/json"})
    assert status.get_json()["remaining"] >= app.config["IDLE_TIMEOUT"] - 2


def test_a_save_before_an_idle_sign_out_is_kept_but_is_not_activity(app, alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    assert "data-save-when-idle" in page
    revision = REV.search(page).group(1)
    token = csrf(alice, f"/assessments/{uid}/sections/now")
    _age_session(store, app.config["IDLE_TIMEOUT"] - 10)
    before = look.value(store, "web_sessions", "last_seen")
    response = alice.post(f"/assessments/{uid}/sections/now", data={
        "csrf_token": token, "revision": revision, "q-t-injury": "yes",
        "c-t-injury": "said at the start"}, headers={"X-Idle-Save": "1"})
    assert response.status_code == 302
    assert look.value(store, "web_sessions", "last_seen") == before
    row = look.first(store, "assessments", "revision", uid=uid)
    assert row["revision"] == int(revision) + 1  # what the page's script counts on
    _age_session(store, 15)
    assert alice.get(f"/assessments/{uid}/sections/now").status_code == 302
    login(alice, "alice")
    shown = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    assert "said at the start" in shown
    assert re.search(r'value="yes"\s+checked|checked[^>]*value="yes"', shown)


def test_an_idle_sign_out_returns_to_the_same_page(app, alice, store):
    case = create_case(alice)
    _age_session(store, app.config["IDLE_TIMEOUT"] + 5)
    response = alice.get(f"/cases/{case}")
    target = response.headers["Location"]
    assert target == f"/sign-in?next=/cases/{case}"
    token = csrf(alice, target)
    signed_in = alice.post(target, data={"username": "alice", "password":
                                         "correct horse battery", "csrf_token": token})
    assert signed_in.headers["Location"] == f"/cases/{case}"


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/x",
                                    "/\\elsewhere.example", "javascript:alert(1)"])
def test_sign_in_never_goes_elsewhere(client, users, target):
    token = csrf(client, "/sign-in")
    response = client.post("/sign-in", query_string={"next": target}, data={
        "username": "alice", "password": "correct horse battery", "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_page_knows_the_time_left_and_the_warning_does_not_take_the_role_of_a_dialog(
        app, alice, store):
    _age_session(store, 100)
    page = alice.get("/due").get_data(as_text=True)
    left = int(re.search(r'data-idle-left="(\d+)"', page).group(1))
    assert left >= app.config["IDLE_TIMEOUT"] - 2  # the request touched the session
    assert 'data-status-url="/session/status"' in page
    assert 'aria-live="assertive" id="timeout-announce"' in page
    assert 'role="alertdialog"' not in page


@pytest.mark.parametrize(("minutes", "idle", "warning"), [
    (None, 1800, 300), ("30", 1800, 300), ("0.5", 30, 10), ("2", 120, 40), ("60", 3600, 300)])
def test_idle_minutes_setting(monkeypatch, tmp_path, minutes, idle, warning):
    if minutes is None:
        monkeypatch.delenv("FORMSENGINE_IDLE_MINUTES", raising=False)
    else:
        monkeypatch.setenv("FORMSENGINE_IDLE_MINUTES", minutes)
    config = default_config(tmp_path / "x.db")
    assert (config["IDLE_TIMEOUT"], config["IDLE_WARNING"]) == (idle, warning)


@pytest.mark.parametrize("minutes", ["0", "0.1", "-5", "soon", "nan", "inf"])
def test_idle_minutes_setting_refused(monkeypatch, tmp_path, minutes):
    monkeypatch.setenv("FORMSENGINE_IDLE_MINUTES", minutes)
    with pytest.raises(ConfigError, match="FORMSENGINE_IDLE_MINUTES"):
        default_config(tmp_path / "x.db")


@pytest.mark.parametrize(("seconds", "text"), [
    (1800, "30 minutes"), (60, "1 minute"), (30, "30 seconds"), (90, "90 seconds"),
    (120, "2 minutes"), (3600, "60 minutes")])
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text
