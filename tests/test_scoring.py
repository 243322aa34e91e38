"""The declarative scoring engine, through the engine's score_assessment hook."""

from __future__ import annotations

import pytest

from formsengine.errors import ConfigError, SubmissionError

from .conftest import answers


def score(engine, data, **params):
    inst, sub = engine.check(data)
    return engine.score(inst, sub, params or None)


@pytest.mark.parametrize("yes_items, count, band", [
    ((), 0, "low"),
    (("a",), 1, "low"),
    (("a", "b"), 2, "medium"),
    (("a", "b", "c"), 3, "high"),
    (("a", "b", "c", "d"), 4, "high"),
])
def test_count_and_band_boundaries(engine, yes_items, count, band):
    result = score(engine, answers(**{i: "yes" for i in yes_items}))
    assert result["scores"]["yes_count"] == count
    assert result["bands"]["risk_band"] == band
    assert result["level"]["computed"] == band == result["level"]["final"]


@pytest.mark.parametrize("value", ["dont_know", "declined", "not_asked"])
def test_not_known_answers_are_neither_yes_nor_no(engine, value):
    result = score(engine, answers(a="yes", b=value))
    s = result["scores"]
    assert s["yes_count"] == 1
    assert s["not_known_count"] == 1
    assert s["answered"] == 4
    # strict_count needs both a and b known: it must not treat b as "no"
    assert s["strict_count"] is None
    assert s["combination"] == "first"


@pytest.mark.parametrize("value, complete", [
    ("dont_know", True), ("declined", False), ("not_asked", False), ("no", True)])
def test_completeness(engine, value, complete):
    result = score(engine, answers(b=value))
    assert result["complete"] is complete
    if not complete:
        assert result["incomplete_items"] == {"toy.b": value}
        assert any("incomplete" in w for w in result["warnings"])


def test_unanswered_item_makes_incomplete(engine):
    data = answers()
    del data["answers"]["toy.d"]
    result = score(engine, data)
    assert result["complete"] is False
    assert result["unanswered_items"] == ["toy.d"]
    assert result["scores"]["unanswered_count"] == 1


def test_sum_max_indicator(engine):
    r = score(engine, answers(physical="moderate", sexual="standard"))
    assert r["scores"]["severity_sum"] == 3
    assert r["scores"]["highest"] == "moderate"
    assert r["scores"]["using_physical"] is True
    r = score(engine, answers(physical="none", sexual="not_known"))
    assert r["scores"]["severity_sum"] == 0
    assert r["scores"]["highest"] == "none"
    assert r["scores"]["using_physical"] is False
    r = score(engine, answers(physical="not_known"))
    assert r["scores"]["using_physical"] is None  # not known is not "not using"
    assert r["scores"]["highest"] is None


def test_combination(engine):
    assert score(engine, answers(a="yes", b="yes"))["scores"]["combination"] == "first+second"
    assert score(engine, answers())["scores"]["combination"] == "none"


def test_flags_and_cluster(engine):
    r = score(engine, answers(b="yes", c="yes", d="yes"))
    assert r["flags"] == {"first": False, "kind_two": False, "cluster": True}
    r = score(engine, answers(b="yes", c="yes"))
    assert r["flags"]["cluster"] is False
    r = score(engine, answers(a="yes", a__what=["two"]))
    assert r["flags"]["kind_two"] is True and r["flags"]["first"] is True


def test_judgement_raises_but_never_lowers(engine):
    data = answers(a="yes")
    data["judgement"] = {"level": "high", "reason": "recent escalation", "by": "Assessor A"}
    r = score(engine, data)
    assert r["level"] == {"computed": "low", "judged": "high", "final": "high",
                          "judgement": {**data["judgement"], "applied": True}}
    assert r["criteria"]["judged_high"] is True
    data = answers(a="yes", b="yes", c="yes")
    data["judgement"] = {"level": "low", "reason": "seems calmer", "by": "Assessor A"}
    r = score(engine, data)
    assert r["level"]["computed"] == "high" and r["level"]["final"] == "high"
    assert r["level"]["judgement"]["applied"] is False
    assert any("never lower" in w for w in r["warnings"])


@pytest.mark.parametrize("judgement, message", [
    ({"level": "extreme", "reason": "x", "by": "y"}, "not one of low, medium, high"),
    ({"level": "high", "reason": " ", "by": "y"}, "needs a reason"),
    ({"level": "high", "reason": "x", "by": " "}, "assessor's name"),
    ({"level": "high", "by": "y"}, "'reason' is a required property"),
])
def test_judgement_needs_level_reason_and_name(engine, judgement, message):
    data = answers()
    data["judgement"] = judgement
    with pytest.raises(SubmissionError) as exc:
        score(engine, data)
    assert message in str(exc.value)


@pytest.mark.parametrize("incidents, met", [(2, False), (3, True), (40, True)])
def test_field_threshold_criterion(engine, incidents, met):
    data = answers()
    data["fields"]["incidents"] = incidents
    r = score(engine, data)
    assert r["criteria"]["escalation"] is met
    assert r["criteria_groups"]["refer"]["met"] is met


def test_parameter_override_changes_threshold_and_is_recorded(engine):
    data = answers()
    data["fields"]["incidents"] = 4
    r = score(engine, data, escalation=5)
    assert r["criteria"]["escalation"] is False
    assert r["configuration"]["parameters"]["escalation"] == 5
    assert r["configuration"]["overridden"] == ["escalation"]
    default = score(engine, data)
    assert default["criteria"]["escalation"] is True
    assert default["configuration"]["hash"] != r["configuration"]["hash"]


@pytest.mark.parametrize("last, date, met", [
    ("2025-01-10", "2026-01-10", True),    # exactly 12 months
    ("2025-01-09", "2026-01-10", False),   # a day over
    ("2026-01-10", "2026-01-10", True),    # same day
    ("2026-02-01", "2026-01-10", False),   # referral after the assessment date
    ("2024-02-29", "2025-02-28", True),    # leap day: 12 months on is 28 February
    (None, "2026-01-10", False),           # no previous referral: not known, not met
])
def test_date_within_months(engine, last, date, met):
    data = answers()
    data["fields"] = {"assessment_date": date}
    if last:
        data["fields"]["last_referral"] = last
    assert score(engine, data)["criteria"]["repeat"] is met


def test_criteria_false_for_want_of_information_are_listed_as_not_known(engine):
    data = answers()
    data["fields"] = {"assessment_date": "2026-01-10"}
    r = score(engine, data)  # no incidents, no last referral recorded
    assert r["criteria"]["escalation"] is False and r["criteria"]["repeat"] is False
    assert set(r["criteria_not_known"]) == {"escalation", "repeat"}
    data["fields"].update(incidents=1, last_referral="2020-01-01")
    r = score(engine, data)  # both recorded, neither met: not met, and known
    assert r["criteria"]["escalation"] is False and r["criteria"]["repeat"] is False
    assert r["criteria_not_known"] == []


def test_result_records_instrument_scorer_and_configuration(engine):
    r = score(engine, answers())
    assert r["instrument"]["id"] == "toy-checklist" and r["instrument"]["version"] == "1.0"
    assert r["instrument"]["plugin"] == "test-plugin"
    assert r["scorer"]["plugin"] == "formsengine.default_plugins.declarative_scoring"
    assert r["configuration"]["name"] == "defaults"
    assert r["configuration"]["hash"].startswith("sha256:")
    assert r["wording"] == "paraphrase"


@pytest.mark.parametrize("bad, message", [
    ({"escalation": "five"}, "must be a whole number"),
    ({"escalation": 0}, "at least 1"),
    ({"nonsense": 1}, "has no parameter 'nonsense'"),
    ({"risk_cutoffs": [{"min": 3, "band": "low"}, {"min": 1, "band": "high"}]}, "must rise"),
    ({"risk_cutoffs": [{"min": 0, "band": "purple"}]}, "unknown band"),
])
def test_bad_parameter_overrides(engine, bad, message):
    with pytest.raises(ConfigError) as exc:
        score(engine, answers(), **bad)
    assert message in str(exc.value)


def test_client_sent_scores_are_refused(engine):
    data = answers()
    data["scores"] = {"yes_count": 99}
    with pytest.raises(SubmissionError) as exc:
        score(engine, data)
    assert "Additional properties are not allowed ('scores'" in str(exc.value)


@pytest.mark.parametrize("incidents, met", [(0, False), (1, True), (5, True), (6, False)])
def test_condition_with_two_tests_is_a_range(toy, incidents, met):
    from .conftest import DefinitionsPlugin, make_engine

    toy["scoring"]["criteria"][2]["when"] = {"field": "incidents", "gte": 1, "lte": 5}
    engine = make_engine(DefinitionsPlugin(toy))
    data = answers()
    data["fields"]["incidents"] = incidents
    assert score(engine, data)["criteria"]["escalation"] is met
