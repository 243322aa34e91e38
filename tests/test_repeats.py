"""Repeating groups in the definition language: the model (instances stored as
``<group>[n].<item>``), the checks a definition's groups must pass, scores over instances
(with not-known answers never counted as no), and the command line: validate, test, score,
import, the research export (wide columns ``<item>_<n>``, a long table with an
``instance`` column) and FHIR (a repeating group item; one repetition per instance).

The instrument is docs/examples/definitions/household.json, the documented example."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from formsengine.errors import DefinitionError
from formsengine.instance_ids import split_instance_id
from formsengine.scoring import compute_score

from .conftest import build_definition as build
from .conftest import definition_problems as problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "definitions" / "household.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def group(data: dict) -> dict:
    return data["sections"][0]["repeat"]


def score(data: dict, score_id: str) -> dict:
    return next(s for s in data["scoring"]["scores"] if s["id"] == score_id)


# --- the model ------------------------------------------------------------------------

def test_each_instance_has_its_own_items_up_to_the_maximum():
    inst = build(example())
    rep = inst.repeats["children"]
    assert (rep.minimum, rep.maximum, rep.label) == (1, 6, "Child")
    assert rep.item_ids == ("children.age", "children.witnessed", "children.where",
                            "children.worry")
    assert rep.ids(2) == ("children[2].age", "children[2].witnessed", "children[2].where",
                          "children[2].worry")
    assert "children[6].age" in inst.items and "children[7].age" not in inst.items
    item = inst.items["children[3].where"]
    assert (item.repeat, item.instance, item.base) == ("children", 3, "children.where")
    # a condition between items of the group tests the same instance
    assert item.show_when == {"item": "children[3].witnessed", "equals": "yes"}
    # the section's own items do not include the group's
    assert inst.sections[0].item_ids == ("hh.pregnant",)
    assert inst.sections[0].repeat is rep
    assert split_instance_id("children[12].age") == ("children", 12, "children.age")
    assert split_instance_id("children.age") is None


def test_the_number_of_instances_is_the_highest_given():
    rep = build(example()).repeats["children"]
    assert rep.count({}) == 0
    assert rep.count({"children[1].age": 3}) == 1
    assert rep.count({"children[3].witnessed": "no"}) == 3
    assert rep.count({}, {"children[2].where": "a comment"}) == 2


def test_answers_of_a_hidden_follow_up_in_an_instance_are_refused(engine_household):
    from formsengine.errors import SubmissionError

    with pytest.raises(SubmissionError) as caught:
        engine_household.check({"instrument": "example-household", "answers": {
            "children[1].witnessed": "no", "children[1].where": "Shouting"}})
    assert any("item children[1].where is answered but is only asked when" in p
               for p in caught.value.problems)
    _inst, sub = engine_household.check({"instrument": "example-household", "answers": {
        "children[1].witnessed": "no", "children[2].witnessed": "yes",
        "children[2].where": "Shouting"}})
    assert sub.answers["children[2].where"] == "Shouting"


def test_an_instance_beyond_the_maximum_is_an_unknown_item(engine_household):
    from formsengine.errors import SubmissionError

    with pytest.raises(SubmissionError, match=r"unknown item 'children\[7\].age'"):
        engine_household.check({"instrument": "example-household",
                                "answers": {"children[7].age": 3}})


@pytest.fixture(scope="module")
def engine_household():
    from formsengine.config import Settings
    from formsengine.engine import Engine

    return Engine(Settings(definitions_dir=EXAMPLE.parent), load_entrypoints=False)


# --- the checks -----------------------------------------------------------------------

def test_min_above_max_is_refused():
    data = example()
    group(data)["min"] = 7
    assert "$.sections[0].repeat: min (7) is more than max (6)" in problems(data)


def test_nested_groups_are_refused_in_plain_words():
    data = example()
    group(data)["items"].append({"id": "children.siblings", "repeat": {}})
    found = problems(data)
    assert len(found) == 1
    assert found[0].startswith("$.sections[0].repeat.items[4]: repeating groups cannot be "
                               "nested (a group inside a group is not supported)")


def test_a_group_item_must_start_with_the_group_id():
    data = example()
    group(data)["items"][0]["id"] = "child.age"
    assert any(p.startswith("$.sections[0].repeat.items[0].id: an item of repeating group "
                            "'children' has an id that starts with 'children.'")
               for p in problems(data))


def test_a_group_item_is_no_grid_row_and_is_not_carried_forward():
    data = example()
    group(data)["items"][1]["grid"] = "rows"
    group(data)["items"][3]["prefill"] = True
    found = problems(data)
    assert ("$.sections[0].repeat.items[1].grid: an item of a repeating group cannot be a "
            "grid row") in found
    assert any(p.startswith("$.sections[0].repeat.items[3].prefill: answers of a repeating "
                            "group are not carried forward") for p in found), found


def test_group_items_tested_outside_the_group_are_refused():
    data = example()
    data["sections"][0]["items"][0]["show_when"] = {"item": "children.witnessed",
                                                    "equals": "yes"}
    data["scoring"]["flags"].append({"id": "first", "label": "First child",
                                     "when": {"item": "children.witnessed",
                                              "equals": "yes"}})
    data["required_to_finalise"] = ["children.age"]
    found = problems(data)
    # an instance's own id cannot be written there at all (the schema's item id has no [n])
    assert ("$.items[hh.pregnant].show_when: 'children.witnessed' is an item of repeating "
            "group 'children'; only the group's own items can test it (score it with "
            "\"repeat\" instead)") in found
    assert any(p.startswith("$.scoring.flags[2].when: 'children.witnessed' is an item of "
                            "repeating group 'children'") for p in found), found
    assert any(p.startswith("$.required_to_finalise[0]: 'children.age' is an item of "
                            "repeating group") for p in found), found


def test_scores_over_a_group_are_checked():
    data = example()
    score(data, "children_witnessed")["items"] = ["hh.pregnant"]
    score(data, "worry_most")["order"] = ["none", "lots"]
    score(data, "any_witnessed").pop("over")
    score(data, "children_count")["repeat"] = "pets"
    score(data, "ages_total")["items"] = ["children.where"]
    found = problems(data)
    assert ("$.scoring.scores[1].items[0]: 'hh.pregnant' is not an item of repeating group "
            "'children' (its items: children.age, children.witnessed, children.where, "
            "children.worry)") in found
    assert any(p.startswith("$.scoring.scores[5].order: value 'lots' is not an answer option")
               for p in found), found
    assert any(p.startswith("$.scoring.scores[2]: an indicator over a repeating group says "
                            "\"over\"") for p in found), found
    assert ("$.scoring.scores[0].repeat: unknown repeating group 'pets' (groups: children)"
            in found)
    assert any(p.startswith("$.scoring.scores[6]: 'children.where' is of type text; a sum "
                            "takes numbers") for p in found), found


def test_a_max_of_numbers_takes_no_order_and_one_of_choices_needs_one():
    data = example()
    score(data, "oldest_child")["order"] = ["1", "2"]
    del score(data, "worry_most")["order"]
    found = problems(data)
    assert ("$.scoring.scores[7].order: 'children.age' is a number; a max of numbers is the "
            "highest number and takes no order") in found
    assert any(p.startswith("$.scoring.scores[5]: 'children.worry' is of type choice; a max "
                            "takes numbers, or single-choice items and an order")
               for p in found), found


def test_an_ordinary_max_still_needs_an_order():
    data = example()
    data["scoring"]["scores"].append({"id": "plain", "type": "max",
                                      "items": ["hh.pregnant"]})
    assert any("scores[8]" in p and "'order'" in p for p in problems(data)), problems(data)


def test_the_instances_score_needs_a_group():
    data = example()
    del score(data, "children_count")["repeat"]
    assert any("repeat" in p and "scores[0]" in p for p in problems(data))


# --- scoring --------------------------------------------------------------------------

def answers(*children, pregnant="no"):
    out = {"hh.pregnant": pregnant}
    for k, child in enumerate(children, start=1):
        out.update({f"children[{k}].{name}": value for name, value in child.items()})
    return out


@pytest.mark.parametrize("given,expected", [
    # no children: none counted, "any" and "all" are false, max not known
    ([], {"children_count": 0, "children_witnessed": 0, "any_witnessed": False,
          "all_witnessed": False, "worry_total": 0, "worry_most": None}),
    ([{"witnessed": "yes", "worry": "some"}, {"witnessed": "yes", "worry": "none"}],
     {"children_count": 2, "children_witnessed": 2, "any_witnessed": True,
      "all_witnessed": True, "worry_total": 1, "worry_most": "some"}),
    # a not-known answer is never a no: "any" is not known until a yes is given
    ([{"witnessed": "no"}, {"witnessed": "not_known"}],
     {"children_count": 2, "children_witnessed": 0, "any_witnessed": None,
      "all_witnessed": False}),
    ([{"witnessed": "yes"}, {"witnessed": "not_known"}],
     {"any_witnessed": True, "all_witnessed": None, "children_witnessed": 1}),
    # an unanswered instance in the middle still counts as an instance
    ([{"age": 3}, {}, {"age": 10, "witnessed": "no"}],
     {"children_count": 3, "ages_total": 13, "any_witnessed": None, "oldest_child": 10}),
    ([{"witnessed": "no"}], {"oldest_child": None}),
])
def test_scores_over_instances(given, expected):
    data = example()
    inst = build(data)
    got = {sid: compute_score(inst, score(data, sid), answers(*given)) for sid in expected}
    assert got == expected


def test_an_instance_asks_its_required_items(engine_household):
    from formsengine.submission import Submission

    inst = engine_household.instruments.get("example-household")
    result = engine_household.score(inst, Submission("example-household", "1.0", answers(
        {"age": 3, "witnessed": "no", "worry": "none"}, {"age": 5})))
    assert result["unanswered_items"] == ["children[2].witnessed", "children[2].worry"]


# --- the command line -----------------------------------------------------------------

def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(EXAMPLE.parent),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=tmp_path)


def test_validate_test_and_score_from_the_command_line(tmp_path):
    out = run(tmp_path, "instruments", "validate", str(EXAMPLE))
    assert out.returncode == 0 and "ok:" in out.stdout, out.stderr
    out = run(tmp_path, "instruments", "test", "example-household")
    assert out.returncode == 0 and "2 passed, 0 failed" in out.stdout, out.stdout + out.stderr
    data = {"instrument": "example-household", "fields": {"assessment_date": "2026-03-01"},
            "answers": answers({"age": 3, "witnessed": "yes", "where": "Shouting",
                                "worry": "very"}, {"witnessed": "not_known"})}
    (tmp_path / "a.json").write_text(json.dumps(data))
    out = run(tmp_path, "score", "example-household", "a.json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["scores"]["children_count"] == 2
    assert result["scores"]["any_witnessed"] is True
    assert result["scores"]["all_witnessed"] is None
    # the group's required choice items are asked of each instance given (as ordinary
    # items, completeness counts choice items)
    assert result["unanswered_items"] == ["children[2].worry"]
    bad = copy.deepcopy(example())
    group(bad)["min"] = 9
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    out = run(tmp_path, "instruments", "validate", "bad.json")
    assert out.returncode != 0
    assert "min (9) is more than max (6)" in out.stdout + out.stderr


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("household")
    assert run(folder, "db", "init").returncode == 0
    lines = []
    for p in range(6):
        children = [{"age": p + k, "witnessed": "yes" if (p + k) % 2 else "not_known",
                     "worry": "some"} for k in range(1, p % 3 + 2)]
        lines.append(json.dumps({"instrument": "example-household",
                                 "answers": answers(*children),
                                 "fields": {"assessment_date": f"2026-02-0{p + 1}"},
                                 "person": f"VS-{p}", "role": "victim_survivor",
                                 "occasion": "intake"}))
    (folder / "in.jsonl").write_text("\n".join(lines) + "\n")
    out = run(folder, "assessments", "import", "in.jsonl")
    assert out.returncode == 0 and "imported 6 assessments" in out.stdout, out.stderr
    return folder


def test_the_research_export_names_instance_columns_and_has_a_long_table(imported):
    folder = imported
    assert run(folder, "export", "keygen", "--project", "p", "--key-file", "k.key"
               ).returncode == 0
    out = run(folder, "export", "research", "--project", "p", "--out", "out", "--key-file",
              "k.key", "--k", "2", "--allow-small-k", "--format", "csv", "--no-codebook-pdf",
              "--purpose", "repeating groups")
    assert out.returncode == 0, out.stdout + out.stderr
    wide = pd.read_csv(folder / "out" / "items_example_household.csv")
    # one column per item and instance, up to the maximum: <item>_<n>
    expected = [f"children_{name}_{n}" for n in range(1, 7)
                for name in ("age", "witnessed", "worry")]
    assert [c for c in wide.columns if c.startswith("children_")] == expected
    assert "children_where_1" not in wide.columns  # free text never leaves
    long = pd.read_csv(folder / "out" / "items_example_household__children.csv")
    assert list(long.columns) == ["pid", "occasion", "day", "instance", "children_age",
                                  "children_witnessed", "children_worry"]
    # people 0..5 gave 1, 2, 3, 1, 2, 3 children
    assert len(long) == 12
    assert sorted(long.groupby("pid")["instance"].max().tolist()) == [1, 1, 2, 2, 3, 3]
    # not known stays the not-known code, never "no"
    assert set(long["children_witnessed"]) == {1, -4}
    for _, row in long.iterrows():
        match = wide[wide["pid"] == row["pid"]].iloc[0]
        assert match[f"children_age_{row['instance']}"] == row["children_age"]
    package = json.loads((folder / "out" / "datapackage.json").read_text())
    assert "items_example_household__children.csv" in {r["path"] for r in package["resources"]}
    scores = pd.read_csv(folder / "out" / "scores_long.csv")
    for pid, rows in long.groupby("pid"):
        mine = scores[(scores["pid"] == pid) & (scores["kind"] == "score")].set_index("name")
        assert mine.loc["children_count", "value"] == rows["instance"].max()
        assert mine.loc["oldest_child", "value"] == rows["children_age"].max()
        assert mine.loc["ages_total", "value"] == rows["children_age"].sum()
    codebook = (folder / "out" / "codebook.html").read_text()
    assert "Child 2: Age in years" in codebook


def test_fhir_questionnaire_and_response_repeat_the_group(imported):
    from formsengine.interop.fhir import validate

    out = run(imported, "fhir", "questionnaire", "example-household")
    assert out.returncode == 0, out.stderr
    questionnaire = json.loads(out.stdout)
    validate(questionnaire)
    section = questionnaire["item"][0]
    repeat = next(i for i in section["item"] if i["linkId"] == "children")
    assert repeat["type"] == "group" and repeat["repeats"] is True
    assert {e["url"].rsplit("-", 1)[-1]: e["valueInteger"] for e in repeat["extension"]} == {
        "minOccurs": 1, "maxOccurs": 6}
    where = next(i for i in repeat["item"] if i["linkId"] == "children.where")
    assert where["enableWhen"][0]["question"] == "children.witnessed"
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store

    store = Store.open(str(imported / "cli.db"),
                       Engine(Settings(definitions_dir=EXAMPLE.parent), load_entrypoints=False))
    try:
        uid = store.list_assessments(person="VS-2")[0]["uid"]
    finally:
        store.close()
    out = run(imported, "fhir", "response", "--", uid)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout)
    validate(response)
    groups = [i for i in response["item"][0]["item"] if i["linkId"] == "children"]
    assert [g["text"] for g in groups] == ["Child 1", "Child 2", "Child 3"]
    assert [i["linkId"] for i in groups[0]["item"]] == ["children.age", "children.witnessed",
                                                          "children.worry"]


def test_the_documented_snippets_are_those_of_the_example():
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    i = text.index("docs/examples/definitions/household.json")
    block = text[text.index("```json\n", i) + 8:]
    assert json.loads(block[:block.index("```")]) == group(example())
    j = text.index("From the example:", i)
    block = text[text.index("```json\n", j) + 8:]
    scores = [json.loads(line) for line in
              block[:block.index("```")].replace("\n ", " ").splitlines() if line.strip()]
    for shown in scores:
        assert shown == score(example(), shown["id"])


def test_the_instrument_list_counts_a_groups_items_once(tmp_path):
    out = run(tmp_path, "instruments", "list", "--json")
    assert out.returncode == 0, out.stderr
    row = next(r for r in json.loads(out.stdout) if r["id"] == "example-household")
    assert (row["items"], row["details"]) == (4, 1)
    assert row["repeats"] == {"children": {"min": 1, "max": 6}}
    grid = next(r for r in json.loads(out.stdout) if r["id"] == "example-grid")
    assert "repeats" not in grid
    text = run(tmp_path, "instruments", "list").stdout
    assert "4 items + 1 detail, children x1-6" in text


def test_a_wording_pack_words_a_groups_item_once_for_every_instance():
    from formsengine.instruments import InstrumentRegistry
    from formsengine.wording import WordingRegistry, item_text

    inst = build(example())
    instruments = InstrumentRegistry()
    instruments.add(inst)
    pack = {"id": "household-words", "version": "1.0", "instrument": "example-household",
            "language": "en", "licence": "test", "holder": "test",
            "items": {"children.witnessed": {"label": "Licensed: has the child witnessed it?",
                                             "options": {"not_known": "Unknown"}}}}
    added = WordingRegistry().add(pack, plugin="test", instruments=instruments)
    for k in (1, 4):
        text = item_text(inst, f"children[{k}].witnessed", added)
        assert text["label"] == "Licensed: has the child witnessed it?"
        assert text["options"]["not_known"] == "Unknown"
    assert item_text(inst, "children[1].age", added)["label"] == "Age in years"
    bad = dict(pack, id="household-words-2",
               items={"children.pets": {"label": "Pets"},
                      "children.worry": {"label": "Worry", "options": {"lots": "Lots"}}})
    with pytest.raises(DefinitionError) as caught:
        WordingRegistry().add(bad, plugin="test", instruments=instruments)
    assert ("$.items.children.pets: example-household v1.0 has no such item"
            in caught.value.problems)
    assert any(p.startswith("$.items.children.worry.options.lots: not an option")
               for p in caught.value.problems)
