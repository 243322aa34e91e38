"""A save never drops an answer silently when the answers given hide its question: the
section page and the amendment page ask first (remove, or change the answers back); the
save the idle timer sends before a sign-out has nobody to ask and keeps what it can. The
page's script gets each condition compiled for its page (``page_program``)."""

from __future__ import annotations

import json
import re

from formsengine.conditions import Context, page_program
from formsengine.store import inspection as look

from .conftest import REV, complete, create_case, post, save_section, start_assessment

HIGH_NOW = {"q-t-injury": "yes", "q-t-injury-detail": "bruising", "q-t-frightened": "no",
            "q-t-fears": []}
NO_HISTORY = {"q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no"}
AMEND = {"f-assessment_date": "2025-01-06", "f-incidents_12m": "1", **HIGH_NOW, **NO_HISTORY}


def _current(store):
    row = look.first(store, "assessments", "id", status="final")
    return store.get_assessment(row["id"])


def test_an_amendment_asks_before_removing_a_hidden_answer(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    complete(alice, uid, now={"q-t-injury": "yes", "q-t-injury-detail": "bruising"},
             history=NO_HISTORY)
    assert _current(store)["answers"]["t.injury.detail"] == "bruising"
    data = {**AMEND, "q-t-injury": "no", "reason": "Injury was not disclosed"}
    response = post(alice, f"/assessments/{uid}/amend", data,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#remove-hidden"' in page and "Answers to questions no longer asked" in page
    assert look.count(store, "assessments") == 1  # nothing amended
    response = post(alice, f"/assessments/{uid}/amend", {**data, "remove_hidden": "yes"},
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302
    amended = _current(store)
    assert amended["answers"]["t.injury"] == "no" and "t.injury.detail" not in amended["answers"]


def test_the_idle_save_keeps_what_it_can_without_asking(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "bruising"})
    path = f"/assessments/{uid}/sections/now"
    revision = REV.search(alice.get(path).get_data(as_text=True)).group(1)
    response = post(alice, path, {"revision": revision, "q-t-injury": "no",
                                  "q-t-injury-detail": "bruising", "q-t-frightened": "yes"},
                    token_from=path, headers={"X-Idle-Save": "1"})
    assert response.status_code == 302
    row = store.get_assessment(look.value(store, "assessments", "id"))
    assert row["answers"]["t.injury"] == "no" and row["answers"]["t.frightened"] == "yes"


def test_a_page_gets_each_condition_compiled_for_it(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    attr = re.search(r'data-item="t.injury.detail"[^>]*data-show-when="([^"]+)"', page)
    program = json.loads(attr.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert program == {"item": "t.injury", "equals": "yes"}  # on this page: kept
    assert 'data-kind="text"' in page and "data-known" not in page


def test_page_program_decides_what_the_page_cannot_change():
    ctx = Context(answers={"other.q": "yes", "n": 4}, fields={"d": None, "k": 3},
                  parameters={"limit": 3})
    cond = {"all": [{"item": "here", "equals": {"param": "limit"}},
                    {"any": [{"item": "other.q", "equals": "yes"}, {"field": "k", "gt": 9}]},
                    {"not": {"field": "d", "answered": True}}]}
    assert page_program(cond, {"here"}, ctx) == {
        "all": [{"item": "here", "equals": 3}, {"const": True}, {"const": True}]}
    assert page_program({"item": "other.q", "equals": "no"}, {"here"}, ctx) == {"const": False}
    assert page_program({"not": {"item": "n", "gte": 5}}, set(), ctx) == {"const": True}
