"""Pipes and messages in a repeating group: a pipe in a group's question that names another
item of the group shows the answer given for the same instance; a pipe outside the group
that names one of its items is refused in plain words; messages that name an instance's
question name its instance too ("Child 2: Date of birth of the child ...").

The instrument is docs/examples/definitions/children-named.json, the documented example."""

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
from formsengine.wording import item_text

from .conftest import EXAMPLE_DEFINITIONS, example_definition
from .conftest import build_definition as build
from .conftest import definition_problems as problems

EXAMPLES = EXAMPLE_DEFINITIONS
EXAMPLE = EXAMPLES / "children-named.json"


def example() -> dict:
    return example_definition(EXAMPLE.name)


def group_items(data: dict) -> list[dict]:
    return data["sections"][0]["repeat"]["items"]


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


ANSWERS = {"kids[1].name": "Sam", "kids[2].name": "<b>Alex</b>", "kids[2].school": "no"}


def test_a_pipe_in_a_group_shows_the_same_instances_answer():
    inst = build(example())
    label = [item_text(inst, f"kids[{n}].school", None, ANSWERS, {})["label"]
             for n in (1, 2, 3)]
    assert label == ["Does Sam go to school or nursery?",
                     "Does <b>Alex</b> go to school or nursery?",  # plain text: pages escape it
                     "Does the child go to school or nursery?"]  # no name given: the fallback
    assert item_text(inst, "kids[2].school", None, ANSWERS, {})["help"] == (
        "Answer for <b>Alex</b> only.")
    # everything that shows the definition uses the fallback
    assert item_text(inst, "kids[1].school", None)["label"] == (
        "Does the child go to school or nursery?")
    assert inst.items["kids[1].born"].label == "Date of birth of the child"


def test_a_wording_pack_pipes_the_same_instance_too():
    from formsengine.instruments import InstrumentRegistry
    from formsengine.wording import WordingRegistry

    inst = build(example())
    instruments = InstrumentRegistry()
    instruments.add(inst)
    pack = {"id": "named-words", "version": "1.0", "instrument": "example-children-named",
            "language": "en", "licence": "test", "holder": "test",
            "items": {"kids.school": {"label": "Is {{item.kids.name|the child}} at school?"}}}
    added = WordingRegistry().add(pack, plugin="test", instruments=instruments)
    assert item_text(inst, "kids[2].school", added, ANSWERS, {})["label"] == (
        "Is <b>Alex</b> at school?")
    bad = dict(pack, id="named-words-2",
               items={"plan.school_contact": {"label": "Is {{item.kids.name|x}} told?"}})
    with pytest.raises(DefinitionError) as caught:
        WordingRegistry().add(bad, plugin="test", instruments=instruments)
    assert any("a question of repeating group 'kids'" in p for p in caught.value.problems)


def test_a_pipe_outside_the_group_naming_its_item_is_refused_once():
    data = example()
    data["sections"][1]["items"][0]["label"] = "Is {{item.kids.name|the child}}'s school told?"
    found = problems(data)
    assert found == [
        "$.items[plan.school_contact].label: {{item.kids.name|the child}} names 'kids.name', "
        "a question of repeating group 'kids', which is asked once for each child: only the "
        "group's own questions can pipe in its answers (each shows the answer given for the "
        "same one); elsewhere, show a score over the group instead"], found


def test_an_instance_id_in_a_pipe_is_not_a_pipe():
    data = example()
    data["sections"][1]["items"][0]["label"] = "Is {{item.kids[1].name|the child}} told?"
    found = problems(data)
    assert len(found) == 1 and "is not a pipe" in found[0], found


def test_a_pipe_in_a_group_checks_order_and_self_once():
    data = example()
    items = group_items(data)
    items[0]["help"] = "Ask before {{item.kids.school|the school question}}."
    items[1]["label"] = "Date of birth of {{item.kids.born|the child}}"
    found = problems(data)
    assert found == [
        "$.items[kids.name].help: {{item.kids.school|the school question}} names "
        "'kids.school', which comes later in the definition; a pipe shows the answer to an "
        "earlier question",
        "$.items[kids.born].label: {{item.kids.born|the child}} names the item itself; a pipe "
        "shows the answer to an earlier question"], found


def test_a_group_question_may_pipe_an_earlier_ordinary_item():
    data = copy.deepcopy(example())
    data["sections"][0]["items"] = [{"id": "hh.carer", "type": "text", "required": False,
                                     "label": "Who looks after the children?"}]
    group_items(data)[2]["help"] = "Ask {{item.hh.carer|the carer}} if unsure."
    inst = build(data)
    text = item_text(inst, "kids[3].school", None, {"hh.carer": "Gran"}, {})
    assert text["help"] == "Ask Gran if unsure."


def test_a_message_names_the_instance(engine):
    with pytest.raises(SubmissionError) as caught:
        engine.check({"instrument": "example-children-named",
                      "fields": {"assessment_date": "2026-03-12"},
                      "answers": {"kids[1].name": "Sam", "kids[2].born": "2999-01-01"}})
    assert any(p.endswith("item kids[2].born: Child 2: Date of birth of the child must not "
                          "be in the future") for p in caught.value.problems), (
        caught.value.problems)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(EXAMPLES),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=tmp_path)


def test_the_command_line_validates_tests_and_names_the_instance(tmp_path):
    out = run(tmp_path, "instruments", "validate", str(EXAMPLE))
    assert out.returncode == 0 and "ok:" in out.stdout, out.stdout + out.stderr
    out = run(tmp_path, "instruments", "test", "example-children-named")
    assert out.returncode == 0 and "1 passed, 0 failed" in out.stdout, out.stdout + out.stderr
    data = {"instrument": "example-children-named", "fields": {"assessment_date": "2026-03-01"},
            "answers": {"kids[1].name": "Sam", "kids[3].born": "2999-01-01"}}
    (tmp_path / "a.json").write_text(json.dumps(data))
    out = run(tmp_path, "score", "example-children-named", "a.json")
    assert out.returncode != 0
    assert ("Child 3: Date of birth of the child must not be in the future"
            in out.stdout + out.stderr), out.stdout + out.stderr
    bad = example()
    bad["sections"][1]["items"][0]["help"] = "Ask about {{item.kids.name|each child}}."
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    out = run(tmp_path, "instruments", "validate", "bad.json")
    assert out.returncode != 0
    assert "a question of repeating group 'kids'" in out.stdout + out.stderr


def test_exports_and_fhir_use_the_definitions_wording(tmp_path):
    from formsengine.interop.fhir import questionnaire

    inst = build(example())
    text = json.dumps(questionnaire(inst))
    assert "{{" not in text
    assert "Does the child go to school or nursery?" in text
    assert "Date of birth of the child" in text


def test_import_names_the_instance_and_exports_carry_no_piped_answer(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    line = {"instrument": "example-children-named", "role": "victim_survivor",
            "occasion": "intake", "fields": {"assessment_date": "2026-02-01"}}
    bad = dict(line, person="VS-9", answers={"kids[1].name": "Sam",
                                             "kids[2].born": "2999-01-01"})
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
    out = run(tmp_path, "assessments", "import", "bad.jsonl")
    assert out.returncode != 0
    assert ("line 1: " in out.stdout + out.stderr and "item kids[2].born: Child 2: Date of "
            "birth of the child must not be in the future" in out.stdout + out.stderr), (
        out.stdout + out.stderr)
    lines = [dict(line, person=f"VS-{p}",
                  answers={"kids[1].name": "Sam", "kids[1].born": "2019-05-02",
                           "kids[1].school": "yes", "kids[2].name": "Alex",
                           "kids[2].school": "no", "plan.school_contact": "no"})
             for p in range(3)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = run(tmp_path, "assessments", "import", "in.jsonl")
    assert out.returncode == 0 and "imported 3 assessments" in out.stdout, out.stderr
    assert run(tmp_path, "export", "keygen", "--project", "p", "--key-file", "k.key"
               ).returncode == 0
    out = run(tmp_path, "export", "research", "--project", "p", "--out", "out", "--key-file",
              "k.key", "--k", "2", "--allow-small-k", "--format", "csv", "--no-codebook-pdf",
              "--purpose", "pipes in a repeating group")
    assert out.returncode == 0, out.stdout + out.stderr
    written = "".join(p.read_text(encoding="utf-8", errors="replace")
                      for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "Child 2: Does the child go to school or nursery?" in written
    assert "{{" not in written and "Sam" not in written and "Alex" not in written


def test_a_date_check_names_the_instance_without_pipes_too():
    from formsengine.submission import check_value

    text = EXAMPLE.read_text(encoding="utf-8")
    for pipe in ("{{item.kids.name|the child}}", "{{item.kids.name|this child}}"):
        text = text.replace(pipe, "the child")
    inst = build(json.loads(text))
    with pytest.raises(ValueError) as caught:
        check_value(inst.items["kids[3].born"], "2999-01-01")
    assert str(caught.value) == "Child 3: Date of birth of the child must not be in the future"
    assert inst.items["kids[3].born"].named == "Child 3: Date of birth of the child"
    assert inst.items["plan.school_contact"].named == inst.items["plan.school_contact"].label


def test_the_documented_snippet_is_that_of_the_example():
    text = (EXAMPLES.parents[1] / "definitions.md").read_text(encoding="utf-8")
    i = text.index("[`docs/examples/definitions/children-named.json`]")
    block = text[text.index("```json\n", i) + 8:]
    assert json.loads(block[:block.index("```")]) == example()["sections"][0]["repeat"]
    # what the section says is refused is what the validator says
    data = example()
    data["sections"][1]["items"][0]["help"] = "Ask {{item.kids.name|each child}}."
    quoted = text[text.index("so the validator refuses it (", i):]
    quoted = quoted[quoted.index("(") + 2:quoted.index('")')].replace("\n", " ")
    assert any(quoted in p for p in problems(data)), quoted
