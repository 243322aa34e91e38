"""Resetting a password and disabling an account ask first: a page saying what will happen,
and a button that does it."""

from __future__ import annotations

import re

from formsengine.store import inspection as look

from .conftest import PASSWORD, csrf, login


def _uid(store, username):
    return look.value(store, "web_users", "uid", username=username)


def test_disable_asks_for_confirmation_first(store, users, admin):
    uid = _uid(store, "alice")
    index = admin.get("/admin/").get_data(as_text=True)
    assert f'href="/admin/users/{uid}/disable"' in index
    page = admin.get(f"/admin/users/{uid}/disable")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Disable alice's account?" in text and "Yes, disable the account" in text
    assert look.value(store, "web_users", "disabled", uid=uid) == 0
    # a POST without the confirmation (an old form) only shows the question
    token = csrf(admin, f"/admin/users/{uid}/disable")
    admin.post(f"/admin/users/{uid}/disable", data={"csrf_token": token})
    assert look.value(store, "web_users", "disabled", uid=uid) == 0
    response = admin.post(f"/admin/users/{uid}/disable",
                          data={"csrf_token": token, "confirmed": "yes"})
    assert response.status_code == 302
    assert look.value(store, "web_users", "disabled", uid=uid) == 1
    # enabling again does not ask
    response = admin.post(f"/admin/users/{uid}/disable", data={"csrf_token": token})
    assert response.status_code == 302
    assert look.value(store, "web_users", "disabled", uid=uid) == 0


def test_reset_password_asks_first_and_needs_the_csrf_token(app, store, users, admin):
    uid = _uid(store, "alice")
    page = admin.get(f"/admin/users/{uid}/reset-password").get_data(as_text=True)
    assert "Reset alice's password?" in page and "Yes, reset the password" in page
    other = app.test_client()
    assert login(other, "alice", PASSWORD).status_code == 302  # still the old password
    other = app.test_client()
    assert admin.post(f"/admin/users/{uid}/reset-password",
                      data={"confirmed": "yes"}).status_code == 400  # no CSRF token
    token = csrf(admin, f"/admin/users/{uid}/reset-password")
    response = admin.post(f"/admin/users/{uid}/reset-password",
                          data={"csrf_token": token, "confirmed": "yes"})
    password = re.search(r'id="one-time-password">([^<]+)<', response.get_data(as_text=True))
    assert password and re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){4}", password.group(1))
    assert login(other, "alice", PASSWORD).status_code != 302
    assert login(other, "alice", password.group(1)).status_code == 302
