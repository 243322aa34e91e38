"""Answers carried forward from the previous occasion (``prefill``), without JavaScript:
a review offers the answers of the person's latest finalised assessment for the items that
say ``prefill``, beside a notice tied to the question; the offer is not an answer until the
page is saved by a person; saved unchanged it is recorded as carried forward (answers,
audit, check answers, export), changed it is an ordinary answer; "not known" is carried as
not known; the idle timer's save and the amendment page confirm nothing.

The instrument is docs/examples/definitions/prefill.json, the documented example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import caseviews
from formsengine.store import inspection as look

from .conftest import create_case, finalise, post, save_section, start_assessment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"
OFFER = "Carried forward from 12 March 2026 \u2014 confirm or change"


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


def stored(store, uid):
    return store.get_assessment(caseviews.assessment_id(store, uid))


def page(client, uid, section="household"):
    response = client.get(f"/assessments/{uid}/sections/{section}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def offered_list(text: str) -> str | None:
    found = re.search(r'name="carried" value="([^"]*)"', text)
    return found.group(1) if found else None


def intake(client, case, household, date="2026-03-12"):
    uid = start_assessment(client, case, instrument="example-prefill")
    save_section(client, uid, "details", {"f-assessment_date": date})
    save_section(client, uid, "household", household)
    assert finalise(client, uid).status_code == 302
    return uid


def review(client, case):
    uid = start_assessment(client, case, occasion="review", instrument="example-prefill")
    save_section(client, uid, "details", {"f-assessment_date": "2026-06-12"})
    return uid


FIRST = {"q-ex-children": "yes", "q-ex-children-count": "2",
         "q-ex-separated_on-day": "1", "q-ex-separated_on-month": "2",
         "q-ex-separated_on-year": "2026", "q-ex-afraid_now": "yes"}


@pytest.fixture
def case(alice):
    return create_case(alice, instruments=["example-prefill"])


def test_a_review_offers_the_previous_answers_with_a_notice(alice, case, store):
    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    # the previous answers are filled in, each beside a notice tied to its question
    assert re.search(r'id="q-ex-children" name="q-ex-children" type="radio" value="yes"[^>]*'
                     r'checked', text)
    assert 'name="q-ex-children-count" type="text" value="2"' in text
    assert 'name="q-ex-separated_on-year" type="text" inputmode="numeric" autocomplete="off" ' \
           'spellcheck="false" value="2026"' in text
    for name in ("q-ex-children", "q-ex-children-count", "q-ex-separated_on"):
        notice = re.search(rf'<div id="{name}-carried" class="[^"]*app-carried[^"]*"'
                           rf' data-carried>([^<]*)</div>', text)
        assert notice and notice.group(1) == OFFER, name
        assert re.search(rf'aria-describedby="[^"]*\b{name}-carried\b', text), name
    # a question asked afresh on each occasion is not offered
    assert "q-ex-afraid_now-carried" not in text
    assert not re.search(r'name="q-ex-afraid_now" type="radio" value="[^"]*" checked', text)
    assert offered_list(text) == "ex.children,ex.children.count,ex.separated_on"
    # nothing is answered until the page is saved: the task list and the stored draft agree
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    household = tasks[tasks.index("Household"):]
    assert "Not yet started" in household[:600]
    row = stored(store, uid)
    assert row["answers"] == {} and row["carried"] == {}


def test_saving_the_page_confirms_what_is_unchanged_and_records_it(alice, case, store):
    first = intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    # the practitioner keeps the children's answers, corrects the date, answers the new one
    save_section(alice, uid, "household", {
        "carried": offered_list(text), "q-ex-children": "yes", "q-ex-children-count": "2",
        "q-ex-separated_on-day": "3", "q-ex-separated_on-month": "2",
        "q-ex-separated_on-year": "2026", "q-ex-afraid_now": "no"})
    aid = caseviews.assessment_id(store, uid)
    row = store.get_assessment(aid)
    assert row["carried"] == {"ex.children": "2026-03-12", "ex.children.count": "2026-03-12"}
    entry = store.audit_entries(action="update")[0]
    assert entry["object_id"] == str(aid)
    assert json.loads(entry["details"])["carried_forward"] == {
        "items": ["ex.children", "ex.children.count"], "from_assessment": first,
        "from_date": "2026-03-12"}
    # the page again: the confirmed answers say so; nothing is offered any more
    text = page(alice, uid)
    assert offered_list(text) is None
    assert "Carried forward from 12 March 2026 and confirmed" in text
    assert "q-ex-separated_on-carried" not in text
    # check your answers marks them
    check = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    marks = re.findall(r'<dt class="govuk-summary-list__key">([^<]*)</dt>\s*'
                       r'<dd class="govuk-summary-list__value">[^<]*<p class="[^"]*'
                       r'app-carried-note">([^<]*)</p>', check)
    assert marks == [("Are there children in the household?",
                      "Carried forward from the assessment of 12 March 2026"),
                     ("How many children?",
                      "Carried forward from the assessment of 12 March 2026")]
    assert finalise(alice, uid).status_code == 302
    rows = look.rows(store, "answers", "item_id", "carried_from", assessment_id=aid)
    assert {r["item_id"]: r["carried_from"] for r in rows} == {
        "ex.afraid_now": None, "ex.children": "2026-03-12", "ex.children.count": "2026-03-12",
        "ex.separated_on": None}
    result = alice.get(f"/assessments/{uid}/result").get_data(as_text=True)
    assert result.count("Carried forward from the assessment of 12 March 2026") == 2
    # and the printed report
    from formsengine.reports import render_assessment_html

    report = render_assessment_html(store, aid)
    assert report.count("Carried forward from the assessment of 12 March 2026") == 2


def test_a_changed_answer_is_an_ordinary_answer(alice, case, store):
    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    save_section(alice, uid, "household", {
        "carried": offered_list(text), "q-ex-children": "no", "q-ex-afraid_now": "no"})
    row = stored(store, uid)
    # the count is no longer asked; the date, cleared, is not answered
    assert row["answers"] == {"ex.children": "no", "ex.afraid_now": "no"}
    assert row["carried"] == {}
    assert "carried_forward" not in json.loads(store.audit_entries(action="update")[0]["details"])


def test_not_known_is_carried_forward_as_not_known(alice, case, store):
    intake(alice, case, {"q-ex-children": "not_known", "q-ex-afraid_now": "yes"})
    uid = review(alice, case)
    text = page(alice, uid)
    assert re.search(r'name="q-ex-children" type="radio" value="not_known"[^>]*checked', text)
    assert not re.search(r'name="q-ex-children" type="radio" value="no"[^>]*checked', text)
    assert offered_list(text) == "ex.children"
    save_section(alice, uid, "household", {"carried": "ex.children",
                                           "q-ex-children": "not_known", "q-ex-afraid_now": "yes"})
    row = stored(store, uid)
    assert row["answers"]["ex.children"] == "not_known"
    assert row["carried"] == {"ex.children": "2026-03-12"}


def test_the_idle_timer_confirms_nothing(alice, case, store):
    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    revision = re.search(r'name="revision" value="(\d+)"', text).group(1)
    response = post(alice, f"/assessments/{uid}/sections/household",
                    {"revision": revision, "carried": offered_list(text),
                     **{k: v for k, v in FIRST.items() if k != "q-ex-afraid_now"},
                     "q-ex-afraid_now": "no"},
                    token_from=f"/assessments/{uid}/sections/household",
                    headers={"X-Idle-Save": "1"})
    assert response.status_code == 302
    row = stored(store, uid)
    assert row["answers"] == {"ex.afraid_now": "no"} and row["carried"] == {}
    # still offered when the practitioner comes back
    assert offered_list(page(alice, uid)) == "ex.children,ex.children.count,ex.separated_on"


def test_only_the_same_persons_finalised_assessment_is_offered(alice, store):
    case = create_case(alice, instruments=["example-prefill"])
    draft = start_assessment(alice, case, instrument="example-prefill")
    save_section(alice, draft, "household", FIRST)  # a draft is never offered
    uid = review(alice, case)
    assert offered_list(page(alice, uid)) is None
    assert "confirm or change" not in page(alice, uid)
    other = create_case(alice, instruments=["example-prefill"])
    intake(alice, other, FIRST)  # another case's (another person's) assessment
    assert offered_list(page(alice, uid)) is None


def test_the_amendment_page_does_not_offer_again_and_keeps_the_record(alice, case, store):
    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    save_section(alice, uid, "household", {**FIRST, "carried": offered_list(text)})
    assert finalise(alice, uid).status_code == 302
    amend = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    assert "confirm or change" not in amend and 'name="carried"' not in amend
    form = {"q-ex-children": "yes", "q-ex-children-count": "3",
            "q-ex-separated_on-day": "1", "q-ex-separated_on-month": "2",
            "q-ex-separated_on-year": "2026", "q-ex-afraid_now": "yes",
            "f-assessment_date-day": "12", "f-assessment_date-month": "6",
            "f-assessment_date-year": "2026", "reason": "The count was wrong"}
    response = post(alice, f"/assessments/{uid}/amend", form,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    new = response.headers["Location"].rsplit("/", 2)[-2]
    row = stored(store, new)
    # the unchanged answers stay carried forward; the corrected count is an ordinary answer
    assert row["carried"] == {"ex.children": "2026-03-12", "ex.separated_on": "2026-03-12"}


def test_the_item_table_says_which_answers_were_carried_forward(alice, case, store,
                                                               cli_run, tmp_path):
    import pandas as pd

    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    save_section(alice, uid, "household", {**FIRST, "q-ex-children-count": "3",
                                           "carried": offered_list(text)})
    assert finalise(alice, uid).status_code == 302
    key = tmp_path / "k.key"
    out = cli_run("--definitions", str(EXAMPLES), "export", "keygen", "--project", "p",
                  "--key-file", str(key))
    assert out.exit_code == 0, out.output
    out = cli_run("--definitions", str(EXAMPLES), "export", "research", "--project", "p",
                  "--out", str(tmp_path / "out"), "--key-file", str(key),
                  "--purpose", "carried forward answers", "--instruments", "example-prefill",
                  "--format", "csv", "--k", "1", "--allow-small-k", "--no-codebook-pdf",
                  "--quiet")
    assert out.exit_code == 0, out.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    path = next(f["path"] for f in manifest["files"]
                if "item" in f["path"] and f["path"].endswith(".csv"))
    table = pd.read_csv(tmp_path / "out" / path).sort_values("day")
    assert list(table["ex_children__carried"]) == [0, 1]
    assert list(table["ex_children_count__carried"]) == [0, 0]  # changed at the review
    assert list(table["ex_separated_on__carried"]) == [0, 1]
    assert "ex_afraid_now__carried" not in table.columns
    codebook = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").glob(
        "codebook*") if p.suffix in (".md", ".html", ".csv"))
    assert "ex_children__carried" in codebook and "carried forward from the person" in codebook


def test_the_fhir_response_marks_the_answers_carried_forward(alice, case, store):
    pytest.importorskip("fhir.resources")
    from formsengine.interop.fhir import questionnaire_response, validate

    first = intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    save_section(alice, uid, "household", {**FIRST, "q-ex-children-count": "3",
                                           "carried": offered_list(text)})
    assert finalise(alice, uid).status_code == 302
    resource = questionnaire_response(store, caseviews.assessment_id(store, uid))
    validate(resource)
    household = next(g for g in resource["item"] if g["linkId"] == "household")
    marks = {i["linkId"]: i.get("extension") for i in household["item"]}
    carried = [{"url": "urn:formsengine:extension:carried-forward",
                "valueDate": "2026-03-12"}]
    # kept: marked with the date carried from; changed or asked afresh: not marked
    assert marks == {"ex.children": carried, "ex.children.count": None,
                     "ex.separated_on": carried, "ex.afraid_now": None}
    # the first occasion's answers were all given then
    response = questionnaire_response(store, caseviews.assessment_id(store, first))
    assert "carried-forward" not in json.dumps(response)


def shown_list(text: str) -> str:
    return re.search(r'name="shown" value="([^"]*)"', text).group(1)


def as_posted(text: str, answers: dict) -> dict:
    """The page's form as a browser without JavaScript posts it: the offers it names, the
    questions it showed, and the answers as the person left them."""
    form = {"shown": shown_list(text), **answers}
    if offered_list(text) is not None:
        form["carried"] = offered_list(text)
    return form


BLANK_DATE = {"q-ex-separated_on-day": "", "q-ex-separated_on-month": "",
              "q-ex-separated_on-year": ""}


def test_a_cleared_offer_is_remembered_and_not_offered_again(alice, case, store):
    first = intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    # the practitioner keeps the children's answers and clears the date: nobody knows it now
    save_section(alice, uid, "household", as_posted(text, {
        "q-ex-children": "yes", "q-ex-children-count": "2", **BLANK_DATE,
        "q-ex-afraid_now": "no"}))
    # the page again: the date is not offered again, and its boxes are empty
    text = page(alice, uid)
    assert offered_list(text) is None
    assert "q-ex-separated_on-carried" not in text
    assert not re.search(r'name="q-ex-separated_on-year"[^>]*value="2026"', text)
    aid = caseviews.assessment_id(store, uid)
    row = store.get_assessment(aid)
    assert "ex.separated_on" not in row["answers"]
    assert row["declined"] == ["ex.separated_on"]
    details = json.loads(store.audit_entries(action="update")[0]["details"])
    assert details["offers_declined"] == {"items": ["ex.separated_on"],
                                                   "from_assessment": first}
    # saving the page again as it stands leaves the date unanswered, not carried forward
    save_section(alice, uid, "household", as_posted(text, {
        "q-ex-children": "yes", "q-ex-children-count": "2", **BLANK_DATE,
        "q-ex-afraid_now": "no"}))
    row = store.get_assessment(aid)
    assert "ex.separated_on" not in row["answers"]
    assert row["carried"] == {"ex.children": "2026-03-12", "ex.children.count": "2026-03-12"}
    assert row["declined"] == ["ex.separated_on"]
    assert finalise(alice, uid).status_code == 302
    rows = look.rows(store, "answers", "item_id", "carried_from", assessment_id=aid)
    assert {r["item_id"]: r["carried_from"] for r in rows} == {
        "ex.afraid_now": None, "ex.children": "2026-03-12", "ex.children.count": "2026-03-12"}


def test_clearing_a_confirmed_answer_is_remembered_and_answering_lifts_it(alice, case, store):
    intake(alice, case, {"q-ex-children": "not_known", **{
        k: v for k, v in FIRST.items() if k.startswith("q-ex-separated_on")},
        "q-ex-afraid_now": "yes"})
    uid = review(alice, case)
    text = page(alice, uid)
    kept = {"q-ex-children": "not_known", **{k: v for k, v in FIRST.items()
                                            if k.startswith("q-ex-separated_on")},
            "q-ex-afraid_now": "yes"}
    save_section(alice, uid, "household", as_posted(text, kept))
    row = stored(store, uid)
    assert row["carried"] == {"ex.children": "2026-03-12", "ex.separated_on": "2026-03-12"}
    # later the practitioner removes the confirmed date: it stays unanswered, "not known"
    # stays "not known", and nothing is offered in its place
    text = page(alice, uid)
    save_section(alice, uid, "household", as_posted(text, {**kept, **BLANK_DATE}))
    text = page(alice, uid)
    assert offered_list(text) is None and "q-ex-separated_on-carried" not in text
    row = stored(store, uid)
    assert row["answers"] == {"ex.children": "not_known", "ex.afraid_now": "yes"}
    assert row["carried"] == {"ex.children": "2026-03-12"} and row["declined"] == [
        "ex.separated_on"]
    # answering it afterwards is an ordinary answer; the declined mark goes with it
    save_section(alice, uid, "household", as_posted(text, {
        **kept, "q-ex-separated_on-day": "9"}))
    row = stored(store, uid)
    assert row["answers"]["ex.separated_on"] == "2026-02-09"
    assert "ex.separated_on" not in row["carried"] and row["declined"] == []


def test_an_offer_hidden_by_another_answer_is_not_declined(alice, case, store):
    intake(alice, case, FIRST)
    uid = review(alice, case)
    text = page(alice, uid)
    # "no children" hides the count: the count was not cleared by anyone
    save_section(alice, uid, "household", as_posted(text, {
        "q-ex-children": "no", "q-ex-children-count": "2", **{
            k: v for k, v in FIRST.items() if k.startswith("q-ex-separated_on")},
        "q-ex-afraid_now": "no", "remove_hidden": "yes"}))
    row = stored(store, uid)
    assert "ex.children.count" not in row["answers"] and not row.get("declined")
    assert "offers_declined" not in json.loads(
        store.audit_entries(action="update")[0]["details"])
