"""Dates are entered as the GOV.UK date input: day, month and year boxes, read as one ISO
date; what was typed is shown again with one plain message when it is not a real date, and
nothing is saved."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from markupsafe import escape

from formsengine.dates import date_text
from formsengine.store import inspection as look
from formsengine.web.dates import read_parts

from .conftest import create_case, post, save_section, start_assessment
from .test_requests import assert_nothing_saved


@pytest.mark.parametrize("typed, expected", [
    (["6", "1", "2025"], ("2025-01-06", None)),
    ([" 06 ", "01", "2025 "], ("2025-01-06", None)),
    (["29", "2", "2024"], ("2024-02-29", None)),
    (["", "", ""], (None, None)),
    (["  ", "", " "], (None, None)),
    (["", "3", "2025"], (None, "Opened must include a day")),
    (["7", "", ""], (None, "Opened must include a month and a year")),
    (["29", "2", "2025"], (None, "Opened must be a real date")),
    (["31", "4", "2025"], (None, "Opened must be a real date")),
    (["1", "13", "2025"], (None, "Opened must be a real date")),
    (["0", "1", "2025"], (None, "Opened must be a real date")),
    (["1", "1", "25"], (None, "Year must include 4 numbers")),
    (["1", "1", "9" * 5000], (None, "Year must include 4 numbers")),
    (["first", "1", "2025"], (None, "Opened must be a real date, written in numbers")),
    (["-1", "1", "2025"], (None, "Opened must be a real date, written in numbers")),
    (["001", "1", "2025"], (None, "Opened must be a real date, written in numbers")),
    (["\u0663", "1", "2025"], (None, "Opened must be a real date, written in numbers")),
    (["\u00b2", "1", "2025"], (None, "Opened must be a real date, written in numbers")),
])
def test_reading_the_three_boxes(typed, expected):
    assert read_parts(typed, "Opened") == expected


@pytest.mark.parametrize("value, shown", [
    ("2025-01-06", "6 January 2025"),
    (dt.date(2024, 12, 31), "31 December 2024"),
    (dt.datetime(2025, 3, 1, 23, 59), "1 March 2025"),
    ("2025-11-22T10:00:00Z", "22 November 2025"),
    ("", ""),
    (None, ""),
    ("not known", "not known"),
    ("2025-02-30", "2025-02-30"),
])
def test_dates_are_shown_as_gov_uk_style_writes_them(value, shown):
    assert date_text(value) == shown


def test_check_your_answers_shows_dates_in_words(alice):
    uid = start_assessment(alice, create_case(alice))
    save_section(alice, uid, "details", {"f-assessment_date-day": "6",
                                         "f-assessment_date-month": "1",
                                         "f-assessment_date-year": "2025"})
    page = alice.get(f"/assessments/{uid}/check").get_data(as_text=True)
    assert "6 January 2025" in page and "2025-01-06" not in page


def test_case_pages_show_dates_in_words(alice):
    case = create_case(alice, opened_on="2025-01-06")
    assert "6 January 2025" in alice.get(f"/cases/{case}").get_data(as_text=True)
    assert "6 January 2025" in alice.get("/").get_data(as_text=True)


def _new_case_form(client):
    page = client.get("/cases/new").get_data(as_text=True)
    team = re.search(r'name="team" value="(\d+)"', page) or re.search(
        r'<option value="(\d+)"', page)
    practitioner = re.search(r'id="practitioner" name="practitioner">\s*<option value="(\d+)"',
                             page)
    return page, {"victim_survivor": "y", "schedule": ["intake"], "team": team.group(1),
                  "practitioner": practitioner.group(1)}


def test_the_new_case_page_shows_three_labelled_boxes(alice):
    page, _ = _new_case_form(alice)
    for part, box_id in (("day", "opened_on"), ("month", "opened_on-month"),
                         ("year", "opened_on-year")):
        box = re.search(rf'<input[^>]*\bname="opened_on-{part}"[^>]*>', page).group(0)
        assert f'id="{box_id}"' in box and 'inputmode="numeric"' in box
        assert f'<label class="govuk-label govuk-date-input__label" for="{box_id}">' in page
    assert re.search(r'<fieldset class="govuk-fieldset" role="group"'
                     r' aria-describedby="opened_on-hint">\s*<legend', page)
    assert "For example, 27 3 2025" in page
    assert 'name="opened_on"' not in page  # no single date box any more


def test_a_case_is_created_from_the_three_boxes(alice, store):
    _, data = _new_case_form(alice)
    data.update({"opened_on-day": "7", "opened_on-month": "3", "opened_on-year": "2025"})
    response = post(alice, "/cases/new", data, token_from="/cases/new")
    assert response.status_code == 302
    assert look.value(store, "cases", "opened_on") == "2025-03-07"


@pytest.mark.parametrize("parts, message", [
    (('"><script>alert(1)</script>', "2", "2025"),
     "Date the case was opened must be a real date, written in numbers"),
    (("31", "2", "2025"), "Date the case was opened must be a real date"),
    (("", "2", "2025"), "Date the case was opened must include a day"),
    (("1", "2", "25"), "Year must include 4 numbers"),
    (("", "", ""), "Enter the date the case was opened"),
])
def test_a_case_with_a_date_that_is_not_real_is_refused(alice, store, parts, message):
    _, data = _new_case_form(alice)
    data.update(dict(zip(("opened_on-day", "opened_on-month", "opened_on-year"), parts)))
    response = post(alice, "/cases/new", data, token_from="/cases/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count(message) >= 2  # in the error summary and at the boxes
    assert '<a href="#opened_on">' in page  # the summary links to the day box
    assert "<script>alert(1)" not in page  # what was typed is escaped when shown again
    for part, value in zip(("day", "month", "year"), parts):  # shown as typed
        assert re.search(rf'name="opened_on-{part}"[^>]*value="{re.escape(escape(value))}"',
                         page)
    assert look.count(store, "cases") == 0


def test_an_instrument_date_is_entered_in_three_boxes(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    page = alice.get(f"/assessments/{uid}/sections/details").get_data(as_text=True)
    assert 'name="f-assessment_date-year"' in page
    save_section(alice, uid, "details", {"f-assessment_date-day": "6",
                                         "f-assessment_date-month": "1",
                                         "f-assessment_date-year": "2025",
                                         "f-incidents_12m": "2"})
    fields = look.value(store, "assessments", "fields", uid=uid)
    assert '"assessment_date": "2025-01-06"' in fields
    page = alice.get(f"/assessments/{uid}/sections/details").get_data(as_text=True)
    assert re.search(r'name="f-assessment_date-day"[^>]*value="6"', page)
    assert re.search(r'name="f-assessment_date-month"[^>]*value="1"', page)
    assert re.search(r'name="f-assessment_date-year"[^>]*value="2025"', page)


def test_an_instrument_date_that_is_not_real_saves_nothing(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case)
    look.change_rows(store, "assessments", {"fields": "{}"}, uid=uid)
    response = save_section(alice, uid, "details", {"f-assessment_date-day": "30",
                                                    "f-assessment_date-month": "2",
                                                    "f-assessment_date-year": "2025",
                                                    "f-incidents_12m": "2"}, expect=400)
    page = response.get_data(as_text=True)
    assert "Date of this assessment must be a real date" in page
    assert re.search(r'name="f-assessment_date-day"[^>]*value="30"', page)
    assert_nothing_saved(store)


def test_an_assessment_date_in_the_future_is_refused_at_its_field(alice, store):
    uid = start_assessment(alice, create_case(alice))
    look.change_rows(store, "assessments", {"fields": "{}"}, uid=uid)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    response = save_section(alice, uid, "details", {
        "f-assessment_date-day": str(tomorrow.day),
        "f-assessment_date-month": str(tomorrow.month),
        "f-assessment_date-year": str(tomorrow.year), "f-incidents_12m": "2"}, expect=400)
    page = response.get_data(as_text=True)
    message = "Date of this assessment must be today or in the past"
    assert 'id="f-assessment_date-error"' in page and message in page
    assert re.search(rf'name="f-assessment_date-day"[^>]*value="{tomorrow.day}"', page)
    assert_nothing_saved(store)
    today = dt.date.today()
    save_section(alice, uid, "details", {
        "f-assessment_date-day": str(today.day), "f-assessment_date-month": str(today.month),
        "f-assessment_date-year": str(today.year), "f-incidents_12m": "2"})


def test_the_core_refuses_a_future_assessment_date_whatever_sends_it(engine):
    from formsengine.errors import SubmissionError

    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with pytest.raises(SubmissionError) as err:
        engine.check({"instrument": "test-risk", "answers": {},
                      "fields": {"assessment_date": tomorrow}})
    assert ("field assessment_date: Date of this assessment must be today or in the past"
            in str(err.value))


def test_an_amendment_takes_its_date_from_the_three_boxes(alice, store):
    from .conftest import complete

    uid = start_assessment(alice, create_case(alice))
    complete(alice, uid)
    page = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    assert re.search(r'name="f-assessment_date-day"[^>]*value="6"', page)  # as stored
    form = {"f-assessment_date-day": "7", "f-assessment_date-month": "1",
            "f-assessment_date-year": "2025", "q-t-injury": "no", "q-t-frightened": "no",
            "q-t-strangle": "no", "q-t-threat_kill": "no", "q-t-worse": "no",
            "reason": "The date was entered wrongly"}
    response = post(alice, f"/assessments/{uid}/amend", form,
                    token_from=f"/assessments/{uid}/amend")
    assert response.status_code == 302
    row = look.first(store, "assessments", "assessment_date", status="final")
    assert row["assessment_date"] == "2025-01-07"
