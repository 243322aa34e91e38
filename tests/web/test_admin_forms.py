"""The administration page's forms: a refused account, team or setting is shown on the page
with the problem at its field and what was typed kept; nothing is created or changed."""

from __future__ import annotations

import pytest

from formsengine.store import inspection as look

from .conftest import post
from .test_requests import HOSTILE


def _count(store, table):
    return look.count(store, table)


def test_adding_an_account(admin, store):
    team = look.value(store, "teams", "id", name="Team A")
    response = post(admin, "/admin/users", {"username": "carla", "display_name": "Carla",
                                            "role": "supervisor", "teams": [str(team)]},
                    token_from="/admin/")
    assert response.status_code == 200 and "One-time password" in response.get_data(
        as_text=True)
    row = look.first(store, "web_users", "id", "role", "display_name", username="carla")
    assert (row["role"], row["display_name"]) == ("supervisor", "Carla")
    assert look.value(store, "web_memberships", "team_id", user_id=row["id"]) == team


@pytest.mark.parametrize("data, field, message", [
    ({"username": ""}, "username", "Enter a username"),
    ({"username": "x" * 65}, "username", "A username must be 64 characters or fewer"),
    ({"username": "two words"}, "username", "Username may use letters, digits"),
    ({"username": "alice"}, "username", "The username alice is already in use"),
    ({"username": "dora", "display_name": "y" * 101}, "display_name",
     "A name must be 100 characters or fewer"),
    ({"username": "dora", "role": "owner"}, "role", "Choose a role from the list"),
    ({"username": "dora", "role": HOSTILE}, "role", "Choose a role from the list"),
    ({"username": "dora", "teams": ["999999"]}, "teams", "Choose teams from the list"),
    ({"username": "dora", "teams": ["x"]}, "teams", "Choose teams from the list"),
])
def test_an_account_that_is_refused_is_shown_with_its_problem(admin, store, data, field,
                                                              message):
    before = _count(store, "web_users")
    form = {"role": "practitioner", **data}
    response = post(admin, "/admin/users", form, token_from="/admin/")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and f'href="#{field}"' in page  # in the summary, linked
    assert "<title>Error: Administration" in page and "<script>alert" not in page
    if data.get("username") and len(data["username"]) <= 64:
        assert f'value="{data["username"]}"' in page  # what was typed is kept
    assert _count(store, "web_users") == before


@pytest.mark.parametrize("name, message", [("", "Enter a team name"),
                                           ("t" * 101, "100 characters or fewer")])
def test_a_team_that_is_refused_is_shown_with_its_problem(admin, store, name, message):
    before = _count(store, "teams")
    response = post(admin, "/admin/teams", {"name": name}, token_from="/admin/")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'href="#name"' in page
    assert _count(store, "teams") == before


@pytest.mark.parametrize("url, message", [
    ("http://example.org/", "The exit address must start with https://"),
    ("javascript:alert(1)", "The exit address must start with https://"),
    ("", "Enter the address of a neutral website"),
    ("https://example.org/" + "a" * 300, "300 characters or fewer")])
def test_settings_that_are_refused_change_nothing(admin, store, url, message):
    response = post(admin, "/admin/settings", {"exit_url": url, "require_totp": "y"},
                    token_from="/admin/")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and 'href="#exit_url"' in page
    assert look.count(store, "web_settings", key="exit_url") == 0
    assert look.count(store, "web_settings", key="require_totp") == 0
    assert "<script>alert" not in page


def test_settings_are_saved(admin, store):
    from formsengine.web import accounts

    response = post(admin, "/admin/settings", {"exit_url": " https://example.org/weather "},
                    token_from="/admin/")
    assert response.status_code == 302
    page = admin.get("/admin/").get_data(as_text=True)
    assert 'value="https://example.org/weather"' in page and "Settings saved." in page
    assert accounts.get_setting(store, "exit_url") == "https://example.org/weather"
    assert not accounts.get_setting(store, "require_totp")
    # requiring two-factor sign-in sends the administrator, who has none, to set it up
    post(admin, "/admin/settings", {"exit_url": "https://example.org/", "require_totp": "y"},
         token_from="/admin/")
    assert accounts.get_setting(store, "require_totp") is True
    assert admin.get("/admin/").headers["Location"].endswith("/account/two-factor")
