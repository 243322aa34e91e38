"""Checks on answers in the web form (docs/examples/definitions/answer_checks.json): an
exclusive "none of these" option, a text pattern and lengths, dates bounded by today and by
another date of the form, and questions required before finalising. A refused page comes
back with what was typed and the problem at its question; a draft is always saved."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine

from .conftest import DEFINITIONS, create_case, finalise, save_section, start_assessment

EXAMPLE = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"
           / "answer_checks.json")
INSTRUMENT = "example-answer-checks"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("definitions")
    shutil.copy(DEFINITIONS / "test-risk.json", folder)
    shutil.copy(EXAMPLE, folder)
    return Engine(Settings(definitions_dir=folder), load_entrypoints=False)


@pytest.fixture
def uid(alice):
    case = create_case(alice, instruments=[INSTRUMENT])
    return start_assessment(alice, case, instrument=INSTRUMENT)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def error_at(page: str, field_id: str) -> str:
    found = re.search(rf'id="{field_id}-error" class="govuk-error-message">'
                      r'<span class="govuk-visually-hidden">Error:</span>\s*([^<]*)</p>', page)
    assert found, f"no error shown at {field_id}"
    return found.group(1).strip()


def test_the_exclusive_option_comes_after_an_or_divider(alice, uid):
    page = alice.get(f"/assessments/{uid}/sections/contact").get_data(as_text=True)
    boxes = re.findall(r'<input class="govuk-checkboxes__input"[^>]*>', page)
    exclusive = [b for b in boxes if 'data-behaviour="exclusive"' in b]
    assert len(boxes) == 4 and len(exclusive) == 1 and 'value="none"' in exclusive[0]
    before_none = page[:page.index(exclusive[0])]
    assert re.search(r'<div class="govuk-checkboxes__divider">or</div>\s*'
                     r'<div class="govuk-checkboxes__item">\s*$', before_none)


def test_none_of_these_with_another_answer_is_refused_and_nothing_is_lost(alice, uid):
    response = save_section(alice, uid, "contact", {
        "q-ex-contact_ways": ["phone", "none"], "q-ex-safe_number": "07700 900123"},
        expect=400)
    page = text(response)
    assert error_at(page, "q-ex-contact_ways").startswith(
        "“None of these: only in person” cannot be chosen with another answer")
    assert '<a href="#q-ex-contact_ways">' in page  # linked from the error summary
    # what was typed is shown again
    assert re.search(r'value="phone" checked', page) and re.search(r'value="none"[^>]*checked',
                                                                     page)
    assert 'value="07700 900123"' in page or ">07700 900123</textarea>" in page
    # and nothing was stored
    again = alice.get(f"/assessments/{uid}/sections/contact").get_data(as_text=True)
    assert "checked" not in again
    save_section(alice, uid, "contact", {"q-ex-contact_ways": ["none"]})


@pytest.mark.parametrize(("typed", "message"), [
    ("call after 6", "Enter a UK phone number starting with 0, like 07700 900123"),
    ("0770", "Must be at least 10 characters long (it is 4)"),
    ("0770090012345678", "Is 16 characters long; the limit is 13"),
])
def test_a_text_answer_outside_its_pattern_or_lengths_is_refused(alice, uid, typed, message):
    response = save_section(alice, uid, "contact", {
        "q-ex-contact_ways": ["phone"], "q-ex-safe_number": typed}, expect=400)
    assert error_at(text(response), "q-ex-safe_number") == message
    save_section(alice, uid, "contact", {"q-ex-contact_ways": ["phone"],
                                         "q-ex-safe_number": "07700 900123"})


def test_dates_outside_their_range_are_refused_in_words(alice, uid):
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    response = save_section(alice, uid, "details", {
        "f-assessment_date": "2026-01-20", "f-referral_date": tomorrow}, expect=400)
    assert error_at(text(response), "f-referral_date") == (
        "Date of referral must not be in the future")
    save_section(alice, uid, "details", {"f-assessment_date": "2026-01-20",
                                         "f-referral_date": "2026-01-10"})
    response = save_section(alice, uid, "contact", {
        "q-ex-contact_ways": ["email"], "q-ex-first_contact": "2026-01-09",
        "q-ex-first_incident": "2025-06-01", "q-ex-latest_incident": "2025-05-31"},
        expect=400)
    page = text(response)
    assert error_at(page, "q-ex-first_contact") == (
        "Date of the first contact must be on or after the date of referral (10 January 2026)")
    assert error_at(page, "q-ex-latest_incident") == (
        "Date of the latest incident must be on or after the date of the first incident "
        "(1 June 2025)")
    assert '<a href="#q-ex-first_contact">' in page
    save_section(alice, uid, "contact", {
        "q-ex-contact_ways": ["email"], "q-ex-first_contact": "2026-01-10",
        "q-ex-first_incident": "2025-06-01", "q-ex-latest_incident": "2025-06-01"})


def test_finalising_waits_for_the_required_questions_with_links_to_them(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-01-20"})
    save_section(alice, uid, "feelings", {"q-ex-sleep_well": "4"})  # a draft is saved
    response = finalise(alice, uid)
    assert response.status_code == 400
    page = text(response)
    start = page.index('class="govuk-error-summary"')
    summary = page[start:page.index("</ul>", start)]
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', summary)
    assert links == [
        (f"/assessments/{uid}/sections/contact?back=check#q-ex-contact_ways",
         "Answer “How can the service contact the person safely?” before finalising the "
         "assessment"),
        (f"/assessments/{uid}/sections/feelings?back=check#q-ex-feel_safe",
         "Answer “I feel safe at home” before finalising the assessment "
         "(‘not known’ is an answer)"),
    ]
    assert alice.get(links[0][0].split("#")[0]).status_code == 200
    save_section(alice, uid, "contact", {"q-ex-contact_ways": ["none"]})
    save_section(alice, uid, "feelings", {"q-ex-feel_safe": "not_known",
                                          "q-ex-sleep_well": "4"})
    response = finalise(alice, uid)
    assert response.status_code == 302, text(response)[:2000]
    assert response.headers["Location"].endswith(f"/assessments/{uid}/result")


def test_a_changed_date_that_puts_another_page_out_of_range_links_to_it(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-01-20",
                                         "f-referral_date": "2026-01-10"})
    save_section(alice, uid, "contact", {"q-ex-contact_ways": ["email"],
                                         "q-ex-first_contact": "2026-01-12"})
    response = save_section(alice, uid, "details", {
        "f-assessment_date": "2026-01-20", "f-referral_date": "2026-01-15"}, expect=400)
    page = text(response)
    assert (f'<a href="/assessments/{uid}/sections/contact#q-ex-first_contact">Date of the '
            "first contact must be on or after the date of referral (15 January 2026)</a>"
            in page)
    # what was typed is shown again, and nothing was stored
    assert re.search(r'id="f-referral_date" name="f-referral_date-day"[^>]*value="15"', page)
    again = alice.get(f"/assessments/{uid}/sections/details").get_data(as_text=True)
    assert re.search(r'id="f-referral_date" name="f-referral_date-day"[^>]*value="10"', again)
