"""Server-side sessions: sign-out, disabling and password changes end sessions; replayed
cookies fail; idle and absolute timeouts; cookie attributes."""

from __future__ import annotations

import pytest

from formsengine.store import inspection as look
from formsengine.web import accounts

from .conftest import PASSWORD, csrf, login, post


def _cookie(client):
    return client.get_cookie("fe_session").value


def _replay(app, cookie, path="/"):
    other = app.test_client()
    other.set_cookie("fe_session", cookie)
    return other.get(path)


def test_sign_out_ends_the_session_and_old_cookie_fails(app, alice, store):
    old = _cookie(alice)
    assert _replay(app, old).status_code == 200
    response = post(alice, "/sign-out")
    assert response.headers["Location"].endswith("/signed-out")
    replayed = _replay(app, old)
    assert replayed.status_code == 302 and "/sign-in" in replayed.headers["Location"]
    assert look.count(store, "web_sessions") == 0
    assert look.value(store, "audit", "actor", action="logout") == "alice"


def test_sign_out_needs_post(alice):
    assert alice.get("/sign-out").status_code == 405
    assert alice.get("/").status_code == 200


def test_disabling_a_user_ends_their_sessions(app, alice, store, users):
    old = _cookie(alice)
    accounts.set_disabled(store, users["alice"], True, actor="test")
    assert _replay(app, old).status_code == 302
    assert login(app.test_client(), "alice").status_code == 400


def test_password_change_ends_other_sessions_but_not_this_one(app, client, store, users):
    login(client, "alice")
    elsewhere = app.test_client()
    login(elsewhere, "alice")
    other_cookie = _cookie(elsewhere)
    response = post(client, "/account/password", {
        "current": PASSWORD, "new": "a different long phrase", "confirm":
        "a different long phrase"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert _replay(app, other_cookie).status_code == 302


def test_session_id_changes_at_sign_in(app, client, users):
    client.get("/sign-in")
    before = client.get_cookie("fe_session")
    login(client, "alice")
    after = _cookie(client)
    assert before is None or before.value != after


def test_idle_timeout(app, alice, store):
    look.move_back(store, "web_sessions", "last_seen", app.config["IDLE_TIMEOUT"] + 5)
    response = alice.get("/")
    assert response.status_code == 302
    follow = alice.get(response.headers["Location"])
    assert "without activity" in follow.get_data(as_text=True)
    assert look.first(store, "audit", "details", action="session_timeout")


def test_activity_keeps_the_session_alive(app, alice, store):
    look.move_back(store, "web_sessions", "last_seen", app.config["IDLE_TIMEOUT"] - 60)
    assert alice.get("/").status_code == 200
    row = look.first(store, "web_sessions", "last_seen", "created_at")
    assert row["last_seen"] - row["created_at"] > -1  # touched again


def test_absolute_timeout(app, alice, store):
    look.move_back(store, "web_sessions", "created_at", app.config["ABSOLUTE_TIMEOUT"] + 5)
    response = alice.get("/")
    assert response.status_code == 302
    assert look.count(store, "web_sessions") == 0


def test_sessions_left_to_expire_are_cleared_at_the_next_sign_in(app, alice, store, users):
    """Browsers closed without signing out leave sessions behind; a sign-in deletes those
    that have expired (anyone's), and keeps live ones."""
    from .conftest import login

    bob = app.test_client()
    assert login(bob, "bob").status_code == 302
    # alice's session idle past the timeout, bob's still live
    look.move_back(store, "web_sessions", "last_seen", app.config["IDLE_TIMEOUT"] + 5,
                   user_id=users["alice"])
    assert look.count(store, "web_sessions") == 2
    sue = app.test_client()
    assert login(sue, "sue").status_code == 302
    left = sorted(r["user_id"] for r in look.rows(store, "web_sessions", "user_id"))
    assert left == sorted([users["bob"], users["sue"]])
    assert bob.get("/").status_code == 200


def test_timeout_defaults(app):
    assert app.config["IDLE_TIMEOUT"] == 30 * 60
    assert app.config["ABSOLUTE_TIMEOUT"] == 12 * 3600


def test_warning_and_extend(app, alice, store):
    page = alice.get("/").get_data(as_text=True)
    assert 'id="timeout-warning"' in page and "Stay signed in" in page
    assert f'data-idle-timeout="{app.config["IDLE_TIMEOUT"]}"' in page
    look.move_back(store, "web_sessions", "last_seen", 1500)
    response = post(alice, "/session/extend", {"next": "/due"}, token_from="/due")
    assert response.headers["Location"] == "/due"
    row = look.first(store, "web_sessions", "last_seen", "created_at")
    assert row["last_seen"] >= row["created_at"] - 1


def test_extend_by_script_returns_json(alice):
    token = csrf(alice, "/due")
    response = alice.post("/session/extend", headers={"X-CSRFToken": token,
                                                      "Accept": "application/json"})
    assert response.get_json()["extended"] is True


def test_cookie_attributes(client, users):
    response = login(client, "alice")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on loopback by default


def test_secure_cookie_when_served_over_https(monkeypatch, tmp_path, engine):
    from formsengine.web import create_app

    from .conftest import FAST_HASH, make_user

    monkeypatch.setenv("FORMSENGINE_HTTPS", "1")
    app = create_app({"DATABASE": str(tmp_path / "s.db"), "ENGINE": engine,
                      "SECRET_KEY": "s" * 40, "PASSWORD_HASH": FAST_HASH})
    from formsengine.store import Store

    s = Store.open(tmp_path / "s.db", engine)
    make_user(s, "alice")
    s.close()
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/sign-in", base_url="https://localhost",
                           data={"username": "alice", "password": PASSWORD,
                                 "csrf_token": token},
                           headers={"Referer": "https://localhost/sign-in"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/", "/due", "/cases/new", "/account/password"])
def test_cookie_holds_no_personal_data(alice, path):
    import base64
    import zlib

    value = _cookie(alice)
    payload = value.split(".")[1]  # compressed payloads start with "."
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if value.startswith("."):
        raw = zlib.decompress(raw)
    assert b"alice" not in raw and b"practitioner" not in raw


def test_a_new_secret_key_ends_sessions_signed_with_the_old_one(app, alice):
    """The cookie's signing serializer is kept between requests, but made again when the
    keys change: a cookie signed with a retired key is refused at once, and accepted again
    only while that key is listed as a fallback."""
    old = _cookie(alice)
    assert _replay(app, old).status_code == 200
    previous_key = app.secret_key
    app.secret_key = "a-different-secret-key-of-enough-length-0001"
    refused = _replay(app, old)
    assert refused.status_code == 302 and "/sign-in" in refused.headers["Location"]
    app.config["SECRET_KEY_FALLBACKS"] = [previous_key]
    assert _replay(app, old).status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert _replay(app, old).status_code == 302
