"""A case's schedule comes from the instruments it follows; starting an assessment offers
only the chosen instrument's occasions (the next due chosen) and refuses a pair that does
not go together at the field, keeping both choices; finalising marks the entry done; a
draft on a closed case cannot be finalised."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import inspection as look
from formsengine.web import accounts

from .conftest import (
    DEFINITIONS,
    complete,
    create_case,
    finalise,
    post,
    save_section,
    start_assessment,
)
from .test_requests import HOSTILE

FOLLOW_UP = "Follow-up checklist"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The tests' instrument and a second one with occasions of its own."""
    folder = tmp_path_factory.mktemp("definitions")
    risk = json.loads((DEFINITIONS / "test-risk.json").read_text(encoding="utf-8"))
    (folder / "test-risk.json").write_text(json.dumps(risk), encoding="utf-8")
    other = copy.deepcopy(risk)
    other.update(id="test-followup", title=FOLLOW_UP, occasions=[
        {"id": "review", "label": "Review", "due": {"months": 1}},
        {"id": "exit", "label": "Exit", "due": {"weeks": 20}}])
    (folder / "test-followup.json").write_text(json.dumps(other), encoding="utf-8")
    return Engine(Settings(definitions_dir=folder), load_entrypoints=False)


def _start_form(page: str) -> str:
    return page.split('class="app-start"', 1)[1].split("</form>", 1)[0]


def _groups(form: str) -> dict[str, list[str]]:
    groups = re.findall(r'<optgroup label="[^"]*" data-instrument="([^"]+)">(.*?)</optgroup>',
                        form, flags=re.S)
    return {i: re.findall(r'<option value="([^"]+)"', body) for i, body in groups}


def _selected(form: str) -> list[tuple[str, str]]:
    """(instrument group, occasion) of each option shown as chosen in the occasion list."""
    out = []
    for inst, body in re.findall(r'data-instrument="([^"]+)">(.*?)</optgroup>', form, re.S):
        out += [(inst, v) for v in re.findall(r'<option value="([^"]+)" selected', body)]
    return out


def _schedule(page: str) -> list[tuple[str, str, str]]:
    """(assessment, occasion, status) of each schedule row: a table per assessment."""
    rows = []
    for table in page.split('id="schedule-')[1:]:
        title = table.split(">", 1)[1].split("<", 1)[0]
        body = table.split("</table>", 1)[0]
        rows += [(title, occasion, status) for occasion, status in re.findall(
            r'<th scope="row" class="govuk-table__header">([^<]*)</th>.*?govuk-tag[^>]*>([^<]*)<',
            body, flags=re.S)]
    return rows


def test_a_new_case_follows_the_organisations_default_instrument(alice, store):
    page = alice.get("/cases/new").get_data(as_text=True)
    assert "Assessments this case follows" in page
    assert "checked" not in page.split("Assessments this case follows", 1)[1].split(
        "</fieldset>", 1)[0]  # the default (DASH) is not installed here: nothing chosen
    assert "Intake at opening, Review at 3 months 3 months after opening" in page
    assert "Review 1 month after opening, Exit 20 weeks after opening" in page
    accounts.set_setting(store, "default_instrument", "test-followup", actor="test")
    page = alice.get("/cases/new").get_data(as_text=True)
    assert 'value="test-followup" checked' in page and 'value="test-risk" checked' not in page


def test_the_schedule_and_the_start_form_come_from_the_instruments_followed(alice, store):
    opened = dt.date.today() - dt.timedelta(days=20)
    case = create_case(alice, opened_on=opened.isoformat(),
                       instruments=["test-risk", "test-followup"])
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    # a table per assessment, the one with the first occasion due first
    assert _schedule(page) == [
        ("Test risk checklist", "Intake", "Overdue"),
        ("Test risk checklist", "Review at 3 months", "Upcoming"),
        ("Test risk checklist", "Closure", "Upcoming"),
        (FOLLOW_UP, "Review", "Due soon"), (FOLLOW_UP, "Exit", "Upcoming")]
    form = _start_form(page)
    assert _groups(form) == {
        "test-risk": ["intake", "review_3m", "closure", "after_incident"],
        "test-followup": ["review", "exit", "after_incident"]}
    assert _selected(form) == [("test-risk", "intake")]  # the case's next entry due
    assert re.search(r'value="test-followup" data-next="review"', form)
    assert "occasions.js" in page
    # finalising the intake marks it done and the next due is offered instead
    complete(alice, start_assessment(alice, case, "intake"))
    page = alice.get(f"/cases/{case}").get_data(as_text=True)
    assert _schedule(page)[0] == ("Test risk checklist", "Intake", "Done")
    form = _start_form(page)
    # the case's next entry due is now the follow-up's review; the risk checklist's own
    # next is its 3-month review
    assert _selected(form) == [("test-followup", "review")]
    assert re.search(r'<option value="test-followup" data-next="review" selected>', form)
    assert re.search(r'value="test-risk" data-next="review_3m"', form)
    assert "Intake (done)" in form


def test_an_assessment_after_an_incident_or_of_another_instrument_is_not_the_entry(alice):
    case = create_case(alice, instruments=["test-risk", "test-followup"])
    complete(alice, start_assessment(alice, case, "after_incident"))
    complete(alice, start_assessment(alice, case, "review", instrument="test-followup"))
    rows = _schedule(alice.get(f"/cases/{case}").get_data(as_text=True))
    done = [(a, o) for a, o, s in rows if s == "Done"]
    assert done == [(FOLLOW_UP, "Review")]  # not the test risk checklist's 3-month review


@pytest.mark.parametrize("occasion", ["intake", "review_3m", HOSTILE, "x" * 10_000])
def test_an_occasion_the_instrument_is_not_used_at_is_refused_at_the_field(
        alice, store, occasion):
    case = create_case(alice, instruments=["test-risk", "test-followup"])
    response = post(alice, f"/cases/{case}/assessments",
                    {"instrument": "test-followup", "occasion": occasion},
                    token_from=f"/cases/{case}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    message = (f"Choose an occasion at which {FOLLOW_UP} is used: Review, Exit or After a "
               "new incident")
    assert f'<a href="#occasion">{message}</a>' in page  # in the error summary
    assert 'id="occasion-error"' in page and page.count(message) == 2
    assert "<script>alert" not in page
    form = _start_form(page)
    # both choices kept: the instrument, and the occasion where it is offered at all
    assert re.search(r'<option value="test-followup" data-next="[^"]+" selected>', form)
    expected = [("test-risk", occasion)] if occasion in ("intake", "review_3m") else []
    assert _selected(form) == expected
    assert look.count(store, "assessments") == 0


def test_an_assessment_not_offered_is_refused_at_its_field(alice, store):
    case = create_case(alice, instruments=[])
    response = post(alice, f"/cases/{case}/assessments",
                    {"instrument": "nope", "occasion": "intake"}, token_from=f"/cases/{case}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<a href="#instrument">Choose an assessment from the list</a>' in page
    assert look.count(store, "assessments") == 0


def test_a_draft_on_a_closed_case_cannot_be_finalised(alice, store):
    case = create_case(alice)
    uid = start_assessment(alice, case, "intake")
    save_section(alice, uid, "details", {"f-assessment_date": "2025-01-06",
                                         "f-incidents_12m": "1"})
    save_section(alice, uid, "now", {"q-t-injury": "no", "q-t-frightened": "no"})
    save_section(alice, uid, "history", {"q-t-strangle": "no", "q-t-threat_kill": "no",
                                         "q-t-worse": "no"})
    today = dt.date.today()
    post(alice, f"/cases/{case}/close", {
        "reason": "support_completed", "closed_on-day": str(today.day),
        "closed_on-month": str(today.month), "closed_on-year": str(today.year)},
        token_from=f"/cases/{case}")
    response = finalise(alice, uid)
    assert response.status_code == 400
    page = response.get_data(as_text=True)  # the check page again, with the reason
    assert ("This case is closed, so its assessments cannot be finalised: reopen the case to "
            "finalise this one") in page
    row = look.first(store, "assessments", "status", "finalised_at", uid=uid)
    assert row == {"status": "draft", "finalised_at": None}
    assert look.count(store, "audit", action="lock") == 0


def test_the_default_instrument_is_an_organisation_setting(admin, alice, store):
    page = admin.get("/admin/").get_data(as_text=True)
    assert "Assessment chosen first" in page
    form = {"exit_url": "https://www.bbc.co.uk/weather", "default_instrument": "nope"}
    response = post(admin, "/admin/settings", form, token_from="/admin/")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<a href="#default_instrument">Choose the assessment chosen first from the list</a>' \
        in page and 'id="default_instrument-error"' in page
    assert accounts.get_setting(store, "default_instrument") == "dash-safelives"
    form["default_instrument"] = "test-followup"
    assert post(admin, "/admin/settings", form, token_from="/admin/").status_code == 302
    assert accounts.get_setting(store, "default_instrument") == "test-followup"
    page = alice.get("/cases/new").get_data(as_text=True)
    assert 'value="test-followup" checked' in page
    # a case with nothing due starts with the default instrument chosen
    case = create_case(alice, instruments=[])
    form = _start_form(alice.get(f"/cases/{case}").get_data(as_text=True))
    assert re.search(r'<option value="test-followup" data-next="review" selected>', form)
    assert _selected(form) == [("test-followup", "review")]
