"""Calculated values and piping on the pages of an assessment being completed (the example
definition docs/examples/definitions/calculated.json): the section page and the check page
show the scores the section names, computed on the server from the answers saved so far and
marked provisional; later labels and hints show earlier answers, escaped."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine

from .conftest import create_case, post, save_section, start_assessment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"
HOSTILE = '<script>alert("x")</script> & <b>Sam</b>'


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


@pytest.fixture
def draft(alice):
    case = create_case(alice, instruments=["example-calculated"])
    return start_assessment(alice, case, instrument="example-calculated")


def calculated(page: str) -> dict[str, str]:
    """Each calculated value the page shows: label -> value, with its tag."""
    box = re.findall(r'<div class="app-calculated" data-calculated>(.*?)</dl>', page, re.S)
    out = {}
    for part in box:
        for label, value, tag in re.findall(
                r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*<dd[^>]*>'
                r'<span class="app-calculated__value">(.*?)</span> '
                r'<strong class="govuk-tag[^"]*">(.*?)</strong>', part, re.S):
            out[html.unescape(label)] = f"{html.unescape(value)} ({tag})"
    return out


def page(client, uid, section):
    response = client.get(f"/assessments/{uid}/sections/{section}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_section_shows_its_values_from_the_saved_answers_and_they_change_on_save(
        alice, draft):
    first = calculated(page(alice, draft, "child"))
    assert first == {"Age of the youngest child, in whole years": "Not known yet (Provisional)"}
    save_section(alice, draft, "details", {"f-assessment_date": "2025-03-01",
                                           "f-date_of_birth": "2008-02-29"})
    save_section(alice, draft, "child", {"q-ex-child_born-day": "29",
                                         "q-ex-child_born-month": "2",
                                         "q-ex-child_born-year": "2024"})
    # 29 February 2024 to 1 March 2025: one whole year
    assert calculated(page(alice, draft, "child")) == {
        "Age of the youngest child, in whole years": "1 (Provisional)"}
    worries = page(alice, draft, "worries")
    assert calculated(worries) == {"Worry score": "0 (Provisional)",
                                   "Age of the person assessed": "17 (Provisional)"}
    save_section(alice, draft, "worries", {"q-ex-worry_home": "often",
                                           "q-ex-worry_out": "sometimes"})
    assert calculated(page(alice, draft, "worries"))["Worry score"] == "3 (Provisional)"
    # the day before the birthday: the age goes down again
    save_section(alice, draft, "details", {"f-assessment_date": "2025-02-28",
                                           "f-date_of_birth": "2008-02-29"})
    assert calculated(page(alice, draft, "worries"))["Age of the person assessed"] == (
        "16 (Provisional)")


def test_the_check_page_shows_each_sections_values(alice, draft):
    save_section(alice, draft, "details", {"f-assessment_date": "2025-06-30"})
    save_section(alice, draft, "worries", {"q-ex-worry_home": "often", "q-ex-worry_out": "often",
                                           "q-ex-worry_child": "sometimes"})
    check = alice.get(f"/assessments/{draft}/check").get_data(as_text=True)
    assert calculated(check) == {
        "Age of the youngest child, in whole years": "Not known yet (Provisional)",
        "Worry score": "5 (Provisional)",
        "Age of the person assessed": "Not known yet (Provisional)"}
    # values the engine scored: the same as the result shown for finalising now
    assert "Worry score" in check and "High" in check


def test_a_section_without_calculated_values_shows_none(alice, draft):
    assert 'data-calculated' not in page(alice, draft, "details")


def test_later_labels_show_the_earlier_answer_escaped(alice, draft):
    before = page(alice, draft, "child")
    assert "When was the youngest child born?" in before
    assert "Answer about the child as things are on the date of the assessment." in before
    save_section(alice, draft, "details", {"f-assessment_date": "2025-06-30"})
    save_section(alice, draft, "child", {"q-ex-child_name": HOSTILE})
    after = page(alice, draft, "child")
    assert "<script>alert" not in after and "<b>Sam</b>" not in after
    escaped = html.escape(HOSTILE, quote=False)
    assert f"When was {escaped} born?" in after.replace("&#34;", '"').replace("&quot;", '"')
    assert "as things are on 30 June 2025." in after
    worries = page(alice, draft, "worries")
    assert "<script>alert" not in worries
    assert "How often do you worry about &lt;script&gt;" in worries
    check = alice.get(f"/assessments/{draft}/check").get_data(as_text=True)
    assert "<script>alert" not in check and "<b>Sam</b>" not in check
    assert "Does &lt;script&gt;" in check


def test_a_not_known_answer_pipes_the_fallback(alice, draft, engine):
    # a text answer that is only spaces is no answer: the fallback stays
    save_section(alice, draft, "child", {"q-ex-child_name": "Robin"})
    assert "When was Robin born?" in page(alice, draft, "child")
    save_section(alice, draft, "child", {"q-ex-child_name": ""})
    assert "When was the youngest child born?" in page(alice, draft, "child")


def test_the_form_class_keeps_the_definitions_wording(alice, draft, app):
    """Labels are piped on each request's own fields: another assessment of the same
    instrument never sees this one's answer."""
    save_section(alice, draft, "child", {"q-ex-child_name": "Robin"})
    other = start_assessment(alice, create_case(alice, instruments=["example-calculated"]),
                             instrument="example-calculated")
    assert "When was the youngest child born?" in page(alice, other, "child")
    assert "Robin" not in page(alice, other, "child")
    assert "When was Robin born?" in page(alice, draft, "child")


def test_a_refused_save_shows_the_saved_answers_values(alice, draft):
    save_section(alice, draft, "details", {"f-assessment_date": "2025-06-30"})
    save_section(alice, draft, "child", {"q-ex-child_born-day": "30",
                                         "q-ex-child_born-month": "6",
                                         "q-ex-child_born-year": "2020"})
    text = page(alice, draft, "child")
    revision = re.search(r'name="revision" value="(\d+)"', text).group(1)
    response = post(alice, f"/assessments/{draft}/sections/child",
                     {"revision": revision, "q-ex-child_born-day": "31",
                      "q-ex-child_born-month": "2", "q-ex-child_born-year": "2021"},
                     token_from=f"/assessments/{draft}/sections/child")
    assert response.status_code == 400
    assert calculated(response.get_data(as_text=True)) == {
        "Age of the youngest child, in whole years": "5 (Provisional)"}


def test_the_amendment_page_pipes_the_final_answers(alice, draft):
    save_section(alice, draft, "details", {"f-assessment_date": "2025-06-30"})
    save_section(alice, draft, "child", {"q-ex-child_name": "Robin", "q-ex-child_school": "yes"})
    save_section(alice, draft, "worries", {"q-ex-worry_home": "never", "q-ex-worry_out": "never",
                                           "q-ex-worry_child": "never"})
    from .conftest import finalise

    assert finalise(alice, draft).status_code == 302
    result = alice.get(f"/assessments/{draft}/result").get_data(as_text=True)
    assert "Does Robin go to school or nursery?" in result
    amend = alice.get(f"/assessments/{draft}/amend").get_data(as_text=True)
    assert "When was Robin born?" in amend
