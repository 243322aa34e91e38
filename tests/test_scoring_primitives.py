"""Scoring primitives added for instruments that record "not known" a lot.

- count ``missing: not_known_or_unanswered``: everything whose value is not known, whether it
  was answered "not known" (dont_know, declined, not_asked, not_known) or left unanswered;
- max with ``unknown_if_missing``: null while an unknown item could still raise the maximum,
  but the top value of the order once a known answer has it;
- ``completeness_items`` must name items that exist, and may name text items.
"""

from __future__ import annotations

import copy

import pytest

from formsengine.errors import DefinitionError
from formsengine.instruments import InstrumentRegistry, build_instrument
from formsengine.scoring import compute_score, declarative_score
from formsengine.submission import check_submission

ANSWER = [
    {"value": "yes", "label": "Yes"},
    {"value": "no", "label": "No"},
    {"value": "dont_know", "label": "Not known", "missing": "dont_know"},
    {"value": "declined", "label": "Declined", "missing": "declined", "incomplete": True},
]
SEVERITY = [
    {"value": "none", "label": "None"},
    {"value": "low", "label": "Low"},
    {"value": "high", "label": "High"},
    {"value": "not_known", "label": "Not known", "missing": "not_known"},
]
CHECKS = ["p.a", "p.b", "p.c", "p.d"]
RATINGS = ["p.r1", "p.r2", "p.r3"]

BASE = {
    "id": "primitives",
    "version": "1.0",
    "title": "Primitives",
    "provenance": "test",
    "licence": "test",
    "subject_role": "service_user",
    "occasions": ["intake"],
    "option_sets": {"answer": ANSWER, "severity": SEVERITY},
    "sections": [
        {"id": "checks", "title": "Checks",
         "items": [{"id": i, "type": "choice", "label": i, "options": "answer"} for i in CHECKS]},
        {"id": "ratings", "title": "Ratings",
         "items": [{"id": i, "type": "choice", "label": i, "options": "severity"}
                   for i in RATINGS]},
        {"id": "outcome", "title": "Outcome",
         "items": [
             {"id": "p.decision", "type": "choice", "label": "Decision",
              "options": [{"value": "go", "label": "Go"}, {"value": "stop", "label": "Stop"}]},
             {"id": "p.reason", "type": "text", "label": "Reason",
              "show_when": {"item": "p.decision", "answered": True}},
         ]},
    ],
    "scoring": {
        "scores": [
            {"id": "yes_count", "type": "count", "items": CHECKS, "values": ["yes"]},
            {"id": "unknown", "type": "count", "items": CHECKS,
             "missing": "not_known_or_unanswered"},
            {"id": "not_known", "type": "count", "items": CHECKS, "missing": "not_known"},
            {"id": "unanswered", "type": "count", "items": CHECKS, "missing": "unanswered"},
            {"id": "highest", "type": "max", "items": RATINGS,
             "order": ["none", "low", "high"], "unknown_if_missing": True},
            {"id": "highest_known", "type": "max", "items": RATINGS,
             "order": ["none", "low", "high"]},
            {"id": "strict_count", "type": "count", "items": CHECKS, "values": ["yes"],
             "unknown_if_missing": True},
        ],
    },
}


def definition(**scoring_changes) -> dict:
    data = copy.deepcopy(BASE)
    data["scoring"].update(scoring_changes)
    return data


@pytest.fixture(scope="module")
def inst():
    return build_instrument(definition(), plugin="test", plugin_version="0", source=None)


def score(inst, spec_id: str, answers: dict):
    spec = next(s for s in inst.scoring["scores"] if s["id"] == spec_id)
    return compute_score(inst, spec, answers)


# -- count missing: not_known_or_unanswered ---------------------------------------------------
@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"p.a": "yes", "p.b": "no", "p.c": "yes", "p.d": "no"}, 0),
        ({"p.a": "yes", "p.b": "dont_know", "p.c": "yes", "p.d": "no"}, 1),
        ({"p.a": "declined", "p.b": "dont_know", "p.c": "no"}, 3),
        ({"p.a": "yes"}, 3),
        ({}, 4),
    ],
)
def test_count_not_known_or_unanswered(inst, answers, expected):
    assert score(inst, "unknown", answers) == expected
    # it is exactly the two existing modes together
    assert expected == score(inst, "not_known", answers) + score(inst, "unanswered", answers)


def test_not_known_answers_are_never_counted_as_positive(inst):
    answers = {"p.a": "dont_know", "p.b": "declined"}
    assert score(inst, "yes_count", answers) == 0
    assert score(inst, "unknown", answers) == 4


def test_schema_refuses_an_unknown_missing_mode():
    data = definition()
    data["scoring"]["scores"][1]["missing"] = "unknowable"
    with pytest.raises(DefinitionError) as exc:
        build_instrument(data, plugin="test", plugin_version="0", source=None)
    assert "not_known_or_unanswered" in str(exc.value)


# -- max with unknown_if_missing ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("answers", "strict", "lenient"),
    [
        # everything known: both give the maximum
        ({"p.r1": "none", "p.r2": "low", "p.r3": "none"}, "low", "low"),
        ({"p.r1": "none", "p.r2": "none", "p.r3": "none"}, "none", "none"),
        # an unknown item could still raise a lower maximum: not known
        ({"p.r1": "low", "p.r2": "not_known", "p.r3": "none"}, None, "low"),
        ({"p.r1": "none", "p.r2": "none"}, None, "none"),
        # a known answer at the top of the order settles it, whatever the unknowns hold
        ({"p.r1": "high", "p.r2": "not_known"}, "high", "high"),
        ({"p.r3": "high"}, "high", "high"),
        # nothing known
        ({"p.r1": "not_known"}, None, None),
        ({}, None, None),
    ],
)
def test_max_unknown_if_missing_is_null_only_while_unknowns_could_raise_it(
        inst, answers, strict, lenient):
    assert score(inst, "highest", answers) == strict
    assert score(inst, "highest_known", answers) == lenient


def test_the_max_rule_does_not_touch_other_score_types(inst):
    # a count is never settled by one answer: with an unknown item it stays null
    answers = {"p.a": "yes", "p.b": "yes", "p.c": "yes", "p.d": "dont_know"}
    assert score(inst, "strict_count", answers) is None
    assert score(inst, "yes_count", answers) == 3


# -- completeness_items ------------------------------------------------------------------------
def test_completeness_items_must_exist():
    data = definition(completeness_items=["p.a", "p.nowhere"])
    with pytest.raises(DefinitionError) as exc:
        build_instrument(data, plugin="test", plugin_version="0", source=None)
    message = str(exc.value)
    assert "$.scoring.completeness_items[1]" in message
    assert "unknown item 'p.nowhere'" in message


def test_completeness_items_may_require_a_text_item_that_is_shown():
    data = definition(completeness_items=["p.decision", "p.reason"])
    inst = build_instrument(data, plugin="test", plugin_version="0", source=None)
    registry = InstrumentRegistry()
    registry.add(inst)

    def result(answers):
        _, sub = check_submission(registry, {"instrument": "primitives", "answers": answers})
        return declarative_score(inst, sub, {})

    no_reason = result({"p.decision": "stop"})
    assert no_reason["complete"] is False
    assert no_reason["unanswered_items"] == ["p.reason"]
    assert result({"p.decision": "stop", "p.reason": "because"})["complete"] is True
    # the reason is only asked once there is a decision: without one, only the decision is
    # missing
    assert result({})["unanswered_items"] == ["p.decision"]
