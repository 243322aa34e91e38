"""What the details page fills in by itself (today's date for the assessment, and the date
of the last MARAC referral recorded by the case's latest finalised assessment) is not
filled in again once a person has saved the page with it emptied: the draft remembers the
choice, nothing is stored in its place, and giving a value later lifts it.

The instrument is docs/examples/definitions/prefill.json with a ``last_marac_referral``
field added (the field the details page carries forward)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import caseviews

from .conftest import create_case, finalise, save_section, start_assessment

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions" / \
    "prefill.json"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("definitions")
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["fields"].append({"id": "last_marac_referral", "type": "date",
                           "label": "Date of the last MARAC referral"})
    (folder / "prefill.json").write_text(json.dumps(data), encoding="utf-8")
    return Engine(Settings(definitions_dir=folder), load_entrypoints=False)


@pytest.fixture
def case(alice):
    return create_case(alice, instruments=["example-prefill"])


def details(client, uid) -> str:
    response = client.get(f"/assessments/{uid}/sections/details")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def year_of(text: str, field: str) -> str:
    found = re.search(rf'name="f-{field}-year"[^>]*?(?:value="([^"]*)")?\s*/?>', text)
    return found.group(1) or "" if found else ""


EMPTY_MARAC = {"f-last_marac_referral-day": "", "f-last_marac_referral-month": "",
               "f-last_marac_referral-year": ""}


def test_a_cleared_carried_field_is_not_filled_in_again(alice, case, store):
    first = start_assessment(alice, case, instrument="example-prefill")
    save_section(alice, first, "details", {"f-assessment_date": "2026-03-12",
                                           "f-last_marac_referral": "2026-01-10"})
    save_section(alice, first, "household", {"q-ex-children": "no",
                                             "q-ex-afraid_now": "no"})
    assert finalise(alice, first).status_code == 302
    uid = start_assessment(alice, case, occasion="review", instrument="example-prefill")
    text = details(alice, uid)
    assert year_of(text, "last_marac_referral") == "2026"
    assert "Carried forward from the assessment of 12 March 2026" in text
    # the practitioner knows the referral was withdrawn: the date is emptied and saved
    save_section(alice, uid, "details", {"f-assessment_date": "2026-06-12", **EMPTY_MARAC})
    text = details(alice, uid)
    assert year_of(text, "last_marac_referral") == ""
    assert "Carried forward from the assessment of" not in text
    row = store.get_assessment(caseviews.assessment_id(store, uid))
    assert "last_marac_referral" not in row["fields"]
    assert row["declined_fields"] == ["last_marac_referral"]
    audit = json.loads(store.audit_entries(action="update")[0]["details"])
    assert audit["offers_declined"] == {"fields": ["last_marac_referral"]}
    # saving the details again (the date corrected) does not bring it back
    save_section(alice, uid, "details", {"f-assessment_date": "2026-06-11", **EMPTY_MARAC})
    row = store.get_assessment(caseviews.assessment_id(store, uid))
    assert "last_marac_referral" not in row["fields"]
    # a value given later is an ordinary value, and lifts the mark
    save_section(alice, uid, "details", {"f-assessment_date": "2026-06-11",
                                         "f-last_marac_referral": "2026-05-02"})
    row = store.get_assessment(caseviews.assessment_id(store, uid))
    assert row["fields"]["last_marac_referral"] == "2026-05-02"
    assert row["declined_fields"] == []


def test_an_emptied_assessment_date_is_not_filled_with_today_again(alice, case, store):
    uid = start_assessment(alice, case, instrument="example-prefill")
    assert year_of(details(alice, uid), "assessment_date") == str(dt.date.today().year)
    save_section(alice, uid, "details", {"f-assessment_date-day": "",
                                         "f-assessment_date-month": "",
                                         "f-assessment_date-year": ""})
    assert year_of(details(alice, uid), "assessment_date") == ""
    row = store.get_assessment(caseviews.assessment_id(store, uid))
    assert "assessment_date" not in row["fields"]
    assert row["declined_fields"] == ["assessment_date"]


def test_nothing_is_declined_where_nothing_was_offered(alice, case, store):
    uid = start_assessment(alice, case, instrument="example-prefill")
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12", **EMPTY_MARAC})
    row = store.get_assessment(caseviews.assessment_id(store, uid))
    assert row["declined_fields"] == []
    assert "offers_declined" not in json.loads(
        store.audit_entries(action="update")[0]["details"])
