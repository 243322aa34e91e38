"""``prefill`` in a definition (docs/examples/definitions/prefill.json): the model knows
which items are offered from the previous occasion, the validator refuses it where it
cannot mean anything, an answers file records what was carried forward (refused for an
item that is not prefilled or not answered), and the command line imports and validates
it. The page, the audit and the export are tested in tests/web/test_prefill.py."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.errors import DefinitionError, SubmissionError
from formsengine.store import Store, caseviews
from formsengine.store import inspection as look

from .conftest import build_definition as build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "definitions" / "prefill.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def item(data: dict, item_id: str) -> dict:
    return next(i for i in data["sections"][0]["items"] if i["id"] == item_id)


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLE.parent), load_entrypoints=False)


def test_the_model_knows_which_items_are_carried_forward():
    inst = build(example())
    assert [i.id for i in inst.items.values() if i.prefill] == [
        "ex.children", "ex.children.count", "ex.separated_on"]


def test_prefill_on_a_text_item_is_refused_in_plain_words():
    data = example()
    data["sections"][0]["items"].append(
        {"id": "ex.notes", "type": "text", "label": "Notes", "required": False,
         "prefill": True})
    with pytest.raises(DefinitionError) as caught:
        build(data)
    assert caught.value.problems == [
        "$.items[ex.notes].prefill: a text item is not carried forward (what is written in "
        "words belongs to the occasion it describes): remove prefill, or ask it as a "
        "choice, number or date"]


def test_prefill_must_be_true_or_false():
    data = example()
    item(data, "ex.children")["prefill"] = "yes"
    with pytest.raises(DefinitionError, match="prefill"):
        build(data)


def answers(**extra) -> dict:
    return {"instrument": "example-prefill", "version": "1.0",
            "answers": {"ex.children": "not_known", "ex.afraid_now": "no"},
            "fields": {"assessment_date": "2026-06-12"}, **extra}


def test_an_answers_file_records_what_was_carried_forward(engine):
    _inst, sub = engine.check(answers(carried={"ex.children": "2026-03-12"}))
    assert sub.carried == {"ex.children": "2026-03-12"}
    assert sub.answers["ex.children"] == "not_known"  # carried as not known, never as no
    assert sub.to_json()["carried"] == {"ex.children": "2026-03-12"}


@pytest.mark.parametrize("carried,message", [
    ({"ex.afraid_now": "2026-03-12"},
     "item ex.afraid_now is not carried forward (its definition does not say prefill)"),
    ({"ex.children.count": "2026-03-12"},
     "item ex.children.count is said to be carried forward but has no answer"),
    ({"ex.children": "12/03/2026"},
     "carried forward item ex.children: the date it was carried from must be a date "
     "written YYYY-MM-DD"),
    ({"ex.nothing": "2026-03-12"}, "carried forward answer for unknown item 'ex.nothing'"),
])
def test_a_carried_forward_answer_that_cannot_be_is_refused(engine, carried, message):
    with pytest.raises(SubmissionError) as caught:
        engine.check(answers(carried=carried))
    assert [p.split(": ", 1)[1] for p in caught.value.problems] == [message]


def test_an_answers_file_records_offers_declined(engine):
    _inst, sub = engine.check(answers(declined=["ex.separated_on", "ex.separated_on"]))
    assert sub.declined == ["ex.separated_on"]
    assert "ex.separated_on" not in sub.answers  # nothing is stored as its answer
    assert sub.to_json()["declined"] == ["ex.separated_on"]
    assert "declined" not in engine.check(answers())[1].to_json()


@pytest.mark.parametrize("declined,message", [
    (["ex.afraid_now"],
     "item ex.afraid_now is offered nothing to decline (its definition does not say prefill)"),
    (["ex.children"],
     "item ex.children is said to be left unanswered on purpose but has an answer"),
    (["ex.nothing"], "declined offer for unknown item 'ex.nothing'"),
])
def test_a_declined_offer_that_cannot_be_is_refused(engine, declined, message):
    with pytest.raises(SubmissionError) as caught:
        engine.check(answers(declined=declined))
    assert [p.split(": ", 1)[1] for p in caught.value.problems] == [message]


def test_an_answers_file_records_fields_left_empty_on_purpose(engine):
    _inst, sub = engine.check(answers(fields={}, declined_fields=["assessment_date"]))
    assert sub.declined_fields == ["assessment_date"] and sub.fields == {}
    assert sub.to_json()["declined_fields"] == ["assessment_date"]
    with pytest.raises(SubmissionError) as caught:
        engine.check(answers(declined_fields=["assessment_date", "nothing"]))
    assert [p.split(": ", 1)[1] for p in caught.value.problems] == [
        "field assessment_date is said to be left empty on purpose but has a value",
        "declined offer for unknown field 'nothing'"]


def test_only_a_draft_imports_its_declined_offers(tmp_path, engine):
    assert run(tmp_path, "db", "init").returncode == 0
    row = answers(person="VS-1", role="victim_survivor", case="C-1", occasion="review",
                  fields={"assessment_date": "2026-06-12"}, declined=["ex.separated_on"])
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps(row) + "\n")
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode != 0
    assert "line 1: declined offers are kept only with a draft" in out.stderr
    f.write_text(json.dumps({**row, "status": "draft"}) + "\n")
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode == 0, out.stderr
    with Store.open(tmp_path / "cli.db", engine) as store:
        (draft,) = look.rows(store, "assessments", "id", "status")
        assert draft["status"] == "draft"
        assert store.get_assessment(draft["id"])["declined"] == ["ex.separated_on"]


def run(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env.update(FORMSENGINE_DEFINITIONS=str(EXAMPLE.parent),
               FORMSENGINE_DB=str(tmp_path / "cli.db"))
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_the_command_line_validates_tests_and_imports_carried_forward_answers(tmp_path,
                                                                             engine):
    out = run(tmp_path, "instruments", "validate", str(EXAMPLE))
    assert out.returncode == 0, out.stderr
    out = run(tmp_path, "instruments", "test", "example-prefill")
    assert out.returncode == 0 and "2 passed, 0 failed" in out.stdout, out.stdout + out.stderr
    assert run(tmp_path, "db", "init").returncode == 0
    rows = [answers(person="VS-1", role="victim_survivor", case="C-1", occasion="intake",
                    fields={"assessment_date": "2026-03-12"}),
            answers(person="VS-1", role="victim_survivor", case="C-1", occasion="review",
                    carried={"ex.children": "2026-03-12"})]
    bad = copy.deepcopy(rows[1])
    bad["carried"] = {"ex.afraid_now": "2026-03-12"}
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps(rows[0]) + "\n" + json.dumps(bad) + "\n")
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode != 0 and "line 2" in out.stderr
    assert "item ex.afraid_now is not carried forward" in out.stderr
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode == 0, out.stderr
    with Store.open(tmp_path / "cli.db", engine) as store:
        stored = look.rows(store, "answers", "assessment_id", "item_id", "carried_from",
                           order_by=["assessment_id", "item_id"])
        assert [(r["item_id"], r["carried_from"]) for r in stored] == [
            ("ex.afraid_now", None), ("ex.children", None),
            ("ex.afraid_now", None), ("ex.children", "2026-03-12")]
        review = store.get_assessment(stored[-1]["assessment_id"])
        assert review["carried"] == {"ex.children": "2026-03-12"}
        assert caseviews.assessment_uid(store, review["id"]) == review["uid"]


def test_the_documented_snippet_is_that_of_the_example():
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    i = text.index("docs/examples/definitions/prefill.json")
    block = text[text.index("```json\n", i) + 8:]
    shown = json.loads(block[:block.index("```")])
    assert shown["items"] == example()["sections"][0]["items"]
