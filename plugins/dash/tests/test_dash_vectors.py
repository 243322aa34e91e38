"""The golden test vectors shipped inside each definition, run by the core's generic runner
(the same one behind ``formsengine instruments test``), and a check that they cover what the
specification asks for."""

from __future__ import annotations

import json
from importlib import resources

import formsengine_dash
import pytest

from formsengine.engine import Engine
from formsengine.vectors import run_vector, run_vectors


def _vectors():
    for name in formsengine_dash.definition_files():
        text = resources.files("formsengine_dash").joinpath("definitions", name).read_text()
        definition = json.loads(text)
        for index, vector in enumerate(definition["test_vectors"]):
            yield pytest.param(definition["id"], index, id=f"{definition['id']}: {vector['name']}")


VECTORS = list(_vectors())


@pytest.mark.parametrize("inst_id,index", VECTORS)
def test_vector(engine: Engine, inst_id: str, index: int):
    inst = engine.instruments.get(inst_id)
    outcome = run_vector(engine, inst, inst.test_vectors[index])
    assert outcome.passed, "\n".join(outcome.problems)


def test_runner_passes_every_vector(engine: Engine):
    outcomes = run_vectors(engine)
    assert len(outcomes) == len(VECTORS)
    assert [o.name for o in outcomes if not o.passed] == []


@pytest.mark.parametrize("inst_id,maximum", [("dash-safelives", 24), ("dash-police", 27)])
def test_vectors_cover_the_specification(engine: Engine, inst_id: str, maximum: int):
    vectors = [(v, v["expect"]) for v in engine.instruments.get(inst_id).test_vectors]
    scored = [(v, e) for v, e in vectors if "expect_error" not in v]
    # Every band boundary, with the band it falls in.
    bands = {e["scores"]["yes_count"]: e["bands"]["risk_band"] for v, e in scored
             if "parameters" not in v and "bands" in e}
    for count, band in ((0, "none"), (1, "standard"), (9, "standard"), (10, "medium"),
                        (13, "medium"), (14, "high"), (maximum, "high")):
        assert bands.get(count) == band, count
    # Each MARAC criterion met and not met.
    for criterion in ("visible_high_risk", "professional_judgement", "potential_escalation",
                      "repeat_marac"):
        seen = {e["criteria"][criterion] for v, e in scored if criterion in e.get("criteria", {})}
        assert seen == {True, False}, criterion
    # Escalation at 4 and 5 with the threshold set to 5 for the vector.
    at_five = {v["fields"]["police_incidents_12m"]: e["criteria"]["potential_escalation"]
               for v, e in scored
               if v.get("parameters") == {"marac_escalation_incidents": 5}}
    assert at_five == {4: False, 5: True}
    # Each flag raised and not raised.
    for flag in ("strangulation", "threat_to_kill", "stalking", "fear_of_being_killed",
                 "sexual_abuse", "cluster_separation_control_violence"):
        seen = {e["flags"][flag] for v, e in scored if flag in e.get("flags", {})}
        assert seen == {True, False}, flag
    # Judgement that raises and judgement that tries to lower.
    applied = {(e["level"]["computed"], e["level"]["judged"]): e["level"]["judgement"]["applied"]
               for v, e in scored if e.get("level", {}).get("judged")}
    assert applied[("standard", "high")] is True
    assert applied[("high", "standard")] is False
    # Refusals: a value that is not an option, a judgement level that does not exist.
    errors = " | ".join(v["expect_error"] for v, _ in vectors if "expect_error" in v)
    assert "answer 'maybe' is not one of" in errors
    assert "judgement level 'very_high' is not one of" in errors


@pytest.mark.parametrize("inst_id", ["dash-safelives", "dash-police"])
def test_unknown_answers_are_never_yes_or_no(engine: Engine, inst_id: str):
    """Scored directly: each not-known kind on every item scores nothing and is reported."""
    inst = engine.instruments.get(inst_id)
    ids = [i.id for i in inst.items.values() if i.show_when is None]
    for value, complete in (("dont_know", True), ("declined", False), ("not_asked", False)):
        result = engine.score_data({"instrument": inst_id,
                                    "answers": {i: value for i in ids}})
        assert result["complete"] is complete
        assert result["scores"] == {"yes_count": 0, "answered": len(ids),
                                    "not_known_count": len(ids), "unanswered_count": 0}
        assert not any(result["flags"].values())
        expected = {} if complete else {i: value for i in ids}
        assert result["incomplete_items"] == expected
