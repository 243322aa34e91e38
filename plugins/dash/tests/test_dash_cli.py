"""Hand-made answer files (``tests/answers/``) scored by the real ``formsengine score``
command, with the plugin found through its installed entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANSWERS = Path(__file__).parent / "answers"

NO_FLAGS = {"strangulation": False, "threat_to_kill": False, "stalking": False,
            "fear_of_being_killed": False, "sexual_abuse": False,
            "cluster_separation_control_violence": False}
NO_CRITERIA = {"visible_high_risk": False, "professional_judgement": False,
               "potential_escalation": False, "repeat_marac": False}


def flags(*raised):
    return {**NO_FLAGS, **{f: True for f in raised}}


def criteria(*met):
    return {**NO_CRITERIA, **{c: True for c in met}}


def score(cli, name):
    data = json.loads((ANSWERS / name).read_text(encoding="utf-8"))
    return cli("score", data["instrument"], ANSWERS / name).json()


@pytest.mark.parametrize("name,yes,band,met", [
    ("safelives-none.json", 0, "none", []),
    ("safelives-standard-9.json", 9, "standard", []),
    ("safelives-medium-10.json", 10, "medium", []),
    ("safelives-medium-13.json", 13, "medium", []),
    ("safelives-high-14.json", 14, "high", ["visible_high_risk"]),
    ("police-children.json", 4, "standard", []),
    ("police-high-27.json", 27, "high", ["visible_high_risk", "potential_escalation"]),
])
def test_band_boundaries(cli, name, yes, band, met):
    result = score(cli, name)
    assert result["scores"]["yes_count"] == yes
    assert result["bands"] == {"risk_band": band}
    assert result["level"] == {"computed": band, "judged": None, "final": band,
                               "judgement": None}
    assert result["criteria"] == criteria(*met)
    assert result["criteria_groups"] == {"marac": {"met": bool(met), "met_criteria": met}}
    assert result["complete"] is True
    assert result["wording"] == "paraphrase"
    assert result["instrument"]["plugin"] == "dash"
    assert result["instrument"]["plugin_version"] == "1.0.0"
    assert result["configuration"]["name"] == "defaults"


def test_every_item_yes_on_the_police_version(cli):
    result = score(cli, "police-high-27.json")
    assert result["scores"] == {"yes_count": 27, "answered": 27, "not_known_count": 0,
                                "unanswered_count": 0}
    assert result["flags"] == flags(*NO_FLAGS)


@pytest.mark.parametrize("name,met", [
    ("safelives-escalation-3.json", ["potential_escalation"]),
    ("safelives-escalation-5.json", ["potential_escalation"]),
    ("safelives-repeat-marac.json", ["repeat_marac"]),
    ("safelives-repeat-marac-expired.json", []),
    ("safelives-judgement-raise.json", ["professional_judgement"]),
])
def test_marac_criteria(cli, name, met):
    result = score(cli, name)
    assert result["criteria"] == criteria(*met)
    assert result["criteria_groups"]["marac"] == {"met": bool(met), "met_criteria": met}


@pytest.mark.parametrize("name,raised,band", [
    ("safelives-strangulation.json", ["strangulation"], "standard"),
    ("safelives-critical-flags.json",
     ["threat_to_kill", "stalking", "fear_of_being_killed", "sexual_abuse"], "standard"),
    ("safelives-cluster.json", ["cluster_separation_control_violence"], "standard"),
    ("safelives-cluster-incomplete.json", [], "standard"),
    ("safelives-none.json", [], "none"),
])
def test_critical_flags_whatever_the_total(cli, name, raised, band):
    result = score(cli, name)
    assert result["flags"] == flags(*raised)
    assert result["bands"]["risk_band"] == band
    assert result["criteria_groups"]["marac"]["met"] is False


def test_unknown_declined_and_not_asked(cli):
    result = score(cli, "safelives-unknowns.json")
    assert result["scores"] == {"yes_count": 2, "answered": 24, "not_known_count": 4,
                                "unanswered_count": 0}
    assert result["complete"] is False
    assert result["incomplete_items"] == {"dash.sexual_abuse": "declined",
                                          "dash.strangle_choke": "not_asked"}
    # Not asked is not no: the flags on those items are simply not raised.
    assert result["flags"] == NO_FLAGS
    assert any("incomplete" in w for w in result["warnings"])


def test_dont_know_leaves_the_assessment_complete(cli):
    result = score(cli, "safelives-dont-know-only.json")
    assert result["complete"] is True
    assert result["incomplete_items"] == {}
    assert result["scores"]["yes_count"] == 1
    assert result["scores"]["not_known_count"] == 3
    assert result["warnings"] == []


def test_professional_judgement_raises(cli):
    result = score(cli, "safelives-judgement-raise.json")
    level = result["level"]
    assert (level["computed"], level["judged"], level["final"]) == ("standard", "high", "high")
    assert level["judgement"]["applied"] is True
    assert level["judgement"]["by"] == "duty IDVA"
    assert level["judgement"]["reason"].startswith("Abuser released")
    assert result["bands"]["risk_band"] == "standard"  # the computed band is kept


def test_professional_judgement_never_lowers(cli):
    result = score(cli, "safelives-judgement-lower.json")
    level = result["level"]
    assert (level["computed"], level["judged"], level["final"]) == ("high", "medium", "high")
    assert level["judgement"]["applied"] is False
    assert result["criteria"] == criteria("visible_high_risk")
    assert any("never lower" in w for w in result["warnings"])


def test_stalking_supplement(cli):
    result = score(cli, "sdash-stalking.json")
    assert result["scores"] == {"yes_count": 3, "answered": 11, "not_known_count": 2,
                                "unanswered_count": 0}
    assert result["bands"] == {}
    assert result["level"] is None
    assert result["complete"] is False
    assert result["incomplete_items"] == {"sdash.9": "declined"}


@pytest.mark.parametrize("inst_id", ["dash-safelives", "dash-police", "sdash"])
def test_instruments_test_command_passes_every_vector(cli, inst_id):
    run = cli("instruments", "test", inst_id, "-v")
    assert run.code == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert all(line.startswith(f"PASS {inst_id} v1.0: ") for line in lines[:-1])
    assert lines[-1] == f"{len(lines) - 1} passed, 0 failed (1 instruments)"


def test_instruments_list_shows_the_plugin(cli):
    run = cli("instruments", "list", "--json")
    rows = {r["id"]: r for r in json.loads(run.stdout)}
    for inst_id in ("dash-safelives", "dash-police", "sdash"):
        assert rows[inst_id]["plugin"] == "dash"
        assert rows[inst_id]["plugin_version"] == "1.0.0"


def test_instruments_list_counts_the_checklist_items_apart_from_the_details(cli):
    rows = {r["id"]: r for r in cli("instruments", "list", "--json").json()}
    assert {i: (rows[i]["items"], rows[i]["details"])
            for i in ("dash-safelives", "dash-police", "sdash")} == {
        "dash-safelives": (24, 6), "dash-police": (27, 6), "sdash": (11, 0)}
    lines = {line.split()[0]: line for line in cli("instruments", "list").stdout.splitlines()}
    assert " 24 items + 6 details " in lines["dash-safelives"]
    assert " 27 items + 6 details " in lines["dash-police"]
    assert " 11 items " in lines["sdash"] and "detail" not in lines["sdash"]
