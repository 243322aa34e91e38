"""Occasions: declared in a definition (an identifier, or an object with a label and a due
offset), changed per instrument by the organisation's configuration (a bad one refused at
start-up with where it is), the documented example loads, and the store marks a schedule
entry done when it finalises that assessment and refuses to finalise on a closed case."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from formsengine.config import OrgConfig, Settings, resolve_occasions
from formsengine.engine import Engine, PluginLoadError
from formsengine.errors import CaseClosedError, ConfigError, DefinitionError
from formsengine.instruments import build_instrument
from formsengine.occasions import Occasion, declared
from formsengine.store import Store
from formsengine.store import inspection as look

ROOT = Path(__file__).resolve().parent.parent
WEB_DEFINITIONS = ROOT / "tests" / "web" / "definitions"
TEST_RISK = json.loads((WEB_DEFINITIONS / "test-risk.json").read_text(encoding="utf-8"))


def documented_example() -> list:
    """The occasions example of docs/definitions.md."""
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.S)
              if b.lstrip().startswith('{"occasions"')]
    assert len(blocks) == 1
    return blocks[0]["occasions"]


def definition(occasions, **extra):
    data = copy.deepcopy(TEST_RISK)
    data.update(occasions=occasions, **extra)
    return data


def build(data):
    return build_instrument(data, plugin="tests", plugin_version="1", source="t.json")


def test_the_documented_example_loads_and_is_what_dash_declares():
    inst = build(definition(documented_example()))
    assert [(o.id, o.label, o.due) for o in inst.declared_occasions] == [
        ("intake", "Intake", ("months", 0)), ("review", "Review", ("months", 3)),
        ("after_incident", "After a new incident", None), ("exit", "Exit", ("months", 6))]
    assert inst.occasions == ["intake", "review", "after_incident", "exit"]
    engine = Engine(load_entrypoints=True)
    shipped = engine.instruments.get("dash-safelives").definition["occasions"]
    assert shipped == documented_example()


def test_identifiers_alone_keep_the_standard_offsets():
    intake, review, week, own = declared(
        {"occasions": ["intake", "review_3m", "week_32", "own_occasion"]})
    assert (intake.due, review.due, week.due, own.due) == (
        ("months", 0), ("months", 3), ("weeks", 32), None)
    assert review.label == "Review at 3 months" and own.label == "Own occasion"
    assert week.due_date("2025-01-06") == dt.date(2025, 8, 18)
    assert own.due_date("2025-01-06") is None and own.when() == "when needed"
    assert Occasion("x", "X", ("months", 1)).when() == "1 month after opening"
    assert intake.when() == "at opening"


@pytest.mark.parametrize("occasions,problem", [
    (["intake", "intake"], "occasion 'intake' is declared twice"),
    ([{"id": "intake"}, "intake"], "occasion 'intake' is declared twice"),
    ([{"id": "after_incident", "due": {"months": 1}}], "after_incident is used when needed"),
    ([{"id": "review", "due": {"months": 1, "weeks": 2}}], "$.occasions[0]"),
    ([{"id": "review", "due": {"days": 10}}], "$.occasions[0]"),
    ([{"id": "review", "due": {"months": 121}}], "$.occasions[0]"),
    ([{"id": "review", "due": {"weeks": -1}}], "$.occasions[0]"),
    ([{"id": "Review"}], "$.occasions[0]"),
    ([{"id": "review", "when": 3}], "$.occasions[0]"),
    ([], "$.occasions"),
])
def test_a_bad_occasion_is_refused_with_where_it_is(occasions, problem):
    with pytest.raises(DefinitionError) as err:
        build(definition(occasions))
    assert problem in str(err.value)


def test_configuration_changes_the_offsets_of_one_instrument():
    config = OrgConfig.from_dict({"instruments": {"test-risk": {"occasions": {
        "review_3m": {"months": 4}, "closure": {"weeks": 30}}}}})
    engine = Engine(Settings(definitions_dir=WEB_DEFINITIONS), load_entrypoints=False,
                    org_config=config)
    inst = engine.instruments.get("test-risk")
    assert [(o.id, o.due) for o in engine.occasions_for(inst)] == [
        ("intake", ("months", 0)), ("review_3m", ("months", 4)), ("closure", ("weeks", 30))]
    # the definition itself is unchanged
    assert [o.due for o in inst.declared_occasions][1] == ("months", 3)


@pytest.mark.parametrize("occasions,message", [
    ({"review_3m": {"days": 3}}, "instruments.test-risk.occasions.review_3m must be a table "
                                 "with one of months or weeks"),
    ({"review_3m": 3}, "instruments.test-risk.occasions.review_3m must be a table"),
    ({"review_3m": {"months": 2.5}}, "months must be a whole number from 0 to 120, not 2.5"),
    ({"review_3m": {"months": True}}, "months must be a whole number"),
    ({"review_3m": {"weeks": 600}}, "weeks must be a whole number from 0 to 520"),
    ({"review_3m": {"months": 1, "weeks": 1}}, "one of months or weeks"),
    ("six months", "[instruments.test-risk.occasions] must be a table of occasions"),
])
def test_a_malformed_occasion_configuration_is_refused_clearly(occasions, message):
    with pytest.raises(ConfigError) as err:
        OrgConfig.from_dict({"instruments": {"test-risk": {"occasions": occasions}}},
                            where="org.toml")
    assert str(err.value).startswith("org.toml: ") and message in str(err.value)


def test_an_occasion_the_instrument_does_not_declare_is_refused_at_start_up(tmp_path):
    path = tmp_path / "org.toml"
    path.write_text('[organisation]\nname = "Area"\n'
                    '[instruments.test-risk.occasions]\nexit = {months = 6}\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        Engine(Settings(definitions_dir=WEB_DEFINITIONS, config_file=path),
               load_entrypoints=False)
    assert str(err.value) == (
        "configuration 'Area': instrument test-risk v1.0 has no occasion 'exit' "
        "(occasions: intake, review_3m, closure)")
    path.write_text('[instruments.test-risk.occasions]\nafter_incident = {months = 6}\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="after_incident is used when needed"):
        resolve_occasions(build(definition(["intake", "after_incident"])),
                          {"after_incident": {"months": 6}})
    path.write_text('[instruments.nothing-here.occasions]\nintake = {months = 1}\n',
                    encoding="utf-8")
    with pytest.raises(PluginLoadError, match="'nothing-here', which no plugin registered"):
        Engine(Settings(definitions_dir=WEB_DEFINITIONS, config_file=path),
               load_entrypoints=False)


@pytest.fixture
def store(tmp_path):
    engine = Engine(Settings(definitions_dir=WEB_DEFINITIONS), load_entrypoints=False)
    s = Store.open(tmp_path / "o.db", engine, create=True)
    yield s
    s.close()


def _draft(store, case_id, person, occasion="intake"):
    inst, sub = store.engine.check({
        "instrument": "test-risk", "answers": {
            "t.injury": "yes", "t.frightened": "no", "t.fears": [],
            "t.strangle": "no", "t.threat_kill": "no", "t.worse": "no"},
        "fields": {"assessment_date": "2025-01-06", "incidents_12m": 0}})
    return store.create_assessment(inst, sub, person_id=person, occasion=occasion,
                                   status="draft", case_id=case_id)


def test_finalising_marks_the_entry_done_and_a_closed_case_refuses(store):
    person = store.ensure_person("P-1", "victim_survivor")
    case = store.create_case("C-1", instruments=["test-risk"], opened_on="2025-01-06",
                             people=[(person, "victim_survivor")])
    assert store.schedule_done([case]) == {case: set()}
    incident = _draft(store, case, person, "after_incident")
    store.finalise(incident, expected_revision=1, actor="t")
    intake = _draft(store, case, person)
    assert store.schedule_done([case]) == {case: {("test-risk", "after_incident")}}
    store.close_case(case, closed_on="2025-02-01", reason="support_completed")
    with pytest.raises(CaseClosedError, match="This case is closed.*reopen the case"):
        store.finalise(intake, expected_revision=1, actor="t")
    row = store.get_assessment(intake)
    assert row["status"] == "draft" and row["revision"] == 1
    store.reopen_case(case)
    store.finalise(intake, expected_revision=1, actor="t")
    assert ("test-risk", "intake") in store.schedule_done([case])[case]


def test_the_store_refuses_an_instrument_that_is_not_installed(store):
    from formsengine.errors import StorageError

    with pytest.raises(StorageError, match="no instrument 'nope' is installed"):
        store.create_case("C-2", instruments=["nope"])
    case = store.create_case("C-2", instruments=["test-risk", "test-risk"])
    assert json.loads(look.value(store, "cases", "instruments", id=case)) == ["test-risk"]


def test_an_existing_case_follows_the_instruments_it_has_assessments_of(tmp_path):
    """The migration to followed instruments: a case with assessments follows their
    instruments; one without follows none (its old list of occasions is kept, unread)."""
    from formsengine.store import connect
    from formsengine.store_schema import core_migrations

    conn = connect(tmp_path / "old.db")
    store = Store(conn, Engine(Settings(definitions_dir=WEB_DEFINITIONS),
                               load_entrypoints=False))
    core_migrations.apply(store.db, stop_before="m006_case_instruments")
    with store.write():
        conn.execute("INSERT INTO people (id, ref, role, created_at) VALUES"
                     " (1, 'P-1', 'victim_survivor', 'now')")
        for case_id, schedule in ((1, '["intake", "review_3m"]'), (2, '["intake"]')):
            conn.execute("INSERT INTO cases (id, uid, ref, schedule, created_at) VALUES"
                         " (?, ?, ?, ?, 'now')", [case_id, f"u{case_id}", f"C-{case_id}",
                                                  schedule])
        for n, inst in enumerate(["test-risk", "test-risk", "other-one"]):
            conn.execute(
                "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
                " instrument_version, occasion, status, created_at, updated_at)"
                " VALUES (?, 1, 1, ?, '1.0', 'intake', 'final', 'now', 'now')",
                [f"a{n}", inst])
    assert "formsengine:m006_case_instruments" in store.migrate()
    rows = look.rows(store, "cases", "id", "schedule", "instruments")
    assert [json.loads(r["instruments"]) for r in rows] == [["other-one", "test-risk"], []]
    assert json.loads(rows[0]["schedule"]) == ["intake", "review_3m"]
    conn.close()
