"""A repeating group on the section page without JavaScript: one fieldset per instance
("Child 1", "Child 2"), "Add another child" and "Remove" buttons that save the page and show
it again (typed answers kept, later instances moved up), the group's minimum and maximum,
the instances on check your answers and in the result, and answers stored as
``children[n].<item>``.

The instrument is docs/examples/definitions/household.json, the documented example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine

from .conftest import REV, create_case, finalise, post, save_section, start_assessment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"
PAGE = "household"


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


@pytest.fixture
def uid(alice):
    case = create_case(alice, instruments=["example-household"])
    return start_assessment(alice, case, instrument="example-household")


def page(client, uid: str, query: str = "") -> str:
    response = client.get(f"/assessments/{uid}/sections/{PAGE}{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def press(client, uid: str, data: dict, *, instances: int, query: str = "", expect=302):
    """Post the section page as a browser does, the page having shown ``instances``."""
    shown = page(client, uid, query)
    form = {"revision": REV.search(shown).group(1), "instances-children": str(instances),
            **data}
    response = post(client, f"/assessments/{uid}/sections/{PAGE}", form,
                    token_from=f"/assessments/{uid}/sections/{PAGE}")
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def legends(html: str) -> list[str]:
    return re.findall(r'<h2 class="govuk-fieldset__heading">([^<]+)</h2>', html)


def answers_of(client, uid: str) -> str:
    return client.get(f"/assessments/{uid}/check").get_data(as_text=True)


def test_the_page_shows_the_minimum_and_the_add_button(alice, uid):
    html = page(alice, uid)
    assert legends(html) == ["Child 1"]
    assert 'name="q-children--1-age"' in html
    assert 'name="q-children--2-age"' not in html
    assert 'name="instances-children" value="1"' in html
    assert ">Add another child</button>" in html
    # the minimum is 1: the only child cannot be removed
    assert 'name="remove_instance"' not in html
    # Enter in a box presses a plain save, never a Remove button
    first = re.search(r'<button[^>]*type="submit"[^>]*>', html).group(0)
    assert "remove_instance" not in first and "add_instance" not in first


def test_add_saves_typed_answers_and_shows_one_more(alice, uid):
    response = press(alice, uid, {"q-hh-pregnant": "no", "q-children--1-age": "4",
                                  "q-children--1-witnessed": "yes",
                                  "add_instance": "children"}, instances=1)
    location = response.headers["Location"]
    assert "instances=2" in location and location.endswith("#instance-children-2")
    html = alice.get(location).get_data(as_text=True)
    assert legends(html) == ["Child 1", "Child 2"]
    assert re.search(r'name="q-children--1-age"[^>]*value="4"', html)
    assert 'name="q-children--2-age"' in html
    assert html.count('name="remove_instance"') == 2
    # the added child is not saved until answered: the page without the count shows one
    assert legends(page(alice, uid)) == ["Child 1"]


def test_remove_moves_later_instances_up(alice, uid):
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                       "q-children--1-where": "Shouting",
                       "q-children--2-age": "9", "q-children--2-witnessed": "no",
                       "q-children--3-age": "12", "q-children--3-witnessed": "not_known"},
          instances=3, query="?instances=3")
    assert legends(page(alice, uid)) == ["Child 1", "Child 2", "Child 3"]
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                       "q-children--1-where": "Shouting",
                       "q-children--2-age": "9", "q-children--2-witnessed": "no",
                       "q-children--3-age": "12", "q-children--3-witnessed": "not_known",
                       "remove_instance": "1"}, instances=3)
    html = page(alice, uid)
    assert legends(html) == ["Child 1", "Child 2"]
    assert re.search(r'name="q-children--1-age"[^>]*value="9"', html)
    assert re.search(r'name="q-children--2-age"[^>]*value="12"', html)
    assert 'name="q-children--3-age"' not in html
    check = answers_of(alice, uid)
    assert "Child 1: Age in years" in check and "Child 2: Age in years" in check
    assert "Child 3" not in check
    assert "Shouting" not in check  # the removed child's answers went with it


def test_a_refused_answer_keeps_what_was_typed(alice, uid):
    response = press(alice, uid, {"q-children--1-age": "40", "q-children--1-witnessed": "no",
                                  "add_instance": "children"}, instances=1, expect=400)
    html = response.get_data(as_text=True)
    assert "Must be at most 17" in html
    assert re.search(r'name="q-children--1-age"[^>]*value="40"', html)
    assert legends(html) == ["Child 1"]


def test_the_maximum_has_no_add_button(alice, uid):
    html = page(alice, uid, "?instances=9")
    assert legends(html) == [f"Child {k}" for k in range(1, 7)]
    assert ">Add another child</button>" not in html
    assert "6 is the most this form takes." in html


def test_a_follow_up_inside_an_instance_tests_its_own_instance(alice, uid):
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "no",
                       "q-children--2-age": "9", "q-children--2-witnessed": "yes",
                       "q-children--2-where": "Shouting"}, instances=2, query="?instances=2")
    html = page(alice, uid)
    first = re.search(r'<div class="app-question" id="question-q-children--1-where"[^>]*>',
                      html).group(0)
    second = re.search(r'<div class="app-question" id="question-q-children--2-where"[^>]*>',
                       html).group(0)
    assert " hidden" in first and " hidden" not in second
    assert '"item":"children[1].witnessed"' in first.replace("&#34;", '"')


def test_finalised_result_scores_over_the_children(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                       "q-children--1-worry": "very",
                       "q-children--2-age": "9", "q-children--2-witnessed": "not_known",
                       "q-children--2-worry": "some"}, instances=2, query="?instances=2")
    check = answers_of(alice, uid)
    assert re.search(r"Child 2: Has the child seen or heard the abuse\?</dt>\s*"
                     r'<dd class="govuk-summary-list__value">\s*Not known', check), check
    response = finalise(alice, uid)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    def score(label: str) -> str:
        found = re.search(re.escape(label) + r'</dt><dd class="govuk-summary-list__value">'
                          r"([^<]*)</dd>", result)
        assert found, label
        return found.group(1)

    assert score("Children in the household") == "2"
    assert score("Children who saw or heard the abuse") == "1"
    assert score("Any child saw or heard the abuse") == "Yes"
    # child 2's answer is not known: "every child" is not known, never "No"
    assert score("Every child saw or heard the abuse") == "Not known"
    assert score("Worry about the children (total)") == "3"
    assert score("Children&#39;s ages added up") == "13"
    assert "A child saw or heard the abuse" in result  # the flag


def test_finalising_needs_the_minimum(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    press(alice, uid, {"q-hh-pregnant": "no"}, instances=1)
    response = finalise(alice, uid)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # the error summary says which instance is missing, linked to the group on its page
    assert re.search(rf'<a href="/assessments/{uid}/sections/{PAGE}\?back=check#repeat-children">'
                     r"Answer the questions of child 1 before finalising the assessment "
                     r"\(the form needs at least 1\)</a>", html), html


def test_an_amendment_keeps_the_instances(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                       "q-children--1-worry": "very",
                       "q-children--2-age": "9", "q-children--2-witnessed": "no",
                       "q-children--2-worry": "some"}, instances=2, query="?instances=2")
    assert finalise(alice, uid).status_code == 302
    form = {"f-assessment_date-day": "12", "f-assessment_date-month": "3",
            "f-assessment_date-year": "2026", "q-hh-pregnant": "yes",
            "reason": "Pregnancy was recorded wrongly"}
    response = post(alice, f"/assessments/{uid}/amend", form,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Children in the household</dt>"
                     r'<dd class="govuk-summary-list__value">2</dd>', result)


def test_a_follow_up_an_instance_now_asks_is_shown_before_moving_on(alice, uid):
    """Without JavaScript the follow-up of child 1 appears only once its answer is saved:
    the page comes back to ask it instead of moving on."""
    response = press(alice, uid, {"q-hh-pregnant": "no", "q-children--1-age": "4",
                                  "q-children--1-witnessed": "yes",
                                  "q-children--1-worry": "some",
                                  "shown": "hh.pregnant,children[1].age,"
                                           "children[1].witnessed,children[1].worry"},
                     instances=1)
    assert response.headers["Location"].split("?")[0].endswith(f"/sections/{PAGE}#main-content")
    html = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert "More questions are now shown in this section" in html
    question = re.search(r'<div class="app-question" id="question-q-children--1-where"[^>]*>',
                         html).group(0)
    assert " hidden" not in question


def test_the_task_list_counts_the_instances_questions(alice, uid):
    press(alice, uid, {"q-hh-pregnant": "no", "q-children--1-age": "4",
                       "q-children--1-witnessed": "no"}, instances=1)
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    # child 1's worry is not answered: the section is in progress, not completed
    found = re.search(r"The household.*?(Completed|In progress|Not started)", tasks, re.S)
    assert found and found.group(1) == "In progress", tasks[:3000]
    press(alice, uid, {"q-hh-pregnant": "no", "q-children--1-age": "4",
                       "q-children--1-witnessed": "no", "q-children--1-worry": "none"},
          instances=1)
    tasks = alice.get(f"/assessments/{uid}").get_data(as_text=True)
    found = re.search(r"The household.*?(Completed|In progress|Not started)", tasks, re.S)
    assert found and found.group(1) == "Completed"


def test_the_pdf_report_lists_each_instance(alice, uid, store):
    from formsengine.reports.context import assessment_context
    from formsengine.store import inspection as look

    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    press(alice, uid, {"q-hh-pregnant": "no",
                       "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                       "q-children--1-where": "Shouting", "q-children--1-worry": "very",
                       "q-children--2-age": "9", "q-children--2-witnessed": "no",
                       "q-children--2-worry": "some"}, instances=2, query="?instances=2")
    assert finalise(alice, uid).status_code == 302
    row = look.first(store, "assessments", "id", status="final")
    context = assessment_context(store, row["id"])
    labels = [(i["label"], i["answer"]) for i in context["sections"][0]["items"]]
    assert ("Child 1: What did the child see or hear?", "Shouting") in labels
    assert ("Child 2: Age in years", "9") in labels
    assert not any(label.startswith("Child 2: What did") for label, _ in labels)


# --- the amendment page ---------------------------------------------------------------
TWO_CHILDREN = {"q-hh-pregnant": "no",
                "q-children--1-age": "4", "q-children--1-witnessed": "yes",
                "q-children--1-where": "Shouting", "q-children--1-worry": "very",
                "q-children--2-age": "9", "q-children--2-witnessed": "no",
                "q-children--2-worry": "some"}
DETAILS = {"f-assessment_date-day": "12", "f-assessment_date-month": "3",
           "f-assessment_date-year": "2026"}


def finalised(client, uid: str) -> None:
    save_section(client, uid, "details", {"f-assessment_date": "2026-03-12"})
    press(client, uid, TWO_CHILDREN, instances=2, query="?instances=2")
    assert finalise(client, uid).status_code == 302


def amend(client, uid: str, data: dict, *, expect=302):
    response = post(client, f"/assessments/{uid}/amend", data,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def result_score(html: str, label: str) -> str:
    found = re.search(re.escape(label) + r'</dt><dd class="govuk-summary-list__value">'
                      r"([^<]*)</dd>", html)
    assert found, label
    return found.group(1)


def test_the_amendment_page_shows_each_instances_questions(alice, uid):
    finalised(alice, uid)
    html = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    assert legends(html) == ["Child 1", "Child 2"]
    assert 'name="instances-children" value="2"' in html
    assert re.search(r'name="q-children--2-age"[^>]*value="9"', html)
    assert re.search(r'name="q-children--1-worry"[^>]*value="very"[^>]*checked', html)
    assert "Shouting" in html
    assert ">Add another child</button>" in html
    assert 'name="remove_instance" value="children:2"' in html
    # Enter in a box saves the amendment: the first submit button is no Remove button
    first = re.search(r'<button[^>]*type="submit"[^>]*>', html).group(0)
    assert "remove_instance" not in first and "add_instance" not in first


def test_an_amendment_changes_an_instances_answer(alice, uid, store):
    from formsengine.store import inspection as look

    finalised(alice, uid)
    response = amend(alice, uid, {**DETAILS, **TWO_CHILDREN, "instances-children": "2",
                                  "q-children--2-worry": "very", "q-children--2-age": "10",
                                  "reason": "Child 2's worry was recorded wrongly"})
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert result_score(result, "Worry about the children (total)") == "4"
    assert result_score(result, "Children&#39;s ages added up") == "14"
    check = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert "Child 2" in check
    # the earlier version is kept with its answers; the amendment is in the audit
    old = look.first(store, "assessments", "id", status="superseded")
    new = look.first(store, "assessments", "id", status="final")
    assert store.get_assessment(old["id"])["answers"]["children[2].worry"] == "some"
    assert store.get_assessment(new["id"])["answers"]["children[2].worry"] == "very"
    assert store.get_assessment(new["id"])["answers"]["children[1].where"] == "Shouting"
    amended = look.rows(store, "audit", "object_id", "details", action="amend")
    assert [str(r["object_id"]) for r in amended] == [str(new["id"])]
    assert json.loads(amended[0]["details"])["items"] == 8  # every answer of the new version


def test_an_amendment_adds_a_child_without_saving_until_asked(alice, uid, store):
    from formsengine.store import inspection as look

    finalised(alice, uid)
    response = amend(alice, uid, {**DETAILS, **TWO_CHILDREN, "instances-children": "2",
                                  "q-children--1-age": "5", "reason": "A third child",
                                  "add_instance": "children"}, expect=200)
    html = response.get_data(as_text=True)
    assert legends(html) == ["Child 1", "Child 2", "Child 3"]
    assert re.search(r'name="q-children--1-age"[^>]*value="5"', html)  # typed, kept
    assert "A third child" in html
    assert look.first(store, "assessments", "id", status="superseded") is None  # not saved
    response = amend(alice, uid, {**DETAILS, **TWO_CHILDREN, "instances-children": "3",
                                  "q-children--3-age": "1", "q-children--3-witnessed": "no",
                                  "q-children--3-worry": "none", "reason": "A third child"})
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert result_score(result, "Children in the household") == "3"


def test_an_amendment_removes_a_child_and_moves_the_later_ones_up(alice, uid, store):
    from formsengine.store import inspection as look

    finalised(alice, uid)
    response = amend(alice, uid, {**DETAILS, **TWO_CHILDREN, "instances-children": "2",
                                  "reason": "Child 1 does not live here",
                                  "remove_instance": "children:1"}, expect=200)
    html = response.get_data(as_text=True)
    assert legends(html) == ["Child 1"]
    assert re.search(r'name="q-children--1-age"[^>]*value="9"', html)
    assert 'name="remove_instance"' not in html  # the minimum is 1
    assert "Shouting" not in html
    response = amend(alice, uid, {**DETAILS, "q-hh-pregnant": "no", "instances-children": "1",
                                  "q-children--1-age": "9", "q-children--1-witnessed": "no",
                                  "q-children--1-worry": "some",
                                  "reason": "Child 1 does not live here"})
    result = alice.get(response.headers["Location"]).get_data(as_text=True)
    assert result_score(result, "Children in the household") == "1"
    new = look.first(store, "assessments", "id", status="final")
    answers = store.get_assessment(new["id"])["answers"]
    assert answers["children[1].age"] == 9 and "children[2].age" not in answers


def test_an_amendment_that_hides_an_instances_answer_names_the_instance(alice, uid):
    finalised(alice, uid)
    response = amend(alice, uid, {**DETAILS, **TWO_CHILDREN, "instances-children": "2",
                                  "q-children--1-witnessed": "no", "reason": "Corrected"},
                     expect=400)
    html = response.get_data(as_text=True)
    assert "<li>Child 1: What did the child see or hear?</li>" in html


# --- messages and pipes ---------------------------------------------------------------
def test_a_hidden_answer_of_an_instance_is_named_with_its_instance(alice, uid):
    press(alice, uid, TWO_CHILDREN, instances=2, query="?instances=2")
    response = press(alice, uid, {**TWO_CHILDREN, "q-children--1-witnessed": "no"},
                     instances=2, expect=400)
    assert "<li>Child 1: What did the child see or hear?</li>" in response.get_data(
        as_text=True)


NAMED = "children"


@pytest.fixture
def named_uid(alice):
    case = create_case(alice, instruments=["example-children-named"])
    return start_assessment(alice, case, instrument="example-children-named")


def named_page(client, uid: str, path: str = f"sections/{NAMED}") -> str:
    response = client.get(f"/assessments/{uid}/{path}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def press_named(client, uid: str, data: dict, *, instances: int, expect=302):
    shown = named_page(client, uid, f"sections/{NAMED}?instances={instances}")
    form = {"revision": REV.search(shown).group(1), "instances-kids": str(instances), **data}
    response = post(client, f"/assessments/{uid}/sections/{NAMED}", form,
                    token_from=f"/assessments/{uid}/sections/{NAMED}")
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def summary(html: str) -> list[tuple[str, str]]:
    box = re.search(r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', html, re.S)
    assert box, html[:3000]
    return re.findall(r'<a href="([^"]*)">([^<]*)</a>', box.group(1))


def test_the_error_summary_names_an_instances_question(alice, named_uid):
    response = press_named(alice, named_uid, {
        "q-kids--1-name": "Sam",
        "q-kids--2-name": "Alex", "q-kids--2-born-day": "1", "q-kids--2-born-month": "1",
        "q-kids--2-born-year": "2999",
        "q-kids--3-born-day": "4", "q-kids--3-born-year": "2020"}, instances=3, expect=400)
    assert summary(response.get_data(as_text=True)) == [
        ("#q-kids--2-born", "Child 2: Date of birth of the child must not be in the future"),
        ("#q-kids--3-born", "Child 3: Date of birth of the child must include a month")]


def test_a_childs_first_contact_before_its_own_birth_is_refused_with_the_child_named(
        alice, named_uid):
    def dates(n: int, born: tuple[str, str, str], contact: tuple[str, str, str]) -> dict:
        out = {}
        for item, (d, m, y) in (("born", born), ("first_contact", contact)):
            out.update({f"q-kids--{n}-{item}-day": d, f"q-kids--{n}-{item}-month": m,
                        f"q-kids--{n}-{item}-year": y})
        return out

    # child 1's first contact is after their birth; child 2's is before theirs (and after
    # child 1's birth, which does not bound child 2)
    typed = {"q-kids--1-name": "Sam", **dates(1, ("2", "5", "2019"), ("10", "1", "2020")),
             "q-kids--2-name": "Alex", **dates(2, ("2", "5", "2021"), ("10", "1", "2020"))}
    response = press_named(alice, named_uid, typed, instances=2, expect=400)
    html = response.get_data(as_text=True)
    # messages name a question by the definition's wording (a pipe's fallback)
    message = ("Child 2: Date of first contact with the child must be on or after the date "
               "of birth of the child (2 May 2021)")
    assert summary(html) == [("#q-kids--2-first_contact", message)]
    assert re.search(r'id="q-kids--2-first_contact-error" class="govuk-error-message">'
                     r'<span class="govuk-visually-hidden">Error:</span>\s*'
                     + re.escape(message), html)
    # what was typed is shown again, and nothing was stored
    assert re.search(r'name="q-kids--2-first_contact-year"[^>]*value="2020"', html)
    assert "Alex" not in named_page(alice, named_uid)
    typed.update({"q-kids--2-first_contact-year": "2021", "q-kids--2-first_contact-month": "6"})
    press_named(alice, named_uid, typed, instances=2)
    assert "Alex" in named_page(alice, named_uid)


def test_a_pipe_shows_each_instances_own_answer(alice, named_uid):
    press_named(alice, named_uid, {"q-kids--1-name": "Sam", "q-kids--2-name": "<b>Alex</b>",
                                   "q-kids--2-school": "no"}, instances=3)
    html = named_page(alice, named_uid)
    assert "Does Sam go to school or nursery?" in html
    assert "Does &lt;b&gt;Alex&lt;/b&gt; go to school or nursery?" in html
    assert "<b>Alex</b>" not in html.replace('value="<b>Alex</b>"', "")
    assert "Answer for Sam only." in html
    assert "Date of birth of Sam" in html and "Date of birth of &lt;b&gt;Alex&lt;/b&gt;" in html
    check = named_page(alice, named_uid, "check")
    assert "Child 1: Does Sam go to school or nursery?" in check
    assert "Child 2: Does &lt;b&gt;Alex&lt;/b&gt; go to school or nursery?" in check


def test_the_amendment_page_pipes_each_instances_answer(alice, named_uid):
    save_section(alice, named_uid, "details", {"f-assessment_date": "2026-03-12"})
    press_named(alice, named_uid, {"q-kids--1-name": "Sam", "q-kids--1-school": "yes",
                                   "q-kids--2-name": "Alex", "q-kids--2-school": "no"},
                instances=2)
    assert finalise(alice, named_uid).status_code == 302
    html = named_page(alice, named_uid, "amend")
    assert legends(html) == ["Child 1", "Child 2"]
    assert "Does Sam go to school or nursery?" in html
    assert "Does Alex go to school or nursery?" in html


def test_the_groups_buttons_and_messages_follow_the_language(alice, uid):
    """The page's own words around a group (remove, and add where the definition gives no
    add_label) and the check page's finalise messages are the application's, so they follow
    the switch; the definition's own words (this one's add_label) stay as a pack gives them."""
    from tests.web.test_welsh import to_welsh

    to_welsh(alice, f"/assessments/{uid}/sections/{PAGE}")
    html = page(alice, uid, "?instances=2")
    assert ">Tynnu child 1</button>" in html and ">Tynnu child 2</button>" in html
    assert "Remove child" not in html
    assert ">Add another child</button>" in html  # the definition's add_label
    assert 'aria-hidden="true">Cadw</button>' in html  # the hidden button Enter presses
    response = finalise(alice, uid)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "cyn cwblhau’r asesiad" in html and "before finalising" not in html
