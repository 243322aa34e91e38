"""Closing, reopening, reassigning and moving a case: a fixed list of reasons, a real closing
date, closed cases drop out of the due lists and take no new assessments, supervisors
reassign within the case's team and move cases only between their own teams, every change
audited, other teams get 404 and nothing changes."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from formsengine.store import CASE_CLOSE_REASONS, caseviews
from formsengine.store import inspection as look

from .conftest import create_case, login, make_user, post, start_assessment
from .test_requests import HOSTILE


def _close(client, case, reason="support_completed", day=None, expect=302):
    day = day or dt.date.today()
    response = post(client, f"/cases/{case}/close", {
        "reason": reason, "closed_on-day": str(day.day), "closed_on-month": str(day.month),
        "closed_on-year": str(day.year)}, token_from=f"/cases/{case}")
    assert response.status_code == expect, response.get_data(as_text=True)[:2000]
    return response


def _case_row(store):
    return look.first(store, "cases")


def _audit(store, action):
    return look.rows(store, "audit", action=action, object_type="case")


def _sign_in(app, name):
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def test_closing_a_case(alice, store):
    case = create_case(alice, opened_on="2025-01-06")
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Manage this case" in page and "Close case" in page
    for label in CASE_CLOSE_REASONS.values():
        assert label in page
    _close(alice, case, "moved", dt.date(2025, 6, 30))
    row = _case_row(store)
    assert (row["status"], row["closed_on"], row["closed_reason"]) == (
        "closed", "2025-06-30", "moved")
    [entry] = _audit(store, "close")
    assert entry["actor"] == "alice" and json.loads(entry["details"]) == {"reason": "moved"}
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Closed on 30 June 2025: moved out of the area" in page
    assert "Reopen case" in page and "Start an assessment" not in page
    assert "Overdue" not in page and "Case closed" in page  # in the schedule table
    ref = _case_row(store)["ref"]
    assert ref not in alice.get("/").get_data(as_text=True)  # open cases by default
    listing = alice.get("/?show=all").get_data(as_text=True)
    assert ref in listing and "Case closed" in listing and "Overdue" not in listing


def test_a_closed_case_is_not_due_and_takes_no_new_assessment(alice, store):
    case = create_case(alice, opened_on="2024-01-01")
    ref = _case_row(store)["ref"]
    assert ref in alice.get("/due").get_data(as_text=True)  # long overdue while open
    _close(alice, case)
    alice.get(f"/cases/{case}")  # shows (and so clears) the message naming the case
    assert ref not in alice.get("/due").get_data(as_text=True)
    assert ref not in alice.get("/due?scope=team").get_data(as_text=True)
    response = post(alice, f"/cases/{case}/assessments",
                    {"instrument": "test-risk", "occasion": "intake"},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302 and response.headers["Location"].endswith(case)
    assert look.count(store, "assessments") == 0
    assert "This case is closed" in alice.get(f"/cases/{case}").get_data(as_text=True)


def test_reopening_a_case(alice, store):
    case = create_case(alice, opened_on="2024-01-01")
    _close(alice, case)
    response = post(alice, f"/cases/{case}/reopen", {}, token_from=f"/cases/{case}")
    assert response.status_code == 302
    row = _case_row(store)
    assert (row["status"], row["closed_on"], row["closed_reason"]) == ("open", None, None)
    assert len(_audit(store, "reopen")) == 1
    assert row["ref"] in alice.get("/due").get_data(as_text=True)
    start_assessment(alice, case)  # open again: assessments can start


@pytest.mark.parametrize("reason, day, message", [
    ("", None, "Choose why the case is being closed"),
    ("because", None, "Choose one of the reasons shown"),
    (HOSTILE, None, "Choose one of the reasons shown"),
    ("x" * 100_000, None, "Choose one of the reasons shown"),
    ("moved", "tomorrow", "must be today or in the past"),  # (tomorrow when the test runs)
    ("moved", dt.date(2024, 12, 31), "must be on or after the date it was opened (6 January 2025)"),
])
def test_a_close_that_is_refused_changes_nothing(alice, store, reason, day, message):
    case = create_case(alice, opened_on="2025-01-06")
    if day == "tomorrow":  # reckoned now, not when the tests were collected (before midnight)
        day = dt.date.today() + dt.timedelta(days=1)
    response = _close(alice, case, reason, day, expect=400)
    page = response.get_data(as_text=True)
    assert message in page and "There is a problem" in page
    assert "<script>alert" not in page
    row = _case_row(store)
    assert (row["status"], row["closed_on"], row["closed_reason"]) == ("open", None, None)
    assert _audit(store, "close") == []


def test_a_closing_date_that_is_not_real_is_refused(alice, store):
    case = create_case(alice, opened_on="2025-01-06")
    response = post(alice, f"/cases/{case}/close", {
        "reason": "moved", "closed_on-day": "31", "closed_on-month": "6",
        "closed_on-year": "2025"}, token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert "Date the case was closed must be a real date" in response.get_data(as_text=True)
    assert _case_row(store)["status"] == "open"


def test_a_supervisor_reassigns_within_the_team(app, alice, store, users):
    case = create_case(alice)
    ref = _case_row(store)["ref"]
    alice.get(f"/cases/{case}")  # shows (and so clears) the message naming the case
    assert ref in alice.get("/due").get_data(as_text=True)
    sue = _sign_in(app, "sue")
    page = sue.get(f"/cases/{case}").get_data(as_text=True)
    assert "Change practitioner" in page
    response = post(sue, f"/cases/{case}/practitioner", {"practitioner": str(users["sue"])},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302
    assert look.value(store, "web_case_assignments", "user_id") == users["sue"]
    [entry] = _audit(store, "assign")
    assert entry["actor"] == "sue" and json.loads(entry["details"]) == {"user_id": users["sue"]}
    alice.get(f"/cases/{case}")  # shows (and so clears) the message naming the case
    sue.get(f"/cases/{case}")
    assert ref not in alice.get("/due").get_data(as_text=True)  # no longer alice's
    assert ref in sue.get("/due").get_data(as_text=True)


@pytest.mark.parametrize("target", ["bob", "admin", "nobody", "hostile"])
def test_reassigning_outside_the_team_is_refused(app, alice, store, users, target):
    case = create_case(alice)
    sue = _sign_in(app, "sue")
    value = {"nobody": "999999", "hostile": HOSTILE}.get(target) or str(users[target])
    response = post(sue, f"/cases/{case}/practitioner", {"practitioner": value},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert "Choose a practitioner in the case&#39;s team" in response.get_data(as_text=True)
    assert look.value(store, "web_case_assignments", "user_id") == users["alice"]
    assert _audit(store, "assign") == []


def test_a_practitioner_cannot_reassign(alice, store, users):
    case = create_case(alice)
    assert "Change practitioner" not in alice.get(f"/cases/{case}").get_data(as_text=True)
    response = post(alice, f"/cases/{case}/practitioner", {"practitioner": str(users["alice"])},
                    token_from=f"/cases/{case}")
    assert response.status_code == 403
    assert _audit(store, "assign") == []


def test_another_team_gets_404_and_changes_nothing(app, alice, store, users):
    case = create_case(alice, opened_on="2025-01-06")
    bob = _sign_in(app, "bob")
    assert _close(bob, case, expect=404)
    assert post(bob, f"/cases/{case}/reopen", {}).status_code == 404
    row = _case_row(store)
    assert row["status"] == "open"
    _close(alice, case)
    assert post(bob, f"/cases/{case}/reopen", {}).status_code == 404
    assert _case_row(store)["status"] == "closed"
    assert _audit(store, "reopen") == []


def test_closing_and_reopening_need_a_csrf_token(alice, store):
    case = create_case(alice, opened_on="2025-01-06")
    today = dt.date.today()
    response = alice.post(f"/cases/{case}/close", data={
        "reason": "moved", "closed_on-day": str(today.day),
        "closed_on-month": str(today.month), "closed_on-year": str(today.year)})
    assert response.status_code == 400
    assert _case_row(store)["status"] == "open"
    _close(alice, case)
    assert alice.post(f"/cases/{case}/reopen").status_code == 400
    assert _case_row(store)["status"] == "closed"


def test_closing_a_case_twice_or_after_someone_else_did(alice, store, monkeypatch):
    """A second close is told the case is already closed; so is a close whose read of the
    case came before another user's close (the store's update is conditional)."""
    case = create_case(alice, opened_on="2025-01-06")
    _close(alice, case)
    assert "Reopen case" in alice.get(f"/cases/{case}").get_data(as_text=True)
    _close(alice, case, "moved")
    assert "This case is already closed" in alice.get(f"/cases/{case}").get_data(as_text=True)
    row = _case_row(store)
    assert row["closed_reason"] == "support_completed"
    assert len(_audit(store, "close")) == 1
    # the race: this request read the case while it was still open
    from formsengine.web import access

    stale = {**row, "status": "open", "schedule": []}
    monkeypatch.setattr(access, "case_or_404", lambda uid: dict(stale))
    _close(alice, case, "moved")
    assert "This case is already closed" in alice.get(f"/cases/{case}").get_data(as_text=True)
    assert _case_row(store)["closed_reason"] == "support_completed"
    assert len(_audit(store, "close")) == 1


def test_changing_the_assessments_a_case_follows(alice, store):
    case = create_case(alice, opened_on="2024-01-01", instruments=[])
    ref = _case_row(store)["ref"]
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Change assessments followed" in page and "No occasions are scheduled" in page
    assert ref not in alice.get("/due").get_data(as_text=True)
    response = post(alice, f"/cases/{case}/schedule", {"instruments": ["test-risk"]},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302
    assert json.loads(_case_row(store)["instruments"]) == ["test-risk"]
    [entry] = _audit(store, "schedule")
    assert json.loads(entry["details"]) == {"instruments": ["test-risk"]}
    page = alice.get(f"/cases/{case}").get_data(as_text=True)  # shows (and clears) the message
    schedule = page.split('id="schedule-1"', 1)[1].split("</table>", 1)[0]
    assert "Test risk checklist" in schedule and 'id="schedule-2"' not in page
    assert schedule.count('<th scope="row"') == 3  # intake, 3-month review, closure
    due = alice.get("/due").get_data(as_text=True)
    assert ref in due and "Test risk checklist: Review at 3 months" in due  # overdue since 2024
    post(alice, f"/cases/{case}/schedule", {}, token_from=f"/cases/{case}")  # none at all
    assert json.loads(_case_row(store)["instruments"]) == []
    alice.get(f"/cases/{case}")
    assert ref not in alice.get("/due").get_data(as_text=True)


@pytest.mark.parametrize("value", ["never", HOSTILE, "x" * 100_000])
def test_an_instrument_not_offered_is_refused(alice, store, value):
    case = create_case(alice)
    response = post(alice, f"/cases/{case}/schedule", {"instruments": ["test-risk", value]},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose assessments from the list" in page and "<script>alert" not in page
    assert 'href="#instruments"' in page  # the error summary leads to the field
    assert json.loads(_case_row(store)["instruments"]) == ["test-risk"]
    assert _audit(store, "schedule") == []


def test_an_instrument_about_nobody_on_the_case_is_refused(alice, store):
    from .conftest import post as post_form

    page = alice.get("/cases/new").get_data(as_text=True)
    team = re.search(r'name="team" value="(\d+)"', page).group(1)
    practitioner = re.search(r'id="practitioner" name="practitioner">\s*<option value="(\d+)"',
                             page).group(1)
    response = post_form(alice, "/cases/new", {
        "service_user": "y", "opened_on-day": "6", "opened_on-month": "1",
        "opened_on-year": "2025", "instruments": ["test-risk"], "team": team,
        "practitioner": practitioner}, token_from="/cases/new")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert ("Test risk checklist is about a victim-survivor, and this case has none" in page)
    assert 'value="test-risk" checked' in page  # what was chosen is kept
    assert look.count(store, "cases") == 0
    # and on an existing case with only a service user
    case = create_case(alice, victim_survivor="", service_user="y", instruments=[])
    response = post(alice, f"/cases/{case}/schedule", {"instruments": ["test-risk"]},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert "is about a victim-survivor" in response.get_data(as_text=True)
    assert json.loads(_case_row(store)["instruments"]) == []


def test_another_team_cannot_change_the_assessments_followed(app, alice, store):
    case = create_case(alice, instruments=[])
    bob = _sign_in(app, "bob")
    response = post(bob, f"/cases/{case}/schedule", {"instruments": ["test-risk"]})
    assert response.status_code == 404
    assert json.loads(_case_row(store)["instruments"]) == []


def test_adding_the_other_person_to_a_case(alice, store):
    case = create_case(alice)  # a victim-survivor only
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Add to the case" in page and '<option value="service_user">' in page
    assert '<option value="victim_survivor">' not in page  # already there
    response = post(alice, f"/cases/{case}/people", {"role": "service_user", "initials": "CD"},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302
    people = caseviews.case_people(store, store.find_case(case)["id"])
    assert [(p["role"], p["display_name"]) for p in people] == [
        ("victim_survivor", None), ("service_user", "CD")]
    [entry] = _audit(store, "add_person")
    assert json.loads(entry["details"]) == {"role": "service_user"}  # no initials in the audit
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Add to the case" not in page  # nobody is missing now
    assert people[1]["ref"] not in page  # the person's reference is not shown


@pytest.mark.parametrize("data, message", [
    ({"role": "victim_survivor"}, "This case already has one"),
    ({"role": "perpetrator"}, "Not a valid choice"),
    ({"role": HOSTILE}, "Not a valid choice"),
    ({"role": "service_user", "initials": "x" * 21}, "Initials must be 20 characters or fewer"),
])
def test_adding_a_person_that_is_refused_changes_nothing(alice, store, data, message):
    case = create_case(alice)
    response = post(alice, f"/cases/{case}/people", data, token_from=f"/cases/{case}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "<script>alert" not in page
    assert look.count(store, "case_people") == 1
    assert look.count(store, "people") == 1
    assert _audit(store, "add_person") == []


def test_hostile_initials_are_escaped(alice, store):
    case = create_case(alice)
    post(alice, f"/cases/{case}/people", {"role": "service_user", "initials": "<b>x</b>"},
         token_from=f"/cases/{case}")
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page


def test_another_team_cannot_add_a_person(app, alice, store):
    case = create_case(alice)
    bob = _sign_in(app, "bob")
    assert post(bob, f"/cases/{case}/people", {"role": "service_user"}).status_code == 404
    assert look.count(store, "case_people") == 1


def test_the_due_page_lists_assessments_in_progress(app, alice, store):
    mine = create_case(alice)
    draft = start_assessment(alice, mine)
    done = start_assessment(alice, mine, occasion="review_3m")
    from .conftest import complete

    complete(alice, done)
    page = alice.get("/due").get_data(as_text=True)
    section = page.split("Assessments in progress", 1)[1]
    assert f"/assessments/{draft}\"" in section and f"/assessments/{done}\"" not in section
    sue = _sign_in(app, "sue")  # same team: sees it under the team's cases only
    assert f"/assessments/{draft}\"" not in sue.get("/due").get_data(as_text=True)
    assert f"/assessments/{draft}\"" in sue.get("/due?scope=team").get_data(as_text=True)
    bob = _sign_in(app, "bob")  # another team: never
    for scope in ("", "?scope=team"):
        text = bob.get("/due" + scope).get_data(as_text=True)
        assert draft not in text and "No assessment is in progress" in text


def test_closing_warns_about_scheduled_assessments_not_done(alice):
    case = create_case(alice)
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    warning = page.split("Close this case", 1)[1].split("</strong>", 1)[0]
    assert ("Not done yet: Test risk checklist: Intake, Test risk checklist: Review at 3 "
            "months, Test risk checklist: Closure") in warning
    bare = create_case(alice, instruments=[])
    page = alice.get(f"/cases/{bare}").get_data(as_text=True)
    assert "Not done yet" not in page


def test_a_closed_case_is_still_found_by_its_reference(alice, store):
    case = create_case(alice)
    _close(alice, case)
    ref = _case_row(store)["ref"]
    response = post(alice, "/cases/search", {"reference": ref.lower()}, token_from="/")
    assert response.status_code == 302 and response.headers["Location"].endswith(case)


def _teams(store):
    return {r["name"]: r["id"] for r in look.rows(store, "teams", "id", "name")}


def test_a_supervisor_of_two_teams_moves_a_case(app, alice, store, users):
    make_user(store, "sam", role="supervisor", teams=("Team A", "Team B"))
    case = create_case(alice)
    ref = _case_row(store)["ref"]
    teams = _teams(store)
    sam = _sign_in(app, "sam")
    page = sam.get(f"/cases/{case}").get_data(as_text=True)
    assert "Move this case to another team" in page
    choices = re.search(r'name="team">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\d+)"', choices) == [str(teams["Team B"])]
    response = post(sam, f"/cases/{case}/team", {"team": str(teams["Team B"])},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302 and response.headers["Location"].endswith(case)
    assert _case_row(store)["team_id"] == teams["Team B"]
    [entry] = _audit(store, "move")
    assert entry["actor"] == "sam" and json.loads(entry["details"]) == {
        "from_team": teams["Team A"], "to_team": teams["Team B"]}
    # alice is not in Team B: her assignment goes, and so does her access
    assert look.count(store, "web_case_assignments") == 0
    assert "Its practitioner is not in that team" in sam.get(f"/cases/{case}").get_data(
        as_text=True)
    assert alice.get(f"/cases/{case}").status_code == 404
    assert ref not in alice.get("/?show=all").get_data(as_text=True)
    bob = _sign_in(app, "bob")
    assert bob.get(f"/cases/{case}").status_code == 200
    assert ref in bob.get("/due?scope=team").get_data(as_text=True)


def test_a_moved_case_keeps_a_practitioner_who_is_in_both_teams(app, store):
    make_user(store, "sam", role="supervisor", teams=("Team A", "Team B"))
    pat_id = make_user(store, "pat", teams=("Team A", "Team B"))
    pat = _sign_in(app, "pat")
    teams = _teams(store)
    case = create_case(pat, team=str(teams["Team A"]), practitioner=str(pat_id))
    sam = _sign_in(app, "sam")
    assert post(sam, f"/cases/{case}/team", {"team": str(teams["Team B"])},
                token_from=f"/cases/{case}").status_code == 302
    assert look.count(store, "web_case_assignments") == 1
    assert "Its practitioner" not in sam.get(f"/cases/{case}").get_data(as_text=True)
    assert pat.get(f"/cases/{case}").status_code == 200


@pytest.mark.parametrize("value", ["team b", "own", "999999", "", "hostile"])
def test_a_move_that_is_refused_changes_nothing(app, alice, store, users, value):
    """sue supervises Team A only: Team B is not one of her teams."""
    case = create_case(alice)
    teams = _teams(store)
    sue = _sign_in(app, "sue")
    assert "Move this case" not in sue.get(f"/cases/{case}").get_data(as_text=True)
    data = {"team": {"team b": str(teams["Team B"]), "own": str(teams["Team A"]),
                     "hostile": HOSTILE}.get(value, value)}
    response = post(sue, f"/cases/{case}/team", data, token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert "Choose another of your teams" in response.get_data(as_text=True)
    assert "<title>Error: Case – formsengine</title>" in response.get_data(as_text=True)
    assert "<title>Case – formsengine</title>" in sue.get(f"/cases/{case}").get_data(
        as_text=True)
    assert _case_row(store)["team_id"] == teams["Team A"]
    assert _audit(store, "move") == []


def test_only_supervisors_of_the_case_can_move_it(app, alice, store, users):
    case = create_case(alice)
    team_b = str(_teams(store)["Team B"])
    assert post(alice, f"/cases/{case}/team", {"team": team_b},
                token_from=f"/cases/{case}").status_code == 403
    make_user(store, "tom", role="supervisor", teams=("Team B", "Team C"))
    tom = _sign_in(app, "tom")
    assert post(tom, f"/cases/{case}/team", {"team": team_b},
                token_from="/").status_code == 404
    assert _audit(store, "move") == []
    assert _case_row(store)["team_id"] == _teams(store)["Team A"]


def test_removing_a_person_recorded_by_mistake(alice, store):
    case = create_case(alice, service_user="y", su_name="XY")
    start_assessment(alice, case)  # about the victim-survivor
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    choices = re.search(r'name="who">(.*?)</select>', page, re.S)
    assert "Remove a person recorded by mistake" in page
    assert '<option value="service_user">Service user</option>' in choices.group(1)
    assert "victim_survivor" not in choices.group(1)  # assessed here: not offered
    response = post(alice, f"/cases/{case}/people/remove", {"who": "service_user"},
                    token_from=f"/cases/{case}")
    assert response.status_code == 302
    assert [r["role"] for r in look.rows(store, "case_people", "role")] == ["victim_survivor"]
    assert look.count(store, "people") == 1  # the row went too
    [entry] = _audit(store, "remove_person")
    assert entry["actor"] == "alice" and json.loads(entry["details"]) == {
        "role": "service_user"}
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "Service user removed from the case." in page
    assert "Remove a person recorded by mistake" not in page  # one person left
    assert "Add to the case" in page


@pytest.mark.parametrize("data", [
    {"who": "victim_survivor"},  # has an assessment on the case
    {"who": "perpetrator"}, {"who": HOSTILE}, {},
])
def test_removing_a_person_that_is_refused_changes_nothing(alice, store, data):
    case = create_case(alice, service_user="y")
    start_assessment(alice, case)
    response = post(alice, f"/cases/{case}/people/remove", data, token_from=f"/cases/{case}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert ("Only someone with no assessments" in page or "Not a valid choice" in page)
    assert "<script>alert" not in page
    assert look.count(store, "case_people") == 2
    assert _audit(store, "remove_person") == []


def test_a_case_keeps_its_only_person(alice, store):
    case = create_case(alice)  # a victim-survivor only, nothing assessed
    assert "Remove a person" not in alice.get(f"/cases/{case}").get_data(as_text=True)
    response = post(alice, f"/cases/{case}/people/remove", {"who": "victim_survivor"},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert "a case keeps at least one person" in response.get_data(as_text=True)
    assert look.count(store, "case_people") == 1


def test_another_team_cannot_remove_a_person(app, alice, store):
    case = create_case(alice, service_user="y")
    bob = _sign_in(app, "bob")
    assert post(bob, f"/cases/{case}/people/remove", {"who": "service_user"},
                token_from="/").status_code == 404
    rita = _sign_in(app, "rita")
    assert post(rita, f"/cases/{case}/people/remove", {"who": "service_user"},
                token_from="/research").status_code == 403
    assert look.count(store, "case_people") == 2


def test_a_move_after_someone_else_moved_it(app, alice, store, users, monkeypatch):
    """The move's read of the case came before another supervisor's move to the same team:
    the store refuses the second move, nothing is audited twice and the page says where
    the case is."""
    make_user(store, "sam", role="supervisor", teams=("Team A", "Team B"))
    case = create_case(alice)
    teams = _teams(store)
    sam = _sign_in(app, "sam")
    stale = _case_row(store)  # read while the case was still in Team A
    assert post(sam, f"/cases/{case}/team", {"team": str(teams["Team B"])},
                token_from=f"/cases/{case}").status_code == 302
    assert "moved to Team B" in sam.get(f"/cases/{case}").get_data(as_text=True)
    from formsengine.web import access

    monkeypatch.setattr(access, "case_or_404", lambda uid: dict(stale))
    response = post(sam, f"/cases/{case}/team", {"team": str(teams["Team B"])},
                    token_from="/")
    assert response.status_code == 302
    monkeypatch.undo()
    assert "moved to Team B" in sam.get(f"/cases/{case}").get_data(as_text=True)
    assert _case_row(store)["team_id"] == teams["Team B"]
    assert len(_audit(store, "move")) == 1


def test_removing_a_person_twice(alice, store):
    """A second removal (a double submit, or someone else removed them meanwhile) is told
    the person is not on the case; nothing else changes."""
    case = create_case(alice, service_user="y")
    start_assessment(alice, case)
    remove = {"who": "service_user"}
    assert post(alice, f"/cases/{case}/people/remove", remove,
                token_from=f"/cases/{case}").status_code == 302
    response = post(alice, f"/cases/{case}/people/remove", remove, token_from=f"/cases/{case}")
    assert response.status_code == 400
    assert ("There is no service user on this case (they may have been removed already)"
            in response.get_data(as_text=True))
    assert [r["role"] for r in look.rows(store, "case_people", "role")] == ["victim_survivor"]
    assert len(_audit(store, "remove_person")) == 1
