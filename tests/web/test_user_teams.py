"""Changing the teams an account belongs to (administration page and command line): the
account sees exactly the new teams' cases at once, is unassigned from cases of teams it left,
every change is audited, and refused input changes nothing."""

from __future__ import annotations

import json
import re

import pytest

from formsengine.store import inspection as look

from .conftest import create_case, login, make_user, post
from .test_requests import HOSTILE


def _sign_in(app, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def _teams(store):
    return {r["name"]: r["id"] for r in look.rows(store, "teams", "id", "name")}


def _memberships(store, user_id):
    return sorted(look.values(store, "web_memberships", "team_id", user_id=user_id))


def _uid(store, user_id):
    return look.value(store, "web_users", "uid", id=user_id)


def test_an_administrator_moves_a_practitioner_to_another_team(app, alice, store, users):
    case = create_case(alice)  # Team A, assigned to alice
    teams = _teams(store)
    admin = _sign_in(app, "admin")
    assert "teams of alice" in admin.get("/admin/").get_data(as_text=True)
    path = f"/admin/users/{_uid(store, users['alice'])}/teams"
    page = admin.get(path).get_data(as_text=True)
    checked = re.findall(r'value="(\d+)" checked', page)
    assert checked == [str(teams["Team A"])]
    response = post(admin, path, {"teams": [str(teams["Team B"])]}, token_from=path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert _memberships(store, users["alice"]) == [teams["Team B"]]
    assert look.count(store, "web_case_assignments") == 0
    [entry] = look.rows(store, "audit", action="teams")
    assert entry["actor"] == "admin" and entry["object_id"] == str(users["alice"])
    assert json.loads(entry["details"]) == {"from": [teams["Team A"]], "to": [teams["Team B"]],
                                            "unassigned_cases": 1}
    assert "unassigned from 1 case of a team they left" in admin.get("/admin/").get_data(
        as_text=True)
    # at once, in the session alice already has
    assert alice.get(f"/cases/{case}").status_code == 404
    bob_case = create_case(_sign_in(app, "bob"))
    assert alice.get(f"/cases/{bob_case}").status_code == 200


def test_joining_a_second_team_keeps_what_the_account_had(app, alice, store, users):
    case = create_case(alice)
    teams = _teams(store)
    admin = _sign_in(app, "admin")
    path = f"/admin/users/{_uid(store, users['alice'])}/teams"
    both = [str(teams["Team A"]), str(teams["Team B"])]
    assert post(admin, path, {"teams": both}, token_from=path).status_code == 302
    assert _memberships(store, users["alice"]) == sorted([teams["Team A"], teams["Team B"]])
    assert look.count(store, "web_case_assignments") == 1
    assert alice.get(f"/cases/{case}").status_code == 200
    # and no team at all: nothing to see, nothing assigned
    assert post(admin, path, {}, token_from=path).status_code == 302
    assert _memberships(store, users["alice"]) == []
    assert alice.get(f"/cases/{case}").status_code == 404
    assert look.count(store, "web_case_assignments") == 0


@pytest.mark.parametrize("value", ["999999", "hostile", "x"])
def test_teams_that_are_not_offered_are_refused(app, store, users, value):
    admin = _sign_in(app, "admin")
    path = f"/admin/users/{_uid(store, users['alice'])}/teams"
    response = post(admin, path, {"teams": [HOSTILE if value == "hostile" else value]},
                    token_from=path)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose teams from the list" in page and "<script>alert" not in page
    assert "<title>Error: Change teams" in page
    assert _memberships(store, users["alice"]) == [_teams(store)["Team A"]]
    assert look.rows(store, "audit", action="teams") == []


def test_only_administrators_change_teams(app, alice, store, users):
    path = f"/admin/users/{_uid(store, users['alice'])}/teams"
    for name in ("alice", "sue", "rita"):
        client = alice if name == "alice" else _sign_in(app, name)
        assert client.get(path).status_code == 403
        assert post(client, path, {"teams": [str(_teams(store)["Team B"])]},
                    token_from="/account/password").status_code == 403
    admin = _sign_in(app, "admin")
    assert admin.get("/admin/users/nobody/teams").status_code == 404
    assert _memberships(store, users["alice"]) == [_teams(store)["Team A"]]


def test_changing_teams_from_the_command_line(cli_run, store, users):
    make_user(store, "pat", teams=("Team A",))
    pat = look.value(store, "web_users", "id", username="pat")
    result = cli_run("users", "teams", "pat", "--team", "Team A", "--team", "Team B")
    assert result.exit_code == 0, result.output
    assert "User pat: teams Team A, Team B." in result.output
    teams = _teams(store)
    assert _memberships(store, pat) == sorted([teams["Team A"], teams["Team B"]])
    for args, message in ((["users", "teams", "pat", "--team", "Nowhere"], "no team 'Nowhere'"),
                          (["users", "teams", "nobody", "--none"], "no user 'nobody'"),
                          (["users", "teams", "pat"], "give --team (one or more) or --none"),
                          (["users", "teams", "pat", "--none", "--team", "Team A"],
                           "give --team (one or more) or --none")):
        result = cli_run(*args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert _memberships(store, pat) == sorted([teams["Team A"], teams["Team B"]])
    result = cli_run("users", "teams", "pat", "--none")
    assert result.exit_code == 0 and "teams none" in result.output
    assert _memberships(store, pat) == []
    actors = [r["actor"] for r in look.rows(store, "audit", "actor", action="teams")]
    assert actors == ["cli", "cli"]


def test_an_administrator_cannot_change_their_own_teams_or_role(app, alice, store, users):
    """Else they could join a team, make themselves a practitioner and read its cases:
    another administrator must make such a change, and administrators see no case."""
    case = create_case(alice)
    admin = _sign_in(app, "admin")
    own = _uid(store, users["admin"])
    team_a = _teams(store)["Team A"]
    page = admin.get("/admin/").get_data(as_text=True)
    assert "teams of admin" not in page and "role of admin" not in page
    assert "teams of alice" in page  # others' are offered
    response = post(admin, f"/admin/users/{own}/teams", {"teams": [str(team_a)]},
                    token_from="/admin/")
    assert response.status_code == 403
    assert "another administrator must" in response.get_data(as_text=True)
    assert _memberships(store, users["admin"]) == []
    response = post(admin, f"/admin/users/{own}/role", {"role": "practitioner"},
                    token_from="/admin/")
    assert response.status_code == 302
    assert look.value(store, "web_users", "role", id=users["admin"]) == "administrator"
    assert "another administrator must" in admin.get("/admin/").get_data(as_text=True)
    assert admin.get(f"/cases/{case}").status_code == 404  # no case content
    denials = look.rows(store, "audit", "details", action="deny", object_type="user")
    assert [json.loads(d["details"])["change"] for d in denials] == ["own teams", "own role"]
    # another administrator may make the change
    make_user(store, "chief", role="administrator", teams=())
    chief = _sign_in(app, "chief")
    response = post(chief, f"/admin/users/{own}/teams", {"teams": [str(team_a)]},
                    token_from="/admin/")
    assert response.status_code == 302
    assert _memberships(store, users["admin"]) == [team_a]
    # an administrator in a team still sees none of its cases
    admin = _sign_in(app, "admin")
    assert admin.get(f"/cases/{case}").status_code == 404
