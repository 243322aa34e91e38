"""Date bounds in a repeating group: a date of the group bounded by another date of the group
(``{"item": "kids.born"}``) is checked against the same instance's date, at every check an
answer passes (the command line's score, an import, the web save); a bound that names a
group's question from outside the group, or one instance by its stored id, is refused in
plain words; FHIR tests the bound within each repetition of the group.

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
from formsengine.errors import SubmissionError

from .conftest import EXAMPLE_DEFINITIONS, example_definition
from .conftest import build_definition as build
from .conftest import definition_problems as problems

EXAMPLES = EXAMPLE_DEFINITIONS
EXAMPLE = EXAMPLES / "children-named.json"
INSTRUMENT = "example-children-named"

# child 1's first contact is after their birth; child 2's is before theirs
OUT_OF_ORDER = {"kids[1].name": "Sam", "kids[1].born": "2019-05-02",
                "kids[1].first_contact": "2020-01-10",
                "kids[2].name": "Alex", "kids[2].born": "2021-05-02",
                "kids[2].first_contact": "2020-01-10"}
MESSAGE = ("item kids[2].first_contact: Child 2: Date of first contact with the child must be "
           "on or after the date of birth of the child (2 May 2021)")


def example() -> dict:
    return example_definition(EXAMPLE.name)


def group_items(data: dict) -> list[dict]:
    return data["sections"][0]["repeat"]["items"]


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


def check(engine, answers: dict) -> list[str]:
    try:
        engine.check({"instrument": INSTRUMENT, "fields": {"assessment_date": "2026-03-12"},
                      "answers": answers})
    except SubmissionError as exc:
        return exc.problems
    return []


# --- the check of answers -------------------------------------------------------------

def test_each_instances_date_is_bounded_by_the_same_instances_date(engine):
    found = check(engine, OUT_OF_ORDER)
    assert len(found) == 1 and found[0].endswith(MESSAGE), found
    # child 2's first contact on its birthday is allowed (the bound is inclusive), and
    # child 1's birth (2019) does not bound child 2
    fine = dict(OUT_OF_ORDER, **{"kids[2].first_contact": "2021-05-02"})
    assert check(engine, fine) == []
    # a first contact before another child's birth is no concern
    assert check(engine, {"kids[1].born": "2021-05-02", "kids[2].first_contact": "2020-01-10",
                          "kids[2].name": "Alex"}) == []


def test_a_bound_with_no_date_given_in_the_same_instance_is_not_checked(engine):
    answers = {"kids[1].born": "2021-05-02", "kids[1].first_contact": "2022-01-01",
               "kids[2].first_contact": "2020-01-10"}
    assert check(engine, answers) == []


# --- the checks a definition must pass ------------------------------------------------

def test_the_example_is_valid_and_its_bound_names_the_group_question():
    inst = build(example())
    assert inst.items["kids[3].first_contact"].earliest == {"item": "kids.born"}


def test_a_bound_on_a_group_question_from_outside_the_group_is_refused_in_words():
    data = example()
    data["sections"][1]["items"].append(
        {"id": "plan.told", "type": "date", "label": "Date the school was told",
         "required": False, "earliest": {"item": "kids.born"}})
    assert problems(data) == [
        "$.items[plan.told].earliest: names 'kids.born', a question of repeating group "
        "'kids', which is asked once for each child: only the group's own date questions "
        "can be bounded by it (each by the date given for the same child); elsewhere, bound "
        "the date by a question or field asked once"]
    # one instance's stored id is no way round it (the schema allows no instance id)
    data["sections"][1]["items"][-1]["earliest"] = {"item": "kids[1].born"}
    assert "earliest.item: 'kids[1].born' does not match" in problems(data)[0]


def test_a_field_bounded_by_a_group_question_is_refused_in_words():
    data = example()
    data["fields"].append({"id": "seen_date", "type": "date", "label": "Date seen",
                           "latest": {"item": "kids.born"}})
    assert problems(data) == [
        "$.fields[seen_date].latest: names 'kids.born', a question of repeating group 'kids', "
        "which is asked once for each child: only the group's own date questions can be "
        "bounded by it (each by the date given for the same child); elsewhere, bound the "
        "date by a question or field asked once"]


def test_a_bound_on_a_later_or_unknown_group_question_is_refused_once():
    data = example()
    items = group_items(data)
    items[1]["earliest"] = {"item": "kids.first_contact"}
    assert problems(data) == [
        "$.items[kids.born].earliest: item 'kids.first_contact' comes later in the form; a "
        "date can only be bounded by one asked before it"]
    data = example()
    group_items(data)[3]["earliest"] = {"item": "kids.adopted"}
    assert problems(data) == ["$.items[kids.first_contact].earliest: unknown item "
                              "'kids.adopted'"]
    data = example()
    group_items(data)[3]["earliest"] = {"item": "kids.school"}
    assert problems(data) == ["$.items[kids.first_contact].earliest: item 'kids.school' is "
                              "choice, not a date"]


def test_a_group_date_may_still_be_bounded_by_a_field():
    data = copy.deepcopy(example())
    data["fields"].insert(0, {"id": "referral_date", "type": "date", "label": "Date of referral"})
    group_items(data)[3]["earliest"] = {"field": "referral_date"}
    inst = build(data)
    assert inst.items["kids[2].first_contact"].earliest == {"field": "referral_date"}


# --- other places a definition names a group's question -------------------------------

def test_an_item_set_that_would_leave_out_a_groups_questions_is_refused():
    data = example()
    data["scoring"]["scores"].append({"id": "at_school", "label": "At school", "type": "count",
                                      "items": {"section": "children"}, "values": ["yes"]})
    assert problems(data) == [
        "$.scoring.scores[2].items.section: section 'children' holds repeating group 'kids', "
        "whose questions are asked once for each child and would be left out: list the "
        "section's own items, and score the group with \"repeat\""]
    data = example()
    data["scoring"]["completeness_items"] = "all"
    assert problems(data) == [
        "$.scoring.completeness_items: \"all\" is every choice question asked once, and this "
        "instrument has repeating group 'kids', whose questions are asked once for each child "
        "and would be left out: list the items, and score the group with \"repeat\""]
    # a section without a group is as before
    data = example()
    data["scoring"]["scores"].append({"id": "told", "label": "Told", "type": "count",
                                      "items": {"section": "plan"}, "values": ["yes"]})
    assert build(data).item_set({"section": "plan"}) == ["plan.school_contact"]


def test_an_age_from_a_groups_date_is_refused_in_words():
    data = example()
    data["scoring"]["scores"].append({"id": "age", "label": "Age", "type": "age",
                                      "from": {"item": "kids.born"}})
    assert problems(data) == [
        "$.scoring.scores[2].from.item: 'kids.born' is a question of repeating group 'kids', "
        "asked once for each child; an age reads a date asked once (a date item outside the "
        "group or a date field)"]


def test_a_groups_question_testing_another_groups_question_is_refused_in_words():
    data = example()
    data["sections"][1]["repeat"] = {
        "id": "adults", "label": "Adult", "max": 3,
        "items": [{"id": "adults.age", "type": "integer", "label": "Age",
                   "show_when": {"item": "kids.school", "equals": "yes"}}]}
    assert ("$.items[adults.age].show_when: 'kids.school' is an item of repeating group "
            "'kids'; a group's items can test only the group's own items (of the same "
            "instance), ordinary items and fields") in problems(data)


# --- FHIR ---------------------------------------------------------------------------

def test_fhir_tests_the_bound_within_each_repetition_of_the_group():
    from formsengine.interop.fhir import questionnaire, validate

    q = questionnaire(build(example()))
    validate(q)
    group = next(i for s in q["item"] for i in s.get("item", []) if i["linkId"] == "kids")
    constraints = [e for e in group["extension"] if e["url"].endswith("/targetConstraint")]
    assert len(constraints) == 1
    parts = {p["url"]: p for p in constraints[0]["extension"]}
    assert parts["expression"]["valueExpression"]["expression"] == (
        "item.where(linkId='kids.first_contact').answer.value.empty() or "
        "item.where(linkId='kids.born').answer.value.empty() or "
        "item.where(linkId='kids.first_contact').answer.value >= "
        "item.where(linkId='kids.born').answer.value")
    assert "for the same child" in parts["human"]["valueString"]
    contact = next(i for i in group["item"] if i["linkId"] == "kids.first_contact")
    # on the question itself only its own bound (today)
    assert [e["url"].rsplit("/", 1)[-1] for e in contact.get("extension", [])] == [
        "targetConstraint"]
    assert "today()" in json.dumps(contact["extension"])


# --- the command line and the import --------------------------------------------------

def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(EXAMPLES),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env=env, timeout=180, cwd=tmp_path)


def test_the_command_line_score_and_an_import_refuse_the_instance(tmp_path):
    data = {"instrument": INSTRUMENT, "fields": {"assessment_date": "2026-03-01"},
            "answers": dict(OUT_OF_ORDER, **{"kids[1].school": "yes", "kids[2].school": "no",
                                             "plan.school_contact": "no"})}
    (tmp_path / "a.json").write_text(json.dumps(data))
    out = run(tmp_path, "score", INSTRUMENT, "a.json")
    assert out.returncode != 0 and MESSAGE in out.stdout + out.stderr, out.stdout + out.stderr
    assert run(tmp_path, "db", "init").returncode == 0
    line = {"person": "VS-1", "role": "victim_survivor", "occasion": "intake", **data}
    good = dict(line, person="VS-2", answers=dict(
        data["answers"], **{"kids[2].first_contact": "2021-06-01"}))
    (tmp_path / "in.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(line) + "\n")
    out = run(tmp_path, "assessments", "import", "in.jsonl")
    assert out.returncode != 0
    assert "line 2: " in out.stdout + out.stderr and MESSAGE in out.stdout + out.stderr, (
        out.stdout + out.stderr)
    (tmp_path / "ok.jsonl").write_text(json.dumps(good) + "\n")
    out = run(tmp_path, "assessments", "import", "ok.jsonl")
    assert out.returncode == 0 and "imported 1 assessment" in out.stdout, out.stdout + out.stderr
