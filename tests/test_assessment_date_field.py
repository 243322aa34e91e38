"""Every assessment is dated by the date it describes: the definition's
``assessment_date_field`` (``assessment_date`` unless it names another), never the time the
assessment was entered."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json

import pytest

from formsengine.compare import history
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.errors import DefinitionError, SubmissionError
from formsengine.exports.keys import create_key_file
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.importer import import_file
from formsengine.instruments import build_instrument
from formsengine.store import Store
from formsengine.store import inspection as look

from .conftest import DefinitionsPlugin, make_engine

BEHAVIOURS = ("physical", "sexual", "harassment_stalking", "jealousy_control")


def _closure(person: str, closure_date: str) -> dict:
    return {"person": person, "role": "service_user", "occasion": "closure",
            "instrument": "drive-closure",
            "answers": {"drive_closure.risk_change": "reduced_slightly",
                        "drive_closure.direct_contact": "yes",
                        "drive_closure.engagement": "partial",
                        "drive_closure.behaviour_change_work": "yes",
                        "drive_closure.step_down": "no"},
            "fields": {"closure_date": closure_date}}


def _intake(person: str, date: str) -> dict:
    return {"person": person, "role": "service_user", "occasion": "intake",
            "instrument": "drive-behaviours",
            "answers": {f"drive_behaviours.{b}": "none" for b in BEHAVIOURS},
            "fields": {"assessment_date": date}}


@pytest.fixture(scope="module")
def shipped() -> Engine:
    return Engine(Settings())


def test_drive_closure_is_dated_by_its_closure_date(shipped):
    inst = shipped.instruments.get("drive-closure")
    assert inst.assessment_date_field == "closure_date"
    assert shipped.instruments.get("drive-behaviours").assessment_date_field == "assessment_date"


def test_imported_closure_day_in_research_export_is_its_closure_date(shipped, tmp_path):
    store = Store.open(tmp_path / "x.db", shipped, create=True)
    lines = []
    for n in range(5):  # five people: the export's default k
        lines += [_intake(f"SU-{n}", "2025-01-05"), _closure(f"SU-{n}", "2025-11-01")]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    import_file(store, tmp_path / "in.jsonl", actor="test")
    stored = look.rows(store, "assessments", "assessment_date", instrument_id="drive-closure")
    assert {r["assessment_date"] for r in stored} == {"2025-11-01"}
    key = tmp_path / "k.key"
    create_key_file(key, "p")
    out = tmp_path / "out"
    export_research(store, ResearchOptions(project="p", out=out, key_file=key,
                                           purpose="closure dates in the export",
                                           codebook_pdf=False, formats=["csv"]))
    offset = (dt.date(2025, 11, 1) - dt.date(2025, 1, 5)).days
    with (out / "items_drive_closure.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    assert {(r["day"], r["closure_date"]) for r in rows} == {(str(offset), str(offset))}
    with (out / "scores_long.csv").open() as fh:
        days = {r["day"] for r in csv.DictReader(fh) if r["instrument"] == "drive-closure"}
    assert days == {str(offset)}
    # comparisons over time are dated by it too
    h = history(store, "SU-1", "drive-closure")
    assert [o["date"] for o in h["occasions"]] == ["2025-11-01"]
    store.close()


def test_closure_date_cannot_be_in_the_future(shipped):
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    data = _closure("SU-1", future)
    with pytest.raises(SubmissionError, match="must be today or in the past"):
        shipped.check(data)


def test_declared_field_must_be_a_date_field(toy):
    bad = copy.deepcopy(toy)
    bad["assessment_date_field"] = "incidents"
    with pytest.raises(DefinitionError, match=r"assessment_date_field: 'incidents' is not a date "
                                              r"field \(date fields: assessment_date, "
                                              r"last_referral\)"):
        build_instrument(bad, plugin="t", plugin_version="1", source=None)
    good = copy.deepcopy(toy)
    good["assessment_date_field"] = "last_referral"
    inst = build_instrument(good, plugin="t", plugin_version="1", source=None)
    assert inst.fields["last_referral"].assessment_date
    assert not inst.fields["assessment_date"].assessment_date


def test_store_and_drafts_use_the_declared_field(toy, tmp_path):
    dated = copy.deepcopy(toy)
    dated["assessment_date_field"] = "last_referral"
    store = Store.open(tmp_path / "d.db", make_engine(DefinitionsPlugin(dated)), create=True)
    data = {"instrument": "toy-checklist", "answers": {"toy.a": "no"},
            "fields": {"assessment_date": "2026-01-10", "last_referral": "2025-12-01"}}
    inst, sub = store.engine.check(data)
    pid = store.ensure_person("VS-1", "victim_survivor")
    aid = store.create_assessment(inst, sub, person_id=pid, occasion="intake", status="draft")
    assert store.get_assessment(aid)["assessment_date"] == "2025-12-01"
    data["fields"]["last_referral"] = "2025-12-02"
    _, sub = store.engine.check(data)
    store.update_draft(aid, sub, expected_revision=1, actor="t")
    assert store.get_assessment(aid)["assessment_date"] == "2025-12-02"
    store.close()


def test_older_assessments_are_dated_by_the_declared_field_at_first_open(toy, tmp_path):
    """An assessment stored before the definition declared its date field (or before the
    store read it) is dated by that field when the database is first opened."""
    dated = copy.deepcopy(toy)
    dated["assessment_date_field"] = "last_referral"
    path = tmp_path / "d.db"
    store = Store.open(path, make_engine(DefinitionsPlugin(dated)), create=True)
    inst, sub = store.engine.check({"instrument": "toy-checklist", "answers": {},
                                    "fields": {"assessment_date": "2026-01-10",
                                               "last_referral": "2025-12-01"}})
    aid = store.create_assessment(inst, sub, occasion="intake", status="draft",
                                  person_id=store.ensure_person("VS-1", "victim_survivor"))
    # as stored before snapshots and date fields
    look.change_rows(store, "assessments", {"snapshot_id": None, "assessment_date": None})
    look.delete_rows(store, "definition_snapshots")
    store.close()
    store = Store.open(path, make_engine(DefinitionsPlugin(dated)))
    assert store.get_assessment(aid)["assessment_date"] == "2025-12-01"
    store.close()


def test_web_details_page_offers_today_for_the_declared_date_field(tmp_path):
    """A closure record started on the web has today's date offered in its closure date
    (the field that dates it), as an assessment date is offered elsewhere."""
    import re

    from formsengine.web import create_app

    from .web.conftest import (
        DEFINITIONS,
        FAST_HASH,
        create_case,
        login,
        make_user,
        save_section,
        start_assessment,
    )

    engine = Engine(Settings(definitions_dir=DEFINITIONS))  # with the shipped plugins
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"),
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})
    store = Store.open(app.config["DATABASE"], engine)
    make_user(store, "alice")
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    case = create_case(client, victim_survivor="", service_user="y",
                       instruments=["drive-closure"])
    uid = start_assessment(client, case, occasion="closure", instrument="drive-closure")
    from formsengine.web.formbuild import DETAILS as details

    form = client.get(f"/assessments/{uid}/sections/{details}").get_data(as_text=True)
    today = dt.date.today()
    field = re.search(r'<input[^>]*name="f-closure_date[^"]*"[^>]*>', form)
    assert field is not None, form[:2000]
    shown = " ".join(re.findall(r'<input[^>]*name="f-closure_date[^"]*"[^>]*value="([^"]*)"',
                                form))
    assert (today.isoformat() in shown
            or all(str(part) in shown for part in (today.day, today.month, today.year)))
    # saved as offered, the closure is dated by it
    save_section(client, uid, details, {"f-closure_date": "2025-11-01"})
    row = look.first(store, "assessments", "assessment_date", uid=uid)
    assert row["assessment_date"] == "2025-11-01"
    store.close()


def test_closures_of_version_1_0_are_dated_once_moved_to_1_1(shipped, tmp_path):
    """drive-closure 1.0 declares no date field (its closures were dated by the day they
    were entered); moving them to 1.1, the documented migration step, dates them by their
    closure date."""
    from formsengine.store.snapshots import move_to_version

    store = Store.open(tmp_path / "m.db", shipped, create=True)
    line = {**_closure("SU-1", "2025-11-01"), "version": "1.0"}
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    import_file(store, tmp_path / "in.jsonl", actor="test")
    old = look.first(store, "assessments", "id", "assessment_date")
    assert old["assessment_date"] is None
    (new_id,) = move_to_version(store, "drive-closure", "1.1", actor="test")
    moved = store.get_assessment(new_id)
    assert (moved["instrument_version"], moved["assessment_date"]) == ("1.1", "2025-11-01")
    assert store.get_assessment(old["id"])["status"] == "superseded"
    store.close()
