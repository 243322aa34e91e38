"""Each save of a draft is scored on the server and its provisional result stored with it;
the task list and the case page show it, and it is scored again when the configuration,
scorer or engine changed since the save. Also: the generated forms' field prototypes keep
no state between requests, and CSRF still guards their POSTs."""

from __future__ import annotations

import json

from formsengine.store import inspection as look
from formsengine.web import formbuild

from .conftest import REV, complete, create_case, post, save_section, start_assessment


def _draft(store):
    return store.get_assessment(look.value(store, "assessments", "id"))


def test_each_save_scores_the_draft_and_stores_the_result(alice, store):
    uid = start_assessment(alice, create_case(alice))
    assert _draft(store)["draft_result"] is None  # nothing answered, nothing saved yet
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "cut",
                                     "q-t-frightened": "yes"})
    row = _draft(store)
    stored = row["draft_result"]
    # the same result as scoring the stored answers now
    inst, sub = store.engine.check(store.submission_data(row))
    assert stored == json.loads(json.dumps(store.engine.score(inst, sub), default=str))
    assert stored["scores"]["yes_count"] == 2
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-frightened": "yes"})
    assert _draft(store)["draft_result"]["scores"]["yes_count"] == 1
    # every save audited once, with the items that changed
    rows = look.rows(store, "audit", "details", action="update")
    assert [json.loads(r["details"])["changed_items"] for r in rows] == [
        ["t.frightened", "t.injury", "t.injury.detail"], ["t.injury", "t.injury.detail"]]


def test_task_list_and_case_page_show_the_provisional_result(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "cut",
                                     "q-t-frightened": "yes", "q-t-fears": ["killed"]})
    save_section(alice, uid, "history", {"q-t-strangle": "yes", "q-t-worse": "yes"})
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert "So far: risk level High; number of yes answers: 4." in tasks
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "High so far (not final)" in page


def test_stored_result_is_shown_while_current_and_rescored_when_not(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    save_section(alice, uid, "now", {"q-t-injury": "yes", "q-t-injury-detail": "cut",
                                     "q-t-frightened": "yes"})
    row = _draft(store)

    def tamper(result):
        look.change_rows(store, "assessments", {"draft_result": json.dumps(result)},
                         id=row["id"])

    # the task list reads the stored result: a changed number in it shows through
    shown = dict(row["draft_result"], scores={"yes_count": 5},
                 level=dict(row["draft_result"]["level"], final="high"))
    tamper(shown)
    assert "; number of yes answers: 5." in alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert "High so far" in alice.get(f"/cases/{case}").get_data(as_text=True)
    # a result recorded under another configuration is not used: the answers are scored again
    other = dict(shown, configuration=dict(shown["configuration"], hash="sha256:" + "0" * 64))
    tamper(other)
    assert "; number of yes answers: 2." in alice.get(f"/assessments/{uid}").get_data(as_text=True)
    assert "so far (not final)" not in alice.get(f"/cases/{case}").get_data(as_text=True)
    # nor one from another version of the scoring plugin
    older = dict(shown, scorer=dict(shown["scorer"], version="0.0.1"))
    tamper(older)
    assert "; number of yes answers: 2." in alice.get(f"/assessments/{uid}").get_data(as_text=True)


def test_finalising_clears_the_provisional_result(alice, store):
    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid)
    row = look.first(store, "assessments", "id", "status", "draft_result")
    assert row["status"] == "final" and row["draft_result"] is None
    assert look.count(store, "scores", assessment_id=row["id"]) == 1


def test_is_current(engine):
    from formsengine.engine import Engine

    inst = engine.instruments.get("test-risk")
    data = {"instrument": "test-risk", "answers": {"t.injury": "yes"}}
    result = engine.score_data(data)
    assert engine.is_current(inst, result)
    assert not engine.is_current(inst, None)
    assert not engine.is_current(inst, {"scores": {}})  # not a result the engine made
    assert not engine.is_current(inst, dict(result, instrument=dict(result["instrument"],
                                                                    version="0.9")))
    assert not engine.is_current(inst, dict(result, scorer=dict(result["scorer"],
                                                                engine="formsengine 0.0.0")))
    folded = dict(result, configuration=dict(result["configuration"], scorer={"w": 1}))
    assert not engine.is_current(inst, folded)
    # another organisation configuration: other cut-offs, another hash
    from formsengine.config import OrgConfig

    cutoffs = [{"min": 0, "band": "none", "label": "None"},
               {"min": 1, "band": "standard", "label": "Standard"},
               {"min": 2, "band": "medium", "label": "Medium"},
               {"min": 3, "band": "high", "label": "High"}]
    config = OrgConfig.from_dict({"organisation": {"name": "other"}, "instruments": {
        "test-risk": {"parameters": {"risk_cutoffs": cutoffs}}}})
    other = Engine(engine.settings, load_entrypoints=False, org_config=config)
    assert not other.is_current(other.instruments.get("test-risk"), result)


def test_generated_form_fields_keep_no_state_between_requests(app, engine):
    inst = engine.instruments.get("test-risk")
    cls = formbuild.section_form(inst, "now", None)
    with app.test_request_context(method="POST", data={"q-t-injury": "yes",
                                                       "c-t-injury": "first"}):
        first = cls()
        assert first.validate()
    with app.test_request_context(method="POST", data={"q-t-injury": "perhaps",
                                                       "c-t-injury": "x" * 6000}):
        second = cls()
        assert not second.validate()
    assert first["q-t-injury"].data == "yes" and second["q-t-injury"].data == "perhaps"
    assert first["c-t-injury"].data == "first"
    assert first["q-t-injury"].errors == [] and first["c-t-injury"].errors == []
    assert second["q-t-injury"].errors and second["c-t-injury"].errors
    assert first["q-t-injury"] is not second["q-t-injury"]
    assert first["q-t-injury"]._form is first and second["q-t-injury"]._form is second
    assert first["q-t-injury"].meta is first.meta
    # a third, fresh form starts empty
    with app.test_request_context(method="GET"):
        third = cls()
    assert third["q-t-injury"].data is None and third["q-t-injury"].errors == ()


def test_section_post_without_csrf_token_is_refused_and_saves_nothing(alice, store):
    uid = start_assessment(alice, create_case(alice))
    page = alice.get(f"/assessments/{uid}/sections/now").get_data(as_text=True)
    revision = REV.search(page).group(1)
    response = alice.post(f"/assessments/{uid}/sections/now",
                          data={"revision": revision, "q-t-injury": "yes"})
    assert response.status_code == 400
    response = alice.post(f"/assessments/{uid}/sections/now",
                          data={"revision": revision, "q-t-injury": "yes",
                                "csrf_token": "forged"})
    assert response.status_code == 400
    row = _draft(store)
    assert row["answers"] == {} and str(row["revision"]) == revision
    # with the page's token it is saved
    post(alice, f"/assessments/{uid}/sections/now", {"revision": revision, "q-t-injury": "no"},
         token_from=f"/assessments/{uid}/sections/now")
    assert _draft(store)["answers"] == {"t.injury": "no"}
