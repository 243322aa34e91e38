"""A repeating group on the section page without JavaScript: one fieldset per instance
("Child 1", "Child 2"), "Add another child" and "Remove" buttons that save the page and show
it again (typed answers kept, later instances moved up), the group's minimum and maximum,
the instances on check your answers and in the result, and answers stored as
``children[n].<item>``.

The instrument is docs/examples/definitions/household.json, the documented example."""

from __future__ import annotations

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
    assert "children (at least 1)" in response.get_data(as_text=True)


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
