"""Professional judgement and finalising act on what the practitioner checked: the check
page carries the revision it showed; a finalise or judgement made after someone else
saved other answers is refused with those answers shown, nothing finalised or saved. An
amendment adds, changes or removes a judgement (raise only, reason required, audited)."""

from __future__ import annotations

import json
import re

import pytest

from formsengine.store import inspection as look

from .conftest import (
    REV,
    complete,
    create_case,
    finalise,
    login,
    post,
    save_section,
    start_assessment,
)

LOW = {"q-t-injury": "yes", "q-t-frightened": "no"}  # one yes answer: standard
NO_HISTORY = {"q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"}
DETAILS = {"f-assessment_date": "2025-01-06", "f-incidents_12m": "1"}


def _draft(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "details", DETAILS)
    save_section(alice, uid, "now", LOW)
    return uid


@pytest.fixture
def sue(app, users):
    client = app.test_client()
    assert login(client, "sue").status_code == 302
    return client


def _state(store, uid):
    return look.first(store, "assessments", "status", "revision", "judgement", uid=uid)


@pytest.mark.parametrize("action", ["finalise", "save"])
def test_answers_changed_after_the_check_page_was_opened_are_not_finalised(
        alice, sue, store, action):
    uid = _draft(alice)
    checked = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "The latest incident caused an injury" in checked
    save_section(sue, uid, "now", {"q-t-injury": "no", "q-t-frightened": "no",
                                   "c-t-frightened": "said by phone"})
    before = _state(store, uid)
    response = finalise(alice, uid, {"level": "high", "reason": "Threats this morning",
                                     "action": action}, page=checked)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "These answers changed since you checked them" in page
    assert 'class="govuk-error-summary"' in page and "<title>Error: Check your answers" in page
    assert "Comment: said by phone" in page  # the answers as they are now
    assert "Threats this morning</textarea>" in page  # what was typed is kept
    assert _state(store, uid) == before  # nothing finalised, no judgement saved
    assert before["status"] == "draft" and before["judgement"] is None
    # the page now carries the new revision: pressing the button again works
    assert REV.search(page).group(1) == str(before["revision"])
    response = finalise(alice, uid, {"action": action}, page=page)
    assert response.status_code == 302
    assert _state(store, uid)["status"] == ("final" if action == "finalise" else "draft")
    assert _state(store, uid)["judgement"] is not None


def test_a_finalise_without_the_checked_revision_is_refused(alice, store):
    uid = _draft(alice)
    for revision in ("", "abc", "-1", "9" * 40, "0"):
        response = finalise(alice, uid, {"revision": revision})
        assert response.status_code == 409, revision
        assert "These answers changed since you checked them" in response.get_data(
            as_text=True)
    assert _state(store, uid)["status"] == "draft"


def test_a_finalise_of_an_assessment_finalised_meanwhile_shows_the_result(alice, sue, store):
    uid = _draft(alice)
    checked = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert finalise(sue, uid).status_code == 302
    response = finalise(alice, uid, {"level": "high", "reason": "late"}, page=checked)
    assert response.status_code == 302 and response.headers["Location"].endswith("/result")
    assert _state(store, uid)["judgement"] is None  # sue finalised without one


def test_a_saved_judgement_no_longer_above_the_score_is_pointed_out(alice, store):
    uid = _draft(alice)
    finalise(alice, uid, {"level": "medium", "reason": "Escalating", "action": "save"})
    save_section(alice, uid, "history", {"q-t-strangle": "yes", "q-t-threat_kill": "yes",
                                         "q-t-worse": "no"})  # three yes: medium
    page = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "(Medium) is no longer above the level the answers give" in page
    response = finalise(alice, uid, {"level": ""}, page=page)  # the reason is still typed
    assert response.status_code == 400
    assert "Choose the level to raise the risk to" in response.get_data(as_text=True)
    assert _state(store, uid)["status"] == "draft"


# -- amendments -----------------------------------------------------------------------------
AMEND = {"f-assessment_date": "2025-01-06", "f-incidents_12m": "1", **LOW, **NO_HISTORY}


def _final(alice):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid, now=LOW, history=NO_HISTORY)
    return uid


def _amend(client, uid, data):
    return post(client, f"/assessments/{uid}/amend", {**AMEND, **data},
                token_from=f"/assessments/{uid}/amend")


def _current(store):
    row = look.first(store, "assessments", "id", status="final")
    return store.get_assessment(row["id"])


def test_an_amendment_adds_a_judgement_raise_only_with_a_reason(alice, store):
    uid = _final(alice)
    page = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    assert 'id="judgement-level"' in page and 'id="judgement-reason"' in page
    assert '<option value="none"' not in page and '<option value="standard"' not in page
    assert '<option value="high"' in page
    for data, message in (
            ({"judgement-level": "high", "judgement-reason": " "},
             "Give the reason for the professional judgement"),
            ({"judgement-level": "none", "judgement-reason": "lower it"},
             "can only raise the level"),
            ({"judgement-level": "", "judgement-reason": "typed, no level"},
             "Choose the level to raise the risk to"),
            ({"judgement-level": "high", "judgement-reason": "x" * 5001},
             "5000 characters or fewer")):
        response = _amend(alice, uid, {**data, "reason": "Judgement left out"})
        assert response.status_code == 400, data
        text = response.get_data(as_text=True)
        assert message in text and 'class="govuk-error-summary"' in text
        assert 'href="#judgement-' in text  # the summary links to the field
        assert data["judgement-reason"][:20] in text  # kept
    assert look.count(store, "assessments") == 1
    # the amended answers give medium already: a medium judgement does not raise it
    response = _amend(alice, uid, {"q-t-frightened": "yes", "q-t-worse": "yes",
                                   "judgement-level": "medium", "judgement-reason": "r",
                                   "reason": "More disclosed"})
    assert response.status_code == 400
    assert "The amended answers give a score-based level of Medium" in response.get_data(
        as_text=True)
    assert look.count(store, "assessments") == 1
    response = _amend(alice, uid, {"judgement-level": "high",
                                   "judgement-reason": "Disclosed at the follow-up call",
                                   "reason": "Judgement left out"})
    assert response.status_code == 302
    row = _current(store)
    assert row["version_no"] == 2 and row["result"]["level"]["final"] == "high"
    assert row["judgement"]["reason"] == "Disclosed at the follow-up call"
    audit = json.loads(look.value(store, "audit", "details", action="amend"))
    assert audit["judgement"] == {"from": None, "to": "high", "reason_changed": True}
    assert "Disclosed" not in json.dumps(audit)  # levels only, never the words
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert "Disclosed at the follow-up call" in result


def test_an_amendment_keeps_changes_or_removes_a_judgement(alice, store):
    uid = _final(alice)
    _amend(alice, uid, {"judgement-level": "medium", "judgement-reason": "First view",
                        "reason": "Add judgement"})
    second = _current(store)
    page = alice.get(f"/assessments/{second['uid']}/amend").get_data(as_text=True)
    assert '<option value="medium" selected>' in page and "First view</textarea>" in page
    # unchanged: kept, with who made it
    level = re.search(r'<option value="([^"]*)" selected>', page).group(1)
    _amend(alice, second["uid"], {"judgement-level": level, "judgement-reason": "First view",
                                  "reason": "Typo in a comment"})
    third = _current(store)
    assert third["judgement"] == second["judgement"]
    assert "judgement" not in json.loads(
        look.rows(store, "audit", "details", action="amend")[-1]["details"])
    _amend(alice, third["uid"], {"judgement-level": "high", "judgement-reason": "Worse now",
                                 "reason": "Raised"})
    fourth = _current(store)
    assert fourth["result"]["level"]["final"] == "high"
    _amend(alice, fourth["uid"], {"judgement-level": "", "judgement-reason": "",
                                  "reason": "Judgement recorded on the wrong case"})
    fifth = _current(store)
    assert fifth["judgement"] is None and fifth["result"]["level"]["final"] == "standard"
    details = [json.loads(r["details"]).get("judgement")
               for r in look.rows(store, "audit", "details", action="amend")]
    assert details == [{"from": None, "to": "medium", "reason_changed": True}, None,
                       {"from": "medium", "to": "high", "reason_changed": True},
                       {"from": "high", "to": None, "reason_changed": True}]
