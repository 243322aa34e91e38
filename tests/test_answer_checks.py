"""Checks on answers declared in a definition (docs/examples/definitions/answer_checks.json):
an exclusive multiple-choice option, text lengths and patterns, date ranges, items required
to finalise, reversed items and sums of scores. The validator refuses each where it cannot
apply; the core refuses answers outside them; scoring reverses and adds as documented."""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
from pathlib import Path

import pytest

from formsengine.errors import DefinitionError, SubmissionError
from formsengine.instruments import build_instrument
from formsengine.scoring import compute_score
from formsengine.submission import Submission, missing_required_fields
from tests.conftest import DefinitionsPlugin, make_engine

EXAMPLE = Path(__file__).resolve().parents[1] / "docs/examples/definitions/answer_checks.json"


@pytest.fixture(scope="module")
def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def engine(example):
    return make_engine(DefinitionsPlugin(example))


def problems_of(definition: dict) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        build_instrument(definition, plugin="t", plugin_version="0", source=None)
    return caught.value.problems


def item(definition: dict, item_id: str) -> dict:
    return next(i for s in definition["sections"] for i in s["items"] if i["id"] == item_id)


def test_the_documented_example_loads_and_its_vectors_pass(engine):
    from formsengine.vectors import run_vectors

    outcomes = run_vectors(engine, "example-answer-checks")
    assert len(outcomes) == 6
    assert all(o.passed for o in outcomes), [o.problems for o in outcomes if not o.passed]


def check(engine, answers, fields=None):
    return engine.check({"instrument": "example-answer-checks", "answers": answers,
                         "fields": fields or {}})


def test_an_exclusive_option_stands_alone(engine):
    check(engine, {"ex.contact_ways": ["none"]})
    check(engine, {"ex.contact_ways": ["phone", "text", "email"]})
    with pytest.raises(SubmissionError, match="cannot be chosen with another answer"):
        check(engine, {"ex.contact_ways": ["email", "none"]})


@pytest.mark.parametrize(("typed", "refused"), [
    ("07700 900123", None), ("0123456789", None),
    ("012345678", "at least 10 characters"),
    ("07700 9001234567", "the limit is 13"),
    ("17700 900123", "Enter a UK phone number"),
    ("07700 900123\n", "Enter a UK phone number"),  # the whole answer must match
    ("x07700 900123", "Enter a UK phone number"),
])
def test_text_lengths_and_a_full_match_pattern(engine, typed, refused):
    answers = {"ex.contact_ways": ["phone"], "ex.safe_number": typed}
    if refused is None:
        check(engine, answers)
    else:
        with pytest.raises(SubmissionError, match=refused):
            check(engine, answers)


def test_date_bounds_today_a_written_date_and_another_date(engine):
    today = dt.date.today()
    check(engine, {"ex.first_incident": today.isoformat()})
    with pytest.raises(SubmissionError, match="Date of the first incident must not be in "
                                              "the future"):
        check(engine, {"ex.first_incident": (today + dt.timedelta(days=1)).isoformat()})
    with pytest.raises(SubmissionError, match="must be on or after 1 January 1950"):
        check(engine, {"ex.first_incident": "1949-12-31"})
    # the other date not given: nothing to compare with
    check(engine, {"ex.latest_incident": "2020-01-01"})
    check(engine, {"ex.first_contact": "2020-01-01"})
    # the same day is allowed (inclusive)
    check(engine, {"ex.first_contact": "2026-01-10"}, {"referral_date": "2026-01-10"})
    with pytest.raises(SubmissionError, match="on or after the date of referral "
                                              r"\(10 January 2026\)"):
        check(engine, {"ex.first_contact": "2026-01-09"}, {"referral_date": "2026-01-10"})


def test_required_to_finalise_counts_not_known_and_skips_hidden_items(engine, example):
    inst = engine.instruments.get("example-answer-checks")
    sub = Submission(inst.id, inst.version, answers={}, fields={"assessment_date": "x"})
    assert missing_required_fields(inst, sub) == ["ex.contact_ways", "ex.feel_safe"]
    sub.answers = {"ex.contact_ways": ["none"], "ex.feel_safe": "not_known"}
    assert missing_required_fields(inst, sub) == []
    # an item its show condition hides is not needed
    hidden = copy.deepcopy(example)
    hidden["required_to_finalise"] = ["ex.safe_number"]
    inst = build_instrument(hidden, plugin="t", plugin_version="0", source=None)
    sub = Submission(inst.id, inst.version, answers={"ex.contact_ways": ["email"]},
                     fields={"assessment_date": "x"})
    assert missing_required_fields(inst, sub) == []
    sub.answers = {"ex.contact_ways": ["text"]}
    assert missing_required_fields(inst, sub) == ["ex.safe_number"]


def test_storing_a_final_assessment_without_a_required_item_is_refused(engine, tmp_path):
    from formsengine.store import Store

    inst, sub = check(engine, {"ex.contact_ways": ["none"]}, {"assessment_date": "2026-01-20"})
    store = Store.open(str(tmp_path / "t.db"), engine, create=True)
    try:
        person = store.ensure_person("P-1", "victim_survivor")
        with pytest.raises(SubmissionError, match="ex.feel_safe is required before"):
            store.create_assessment(inst, sub, person_id=person, occasion="intake")
        draft = store.create_assessment(inst, sub, person_id=person, occasion="intake",
                                        status="draft")
        assert draft
    finally:
        store.close()


def test_reversed_items_and_a_sum_of_scores(engine):
    inst, sub = check(engine, {"ex.feel_safe": "1", "ex.sleep_well": "1", "ex.worried": "5",
                               "ex.checks_phone": "5"})
    scores = engine.score(inst, sub)["scores"]
    # worried 5 counts 1 (reverse: true); feel_safe 1 counts 5 in unease (reverse list)
    assert scores["wellbeing"] == 3 and scores["unease"] == 10 and scores["total"] == 13
    inst, sub = check(engine, {"ex.feel_safe": "3", "ex.sleep_well": "3", "ex.worried": "3",
                               "ex.checks_phone": "not_known"})
    scores = engine.score(inst, sub)["scores"]
    assert scores["wellbeing"] == 9 and scores["unease"] == 3  # ignores the unknown
    assert scores["total"] == 12


def test_compute_score_adds_a_sums_scores_as_the_engine_does(engine):
    """The one-score helper gives what the engine gives, a sum of scores included."""
    for answers in ({"ex.feel_safe": "1", "ex.sleep_well": "1", "ex.worried": "5",
                     "ex.checks_phone": "5"},
                    {"ex.feel_safe": "3", "ex.sleep_well": "3", "ex.worried": "3",
                     "ex.checks_phone": "not_known"}):
        inst, sub = check(engine, answers)
        scored = engine.score(inst, sub)["scores"]
        for spec in inst.scoring["scores"]:
            assert compute_score(inst, spec, sub.answers, sub.fields) == scored[spec["id"]]


BAD = [
    (lambda d: item(d, "ex.feel_safe").update(options=[
        {"value": "a", "label": "A"}, {"value": "b", "label": "B", "exclusive": True}]),
     "only a multiple-choice item has answers to exclude"),
    (lambda d: item(d, "ex.contact_ways")["options"].append({"value": "post", "label": "Post"}),
     "exclusive options come after the others (move 'post' before 'none')"),
    (lambda d: item(d, "ex.safe_number").update(min_length=20),
     "the shortest length (20) is above the longest (max_length 13)"),
    (lambda d: item(d, "ex.safe_number").update(pattern="0[0-9"),
     "pattern: not a regular expression Python can use"),
    (lambda d: item(d, "ex.feel_safe").update(pattern="x"), "only a text item takes pattern"),
    (lambda d: item(d, "ex.safe_number").update(pattern="(0[0-9]+)+"),
     "a repetition inside a repetition (such as (a+)+) can take very long to check"),
    (lambda d: item(d, "ex.safe_number").update(pattern="(0)[0-9]+\\1"),
     "back-references are not allowed in a pattern"),
    (lambda d: item(d, "ex.safe_number").pop("pattern"),
     "pattern_message: give the pattern it explains"),
    (lambda d: item(d, "ex.safe_number").update(latest="today"),
     "only a date item takes latest"),
    (lambda d: item(d, "ex.first_incident").update(earliest={"item": "ex.latest_incident"}),
     "item 'ex.latest_incident' comes later in the form"),
    (lambda d: item(d, "ex.first_incident").update(earliest={"item": "ex.first_incident"}),
     "a date cannot be bounded by itself"),
    (lambda d: item(d, "ex.first_incident").update(earliest={"item": "ex.nowhere"}),
     "unknown item 'ex.nowhere'"),
    (lambda d: item(d, "ex.first_incident").update(earliest={"item": "ex.safe_number"}),
     "item 'ex.safe_number' is text, not a date"),
    (lambda d: d["fields"][0].update(earliest={"field": "referral_date"}),
     "field 'referral_date' comes later in the form"),
    (lambda d: item(d, "ex.first_incident").update(earliest="today"),
     "\"today\" can only be the latest date"),
    (lambda d: item(d, "ex.first_incident").update(earliest="2030-01-01", latest="2029-01-01"),
     "the earliest date (2030-01-01) is after the latest (2029-01-01)"),
    (lambda d: d.update(required_to_finalise=["ex.feel_safe", "ex.nowhere", "ex.feel_safe"]),
     "$.required_to_finalise[1]: unknown item 'ex.nowhere'"),
    (lambda d: d.update(required_to_finalise=["ex.feel_safe", "ex.feel_safe"]),
     "item 'ex.feel_safe' is listed more than once"),
    (lambda d: item(d, "ex.contact_ways").update(reverse=True),
     "only a single-choice item is reversed"),
    (lambda d: d["scoring"]["scores"][1].update(reverse=["ex.sleep_well"]),
     "item 'ex.sleep_well' is not one of the sum's items"),
    (lambda d: d["scoring"]["scores"][0].update(reverse=["ex.worried"]),
     "reversing it again would undo it"),
    (lambda d: d["scoring"]["scores"][0].update(scores=["total"]),
     "'total' is not a score declared before this one"),
    (lambda d: d["scoring"]["scores"][2].update(scores=["total"]),
     "a sum cannot add itself"),
    (lambda d: d["scoring"]["scores"].insert(0, {"id": "feels", "type": "indicator",
                                                 "item": "ex.feel_safe", "values": ["5"]})
     or d["scoring"]["scores"][3]["scores"].append("feels"),
     "'feels' is a indicator score; a sum adds counts and sums"),
    (lambda d: d["scoring"]["scores"].append({"id": "n", "type": "count", "values": ["5"],
                                              "items": ["ex.feel_safe"], "reverse": ["x.y"]}),
     "only a sum takes reverse"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_the_validator_refuses_checks_that_cannot_apply(example, change, message):
    broken = copy.deepcopy(example)
    change(broken)
    problems = problems_of(broken)
    assert any(message in p for p in problems), problems


def test_the_fhir_questionnaire_keeps_the_answer_checks(engine):
    pytest.importorskip("fhir.resources")
    from formsengine.interop.fhir import EXTENSION, questionnaire, validate

    resource = questionnaire(engine.instruments.get("example-answer-checks"))
    validate(resource)
    items = {i["linkId"]: i for g in resource["item"] for i in g["item"]}
    none = items["ex.contact_ways"]["answerOption"][-1]
    assert none["valueCoding"]["code"] == "none"
    assert none["extension"] == [{"url": f"{EXTENSION}/questionnaire-optionExclusive",
                                  "valueBoolean": True}]
    assert "extension" not in items["ex.contact_ways"]["answerOption"][0]
    number = items["ex.safe_number"]
    assert number["maxLength"] == 13
    assert {"url": f"{EXTENSION}/minLength", "valueInteger": 10} in number["extension"]
    assert {"url": f"{EXTENSION}/regex", "valueString": "0[0-9 ]{9,12}"} in number["extension"]
    assert number["required"] is False  # asked only when phone or text is ticked
    assert {"url": f"{EXTENSION}/minValue", "valueDate": "1950-01-01"} in (
        items["ex.first_incident"]["extension"])
    assert items["ex.contact_ways"]["required"] is True
    # "today" and a bound on another answer: FHIRPath constraints with words beside them
    constraints = {
        c["extension"][0]["valueId"]: {e["url"]: e for e in c["extension"]}
        for c in items["ex.latest_incident"]["extension"]
        if c["url"] == f"{EXTENSION}/targetConstraint"}
    after = constraints["ex.latest-incident-minvalue"]
    assert after["expression"]["valueExpression"]["expression"] == (
        "answer.value.empty() or "
        "%resource.repeat(item).where(linkId='ex.first_incident').answer.value.empty() or "
        "answer.value >= %resource.repeat(item).where(linkId='ex.first_incident').answer.value")
    assert after["human"]["valueString"] == (
        "The date cannot be before the date given for \u201cDate of the first incident\u201d")
    today = constraints["ex.latest-incident-maxvalue"]
    assert today["expression"]["valueExpression"]["expression"] == (
        "answer.value.empty() or answer.value <= today()")
    assert today["severity"]["valueCode"] == "error"
    fields = {i["linkId"]: i for i in resource["item"][-2]["item"]}
    assert "targetConstraint" in fields["field.referral_date"]["extension"][0]["url"]


def test_the_codebook_says_which_item_is_reversed_and_which_option_stands_alone(
        engine, tmp_path):
    pytest.importorskip("pandas")
    from formsengine.exports.keys import create_key_file
    from formsengine.exports.research import ResearchOptions, export_research
    from formsengine.store import Store

    store = Store.open(str(tmp_path / "t.db"), engine, create=True)
    try:
        for n in range(5):
            inst, sub = check(engine, {"ex.contact_ways": ["none"], "ex.feel_safe": "4",
                                       "ex.worried": "2"}, {"assessment_date": "2026-01-20"})
            person = store.ensure_person(f"P-{n}", "victim_survivor")
            store.create_assessment(inst, sub, person_id=person, occasion="intake")
        key = tmp_path / "project.key"
        create_key_file(key, "answer-checks")
        out = tmp_path / "out"
        export_research(store, ResearchOptions(
            project="answer-checks", out=out, key_file=key, formats=["csv"],
            purpose="codebook notes", codebook_pdf=False))
    finally:
        store.close()
    codebook = html.unescape((out / "codebook.html").read_text(encoding="utf-8"))
    assert "Counted reversed in sum scores" in codebook
    assert codebook.count("Counted reversed in sum scores") == 1  # ex.worried only
    assert "An exclusive option: when it is 1, every other option" in codebook
