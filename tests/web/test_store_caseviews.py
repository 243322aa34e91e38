"""What the case and assessment pages read from ``formsengine.store.caseviews`` and
``formsengine.store.access``: checked against records made through the pages themselves."""

from __future__ import annotations

import pytest

from formsengine.store import access as access_rows
from formsengine.store import accounts as account_rows
from formsengine.store import caseviews
from formsengine.store import inspection as look

from .conftest import complete, create_case, login, make_user, post, start_assessment

AMEND = {"f-assessment_date": "2025-01-06", "q-t-injury": "no", "q-t-frightened": "no",
         "q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no",
         "reason": "Answers were entered against the wrong case"}


def _case_id(store, uid):
    team_a = store.team_id("Team A")
    return access_rows.case_in_teams(store, uid, [team_a])["id"]


def test_a_case_found_only_through_its_team(alice, store):
    uid = create_case(alice)
    a, b = store.team_id("Team A"), store.team_id("Team B")
    row = access_rows.case_in_teams(store, uid, [b, a])
    assert row["uid"] == uid and row["team_id"] == a
    assert row["schedule"].startswith("[")  # as stored: the caller decodes it
    assert access_rows.case_in_teams(store, uid, [b]) is None
    assert access_rows.case_in_teams(store, uid, []) is None
    assert access_rows.case_in_teams(store, "x" * 64, [a]) is None
    assert access_rows.case_in_teams(store, "' OR 1=1 --", [a, b]) is None


def test_an_assessment_found_only_through_its_cases_team(alice, store):
    case_uid = create_case(alice)
    uid = start_assessment(alice, case_uid)
    a, b = store.team_id("Team A"), store.team_id("Team B")
    assessment, case = access_rows.assessment_and_case_in_teams(store, uid, [b, a])
    # the assessment as get_assessment reads it, and its case's columns (none of them mixed
    # with the assessment's, which share names such as uid, status and created_at)
    assert assessment == store.get_assessment(assessment["id"]) and assessment["uid"] == uid
    assert case == access_rows.case_in_teams(store, case_uid, [a])
    assert case["uid"] == case_uid and case["id"] == assessment["case_id"]
    assert caseviews.assessment_uid(store, assessment["id"]) == uid
    assert caseviews.assessment_id(store, uid) == assessment["id"]
    assert access_rows.assessment_and_case_in_teams(store, uid, [b]) is None
    assert access_rows.assessment_and_case_in_teams(store, uid, []) is None
    assert access_rows.assessment_and_case_in_teams(store, case_uid, [a]) is None  # a case's
    assert access_rows.assessment_and_case_in_teams(store, "' OR 1=1 --", [a, b]) is None
    assert caseviews.assessment_id(store, "unknown") is None
    assert caseviews.assessment_uid(store, 10_000) is None


@pytest.mark.sqlite_only  # counts statements (SQLite's trace callback)
def test_a_draft_and_its_case_are_read_in_one_statement(alice, store):
    """Every request for an assessment (each section page and each save) starts by finding
    it through the user's teams: the draft, its answers and its case come in one statement
    (on PostgreSQL one round trip), not one for the access check and another for the
    assessment."""
    uid = start_assessment(alice, create_case(alice))
    teams = [store.team_id("Team A")]
    with look.statements_sent(store) as statements:
        found = access_rows.assessment_and_case_in_teams(store, uid, teams)
    assert found is not None and found[0]["status"] == "draft"
    assert len(statements) == 1, statements


@pytest.mark.sqlite_only  # counts statements (SQLite's trace callback)
def test_a_final_assessment_with_its_latest_result_is_read_in_one_statement(alice, store):
    """A finalised assessment's page reads the assessment, its answers, its latest score
    (after a rescore, the newest) with its configuration record, and its case in one
    statement; the result is the one scoring gave."""
    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid)
    teams = [store.team_id("Team A")]
    assessment_id = caseviews.assessment_id(store, uid)
    first = store.get_assessment(assessment_id)["result"]
    inst, sub = store.engine.check(store.submission_data(store.get_assessment(assessment_id)))
    rescored = store.engine.score(inst, sub)
    rescored["warnings"] = [*rescored["warnings"], "a later score"]  # told apart from the first
    with store.write():
        store.add_score(assessment_id, rescored)
    with look.statements_sent(store) as statements:
        assessment, case = access_rows.assessment_and_case_in_teams(store, uid, teams)
    assert len(statements) == 1, statements
    assert assessment["status"] == "final" and assessment["result"] == rescored
    assert first["warnings"] != rescored["warnings"]
    assert assessment["result"]["configuration"] == first["configuration"]
    assert case["id"] == assessment["case_id"]


def test_a_cases_people_practitioner_and_team(alice, store, users):
    uid = create_case(alice, service_user="y", su_name="Sam")
    case_id = _case_id(store, uid)
    people = caseviews.case_people(store, case_id)
    assert [p["role"] for p in people] == ["victim_survivor", "service_user"]
    assert people[1]["display_name"] == "Sam"
    assert caseviews.case_roles(store, case_id) == {"victim_survivor", "service_user"}
    assert caseviews.case_has_role(store, case_id, "service_user")
    assert caseviews.case_practitioner(store, case_id) == {"id": users["alice"],
                                                          "display_name": "alice"}
    with store.write():
        caseviews.assign_case(store, case_id, users["sue"])  # replaces the assignment
    assert caseviews.case_practitioner(store, case_id)["id"] == users["sue"]
    assert caseviews.team_name(store, store.team_id("Team A")) == "Team A"
    assert caseviews.team_name(store, None) is None
    assert caseviews.case_uid(store, case_id) == uid
    assert caseviews.case_uid(store, 10_000) is None
    ref = access_rows.case_in_teams(store, uid, [store.team_id("Team A")])["ref"]
    assert caseviews.case_ref_taken(store, ref) and not caseviews.case_ref_taken(store, "C-0")


def test_who_a_case_may_be_assigned_to(store, users):
    a, b = store.team_id("Team A"), store.team_id("Team B")
    both = make_user(store, "zed", role="supervisor", teams=("Team A", "Team B"))
    off = make_user(store, "olga", teams=("Team A",))
    with store.write():
        account_rows.set_disabled(store, off, True)
    make_user(store, "ada", role="administrator", teams=("Team A",))
    found = caseviews.team_practitioners(store, [a, b])
    assert [u["display_name"] for u in found] == ["alice", "bob", "sue", "zed"]  # zed once
    assert [u["id"] for u in caseviews.team_practitioners(store, [b])] == [users["bob"], both]
    assert caseviews.team_practitioners(store, []) == []


def test_a_cases_assessments_with_their_latest_level(app, alice, store):
    case_uid = create_case(alice)
    uid = start_assessment(alice, case_uid)
    case_id = _case_id(store, case_uid)
    draft = caseviews.case_assessments(store, case_id)
    assert [(r["uid"], r["status"], r["level_final"]) for r in draft] == [(uid, "draft", None)]
    assessment_id = caseviews.assessment_id(store, uid)
    revision = caseviews.assessment_revision(store, assessment_id)
    complete(alice, uid)
    assert caseviews.assessment_revision(store, assessment_id) > revision
    final = caseviews.case_assessments(store, case_id)[0]
    assert final["status"] == "final" and final["level_final"]
    assert caseviews.amendment_uid(store, assessment_id) is None
    assert caseviews.assessment_revision(store, 10_000) is None


def test_the_amended_version_links_to_its_amendment(alice, store):
    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid)
    response = post(alice, f"/assessments/{uid}/amend", AMEND,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302
    new_uid = response.headers["Location"].rsplit("/", 2)[-2]
    assert new_uid != uid
    assert caseviews.amendment_uid(store, caseviews.assessment_id(store, uid)) == new_uid
    page = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert f'href="/assessments/{new_uid}/result">See the current version' in page


def test_research_counts_people_with_final_assessments(app, alice, store, users):
    assert caseviews.final_assessment_counts(store) == []
    for _ in range(2):
        complete(alice, start_assessment(alice, create_case(alice)))
    start_assessment(alice, create_case(alice))  # a draft: not counted
    client = app.test_client()
    assert login(client, "bob").status_code == 302
    complete(client, start_assessment(client, create_case(client)))
    assert caseviews.final_assessment_counts(store) == [
        {"instrument_id": "test-risk", "occasion": "intake", "people": 3}]


def test_the_command_line_erases_an_assessment_found_by_its_uid(alice, store, cli_run):
    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid)
    reason = ["--reason", "recorded_in_error", "--reference", "4471", "--yes"]
    result = cli_run("erase", "assessment", "no-such-uid", *reason)
    assert result.exit_code != 0 and "no assessment 'no-such-uid'" in result.output
    assert caseviews.assessment_id(store, uid) is not None
    result = cli_run("erase", "assessment", uid, *reason)
    assert result.exit_code == 0, result.output
    assert f"erased assessment {uid}" in result.output
    assert caseviews.assessment_id(store, uid) is None
