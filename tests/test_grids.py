"""Grids (Likert and matrix layouts) in the definition language: the model, the checks a
definition's grids must pass (each refused with a plain-words message), the blocks a page
is drawn from, and the documented example."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.errors import DefinitionError
from formsengine.instruments import Grid
from formsengine.web import formbuild

from .conftest import build_definition as build
from .conftest import definition_problems as problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "definitions" / "grid.json"
ROWS = ["ex.on_edge", "ex.sleep", "ex.watched", "ex.afraid"]


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def items(data: dict) -> list[dict]:
    return data["sections"][0]["items"]


def row(data: dict, item_id: str) -> dict:
    return next(i for i in items(data) if i["id"] == item_id)


def test_the_model_knows_each_rows_grid():
    inst = build(example())
    section = inst.sections[0]
    assert section.grids == (Grid("last_month",
                                  "In the last month, how often have you felt like this?",
                                  "Choose one answer on each line."),)
    assert section.grid("last_month") is section.grids[0]
    assert section.grid("nothing") is None
    assert [i.id for i in inst.items.values() if i.grid == "last_month"] == ROWS
    assert inst.items["ex.contact"].grid is None


def test_an_unknown_grid_is_refused():
    data = example()
    row(data, "ex.sleep")["grid"] = "last_week"
    found = problems(data)
    assert ("$.items[ex.sleep].grid: there is no grid 'last_week' in section 'feelings' "
            "(its grids: last_month)") in found


def test_a_grid_of_another_section_is_refused():
    data = example()
    data["sections"].append({"id": "more", "title": "More", "grids": [
        {"id": "other", "label": "Other"}], "items": [
        {"id": "ex.more_a", "type": "choice", "label": "A", "options": "how_often",
         "grid": "other"},
        {"id": "ex.more_b", "type": "choice", "label": "B", "options": "how_often",
         "grid": "last_month"}]})
    found = problems(data)
    assert any(p.startswith("$.items[ex.more_b].grid: grid 'last_month' belongs to section "
                            "'feelings'") for p in found), found
    # and "other" is left with one row
    assert any("grid 'other' has 1 row; a grid needs at least two" in p for p in found), found


def test_a_duplicate_grid_id_is_refused():
    data = example()
    data["sections"][0]["grids"].append({"id": "last_month", "label": "Again"})
    found = problems(data)
    assert ("$.sections[0].grids[1].id: grid id 'last_month' is already used in this "
            "section (each grid needs its own id)") in found


def test_a_row_must_be_a_single_choice_question():
    data = example()
    row(data, "ex.watched").update(type="multi_choice")
    found = problems(data)
    assert any(p.startswith("$.items[ex.watched].grid: 'ex.watched' is of type multi_choice; "
                            "the rows of a grid must be single-choice") for p in found), found
    data = example()
    items(data)[2] = {"id": "ex.sleep", "type": "integer", "label": "Nights",
                      "grid": "last_month"}
    assert any(p.startswith("$.items[ex.sleep].grid: 'ex.sleep' is of type integer")
               for p in problems(data))


def test_rows_must_follow_one_another():
    data = example()
    moved = items(data).pop(0)  # ex.contact between two rows
    items(data).insert(3, moved)
    found = problems(data)
    assert ("$.sections[0].grids[0]: the rows of grid 'last_month' must follow one another "
            "in the section, but 'ex.contact' comes between them; move the rows together "
            "(a follow-up question goes after the grid)") in found


def test_rows_must_share_their_options():
    data = example()
    options = copy.deepcopy(data["option_sets"]["how_often"])
    options[3]["label"] = "Always"
    row(data, "ex.afraid")["options"] = options
    found = problems(data)
    assert any(p.startswith("$.items[ex.afraid].options: every row of grid 'last_month' must "
                            "have the same options as its first row 'ex.on_edge'")
               for p in found), found
    data = example()
    row(data, "ex.sleep")["options"] = copy.deepcopy(data["option_sets"]["how_often"])[::-1]
    assert any(p.startswith("$.items[ex.sleep].options: every row") for p in problems(data))
    # the same options written out (not through the option set) are accepted
    data = example()
    row(data, "ex.sleep")["options"] = copy.deepcopy(data["option_sets"]["how_often"])
    build(data)


def test_rows_offer_no_comment_source_or_option_hints():
    data = example()
    row(data, "ex.sleep").update(comment=True, source=True)
    found = problems(data)
    assert any(p.startswith("$.items[ex.sleep].grid: 'ex.sleep' offers a comment and a "
                            "source; a grid has no room for them") for p in found), found
    data = example()
    data["option_sets"]["how_often"][0]["hint"] = "Not once"
    found = problems(data)
    assert any(p.startswith("$.items[ex.on_edge].grid: 'ex.on_edge' has options with hints")
               for p in found), found


def test_a_grid_needs_two_rows():
    data = example()
    for r in ROWS[1:]:
        del row(data, r)["grid"]
    found = problems(data)
    assert ("$.sections[0].grids[0]: grid 'last_month' has 1 row; a grid needs at least two "
            "items that say \"grid\": \"last_month\"") in found
    data = example()
    for r in ROWS:
        del row(data, r)["grid"]
    assert any("grid 'last_month' has no rows" in p for p in problems(data))


def test_the_schema_refuses_unknown_grid_keys():
    data = example()
    data["sections"][0]["grids"][0]["columns"] = 5
    assert any("grids[0]" in p and "columns" in p for p in problems(data))


def test_blocks_group_consecutive_rows_and_leave_nested_follow_ups_out():
    inst = build(example())
    ids = list(inst.sections[0].item_ids)
    blocks = formbuild.blocks(inst, ids)
    assert [(b.grid.id if b.grid else None, b.item_ids) for b in blocks] == [
        (None, ("ex.contact",)), ("last_month", tuple(ROWS)), (None, ("ex.afraid.detail",))]
    assert formbuild.blocks(inst, ids, {"ex.contact"})[0].grid is not None


def test_follow_ups_never_nest_inside_grid_rows():
    data = example()
    # a row shown when the question before the grid is answered yes
    row(data, "ex.on_edge")["show_when"] = {"item": "ex.contact", "equals": "yes"}
    row(data, "ex.on_edge")["required"] = False
    inst = build(data)
    groups = formbuild.follow_ups(inst, list(inst.sections[0].item_ids))
    assert groups == {}  # neither the row's follow-up nor the row itself is nested


def test_a_grid_is_shown_while_any_of_its_rows_is():
    data = example()
    for r in ROWS:
        row(data, r)["show_when"] = {"item": "ex.contact", "equals": "yes"}
    inst = build(data)
    ids = list(inst.sections[0].item_ids)
    programs = formbuild.page_programs(inst, ids, {"answers": {}, "fields": {}})
    block = formbuild.blocks(inst, ids)[1]
    program = json.loads(formbuild.grid_program(block, programs))
    assert program == {"any": [{"item": "ex.contact", "equals": "yes"}] * 4}
    del programs["ex.sleep"]  # a row always asked: the grid always is
    assert formbuild.grid_program(block, programs) is None


def test_the_example_passes_the_cli_validator_and_its_vectors():
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "instruments", "validate",
                          str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "--definitions",
                          str(EXAMPLE.parent), "instruments", "test", "example-grid"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr + out.stdout
    assert "4 passed, 0 failed" in out.stdout


def test_the_documented_snippet_is_that_of_the_example():
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    i = text.index("docs/examples/definitions/grid.json")
    block = text[text.index("```json\n", i) + 8:]
    shown = json.loads(block[:block.index("```")])
    data = example()
    assert shown["grids"] == data["sections"][0]["grids"]
    for part in shown["items"]:
        assert part in items(data), part["id"]


def test_a_wording_pack_words_the_options_of_every_row_alike():
    from formsengine.instruments import InstrumentRegistry
    from formsengine.wording import WordingRegistry

    instruments = InstrumentRegistry()
    instruments.add(build(example()))
    pack = {"id": "grid-words", "version": "1.0", "instrument": "example-grid",
            "language": "en", "licence": "test", "holder": "test",
            "items": {r: {"label": f"Licensed {r}", "options": {"always": "Always"}}
                      for r in ROWS}}
    WordingRegistry().add(pack, plugin="test", instruments=instruments)
    del pack["items"]["ex.watched"]["options"]
    with pytest.raises(DefinitionError) as caught:
        WordingRegistry().add(dict(pack, id="grid-words-2"), plugin="test",
                              instruments=instruments)
    assert caught.value.problems == [
        "$.items.ex.watched.options: 'ex.watched' is a row of grid 'last_month', which shows "
        "its answers once above the rows; word its options as on the first row 'ex.on_edge'"]
    # a pack that words only the first row's options
    pack["items"] = {"ex.on_edge": {"label": "Licensed", "options": {"never": "Not once"}}}
    with pytest.raises(DefinitionError) as caught:
        WordingRegistry().add(dict(pack, id="grid-words-3"), plugin="test",
                              instruments=instruments)
    assert caught.value.problems == [
        "$.items.ex.on_edge.options: 'ex.on_edge' is the first row of grid 'last_month', "
        "which shows its answers once above the rows; word the options of every row the same "
        "(as 'ex.sleep' has them)"]


def test_fhir_gathers_a_grids_rows_into_a_grid_group_in_questionnaire_and_response(tmp_path):
    pytest.importorskip("fhir.resources")
    from formsengine.interop.fhir import (
        ITEM_CONTROL,
        questionnaire,
        questionnaire_response,
        validate,
    )
    from formsengine.store import Store
    from tests.conftest import DefinitionsPlugin, make_engine

    engine = make_engine(DefinitionsPlugin(example()))
    inst = engine.instruments.get("example-grid")
    resource = questionnaire(inst)
    validate(resource)
    section = resource["item"][0]
    grid = next(i for i in section["item"] if i["linkId"] == "grid.last_month")
    assert grid["type"] == "group"
    assert grid["text"] == "In the last month, how often have you felt like this?"
    assert grid["extension"][0]["valueCodeableConcept"]["coding"][0] == {
        "system": ITEM_CONTROL, "code": "grid", "display": "Grid"}
    assert [i["linkId"] for i in grid["item"] if i["type"] != "display"] == ROWS
    assert not {i["linkId"] for i in section["item"]} & set(ROWS)  # no row outside it

    answers = {"ex.contact": "yes", "ex.on_edge": "often", "ex.sleep": "never",
               "ex.watched": "not_known", "ex.afraid": "sometimes"}
    inst, sub = engine.check({"instrument": "example-grid", "answers": answers,
                              "fields": {"assessment_date": "2026-03-01"}})
    store = Store.open(str(tmp_path / "grid.db"), engine, create=True)
    try:
        person = store.ensure_person("P-1", "victim_survivor")
        assessment = store.create_assessment(inst, sub, person_id=person, occasion="intake")
        response = questionnaire_response(store, assessment)
    finally:
        store.close()
    validate(response)
    answered = next(i for i in response["item"][0]["item"] if i["linkId"] == "grid.last_month")
    got = {i["linkId"]: i["answer"][0]["valueCoding"]["code"] for i in answered["item"]}
    assert got == {r: answers[r] for r in ROWS}
