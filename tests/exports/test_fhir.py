"""Instrument definitions as FHIR R4 Questionnaires and assessments as
QuestionnaireResponses, parsed back with fhir.resources (its R4B models: fhir.resources
8.x has R5 at the top level, R4B in fhir.resources.R4B and no separate R4 module)."""

from __future__ import annotations

import json

import pytest

from formsengine.interop.fhir import questionnaire, questionnaire_response, validate
from formsengine.store import inspection as look
from tests.research_data import invoke_cli, research_engine

ALL_SHIPPED = ["dash-safelives", "dash-police", "sdash", "drive-dash", "drive-behaviours",
               "drive-closure", "needs-su", "needs-vs", "dvip-inventory", "dvip-risk-factors",
               "idva-intake", "idva-exit", "rfg-ranking"]


def every_plugin_engine():
    import formsengine_dvip
    import formsengine_outcomes
    import formsengine_rfg

    return research_engine(formsengine_dvip, formsengine_outcomes, formsengine_rfg)


@pytest.mark.parametrize("instrument_id", ALL_SHIPPED)
def test_every_shipped_instrument_is_a_valid_questionnaire(instrument_id):
    inst = every_plugin_engine().instruments.get(instrument_id)
    resource = questionnaire(inst)
    parsed = validate(resource)
    assert parsed.url == f"urn:formsengine:questionnaire:{instrument_id}"
    link_ids = [i.linkId for g in parsed.item for i in (g.item or [])]
    assert set(inst.items) <= set(link_ids)
    assert len(link_ids) == len(set(link_ids))


def test_choice_items_keep_not_known_distinct_and_follow_ups_use_enable_when():
    inst = research_engine().instruments.get("dash-safelives")
    items = {i["linkId"]: i for g in questionnaire(inst)["item"] for i in g["item"]}
    codes = [o["valueCoding"]["code"] for o in items["dash.isolated"]["answerOption"]]
    assert codes == ["yes", "no", "dont_know", "declined", "not_asked"]
    what = items["dash.afraid_of.what"]
    assert what["repeats"] is True
    assert what["enableWhen"][0]["question"] == "dash.afraid_of"
    assert what["enableWhen"][0]["answerCoding"]["code"] == "yes"
    assert items["dash.injury"]["item"][0]["linkId"] == "dash.injury.comment"


def test_assessments_are_valid_questionnaire_responses(exported):
    store = exported["store"]
    rows = look.rows(store, "assessments", "id", "uid", "instrument_id")
    for row in rows:
        resource = questionnaire_response(store, row["id"])
        parsed = validate(resource)
        assert parsed.id == row["uid"].replace("_", ".") and parsed.status == "completed"
        assert parsed.identifier.value == row["uid"]
        assert parsed.questionnaire.startswith(
            f"urn:formsengine:questionnaire:{row['instrument_id']}|")
    first = look.first(store, "assessments", "id", instrument_id="dash-safelives")["id"]
    resource = questionnaire_response(store, first)
    answers = {i["linkId"]: i for g in resource["item"] for i in g["item"]}
    assert answers["dash.isolated"]["answer"][0]["valueCoding"]["code"] == "declined"
    assert answers["score.yes_count"]["answer"] == [{"valueInteger": 3}]
    assert answers["dash.very_frightened"]["item"][0]["linkId"] == "dash.very_frightened.comment"


def test_cli_fhir_commands(exported, monkeypatch):
    store = exported["store"]
    db = store.location
    run = invoke_cli(monkeypatch, store.engine, ["fhir", "questionnaire", "drive-behaviours"])
    assert run.exit_code == 0 and validate(json.loads(run.output)).title
    uid = look.first(store, "assessments", "uid")["uid"]
    run = invoke_cli(monkeypatch, store.engine, ["--db", db, "fhir", "response", "--", uid])
    assert run.exit_code == 0, run.output
    assert validate(json.loads(run.output)).identifier.value == uid
    assert look.count(store, "audit", action="fhir_export") >= 1


def _toy_questionnaire(show_when, **item_extra):
    from tests.conftest import DefinitionsPlugin, make_engine, toy_definition

    toy = toy_definition()
    note = next(i for s in toy["sections"] for i in s["items"] if i["id"] == "toy.note")
    note.update(show_when=show_when, **item_extra)
    inst = make_engine(DefinitionsPlugin(toy)).instruments.get("toy-checklist")
    resource = questionnaire(inst)
    validate(resource)
    items = {i["linkId"]: i for g in resource["item"] for i in g["item"]}
    return items["toy.note"], items


def _coded(question, code, operator="="):
    return {"question": question, "operator": operator,
            "answerCoding": {"system": "urn:formsengine:codesystem:toy-checklist",
                             "code": code, "display": code}}


@pytest.mark.parametrize("show_when,enable,behaviour", [
    ({"item": "toy.a", "in": ["yes", "dont_know"]},
     [("toy.a", "yes", "="), ("toy.a", "dont_know", "=")], "any"),
    ({"all": [{"item": "toy.a", "equals": "yes"}, {"not": {"item": "toy.b", "equals": "no"}}]},
     [("toy.a", "yes", "="), ("toy.b", "no", "!=")], "all"),
    ({"any": [{"item": "toy.a", "equals": "yes"},
              {"field": "incidents", "gte": 3}]},
     [("toy.a", "yes", "="), {"question": "field.incidents", "operator": ">=",
                              "answerInteger": 3}], "any"),
    ({"item": "toy.a.what", "includes": "two"}, [("toy.a.what", "two", "=")], None),
    ({"not": {"item": "toy.c", "answered": True}},
     [{"question": "toy.c", "operator": "exists", "answerBoolean": False}], None),
    ({"field": "incidents", "gt": 2, "lte": 10},
     [{"question": "field.incidents", "operator": ">", "answerInteger": 2},
      {"question": "field.incidents", "operator": "<=", "answerInteger": 10}], "all"),
])
def test_fhir_keeps_compound_show_conditions_as_enable_when(show_when, enable, behaviour):
    note, items = _toy_questionnaire(show_when)
    labels = {o["valueCoding"]["code"]: o["valueCoding"]["display"]
              for i in items.values() for o in i.get("answerOption", [])}
    expected = []
    for e in enable:
        if isinstance(e, tuple):
            entry = _coded(e[0], e[1], e[2])
            entry["answerCoding"]["display"] = labels[e[1]]
            expected.append(entry)
        else:
            expected.append(e)
    assert note["enableWhen"] == expected
    assert note.get("enableBehavior") == behaviour
    assert "asked only when" not in note["text"]


def test_fhir_describes_in_words_what_enable_when_cannot_say_and_keeps_help_and_limits():
    cond = {"any": [{"all": [{"item": "toy.a", "equals": "yes"},
                             {"item": "toy.b", "equals": "yes"}]},
                    {"field": "incidents", "gte": {"param": "escalation"}}]}
    note, items = _toy_questionnaire(cond, help="Say what happened, in the person's words.")
    assert "enableWhen" not in note and "{" not in note["text"]
    assert note["text"].endswith(
        "(asked only when (toy.a is yes and toy.b is yes) or field.incidents is at least "
        "the parameter escalation)")
    help_item = note["item"][0]
    assert help_item["type"] == "display"
    assert help_item["text"] == "Say what happened, in the person's words."
    assert help_item["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "help"
    incidents = items["field.incidents"]
    assert incidents["extension"] == [
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueInteger": 0},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueInteger": 1000}]
