"""formsengine-dvip: item ids, test vectors, and scoring through the real command line.

Engines under test load only this plugin (no installed entry points). The command-line tests
run the real ``formsengine`` command in a subprocess, which finds this plugin through its entry
point.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import formsengine_dvip
import pytest

from formsengine.engine import Engine
from formsengine.testing import plugin_engine, require_entry_point, run_cli
from formsengine.vectors import run_vector

HERE = Path(__file__).parent
ANSWERS = HERE / "answers"
DEFINITIONS = Path(formsengine_dvip.__file__).parent / "definitions"

BEHAVIOURS = [
    "dvip.pushing_shoving",
    "dvip.slapping",
    "dvip.punching",
    "dvip.kicking",
    "dvip.strangling_choking",
    "dvip.weapon_object",
    "dvip.sexual_violence",
    "dvip.threats_to_kill",
    "dvip.threats_with_weapon",
    "dvip.damaging_property",
    "dvip.restraining_locking_in",
    "dvip.violence_children_present",
    "dvip.violence_in_pregnancy",
]
BANDS = [("0", "0", 0), ("1", "1", 1), ("2", "2", 2), ("3", "3", 3), ("4", "4", 4),
         ("5-9", "5 to 10", 5), ("10-14", "10 to 15", 10), ("15-19", "15 to 20", 15),
         ("20+", "20+", 20)]
DYNAMIC = ["dvip_rf.denial", "dvip_rf.minimisation_blaming", "dvip_rf.hostility",
           "dvip_rf.lack_of_empathy", "dvip_rf.low_motivation", "dvip_rf.chaotic_substance_use",
           "dvip_rf.criminality", "dvip_rf.children_exposure"]
STATIC = ["dvip_rf.formal_violence_training", "dvip_rf.history_strangulation",
          "dvip_rf.sexual_violence", "dvip_rf.previous_dv_conviction",
          "dvip_rf.violence_previous_partners"]
OCCASIONS = ["assessment", "week_12", "week_32"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return plugin_engine(formsengine_dvip)


def shipped_vectors() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DEFINITIONS.glob("*.json")):
        data = json.loads(path.read_text())
        out += [(data["id"], v["name"]) for v in data["test_vectors"]]
    return out


# -- the definitions -----------------------------------------------------------------------------
def test_the_plugin_registers_its_two_instruments(engine):
    assert formsengine_dvip.definition_files() == [
        "dvip-inventory-1.1.json", "dvip-inventory.json", "dvip-risk-factors-1.1.json",
        "dvip-risk-factors.json"]
    assert [i.key for i in engine.instruments] == [
        ("dvip-inventory", "1.0"), ("dvip-inventory", "1.1"), ("dvip-risk-factors", "1.0"),
        ("dvip-risk-factors", "1.1")]
    for inst in engine.instruments:
        assert inst.subject_role == "service_user"
        assert inst.occasions == OCCASIONS


def test_the_entry_point_is_installed():
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="formsengine")}
    assert found.get("dvip") == "formsengine_dvip"


def test_inventory_item_ids(engine):
    inst = engine.instruments.get("dvip-inventory")
    expected = []
    for b in BEHAVIOURS:
        expected += [b, f"{b}.source"]
    assert list(inst.items) == expected
    for b in BEHAVIOURS:
        assert inst.items[f"{b}.source"].type == "multi_choice"
        assert inst.items[f"{b}.source"].values == ("self_report", "partner", "records")


def test_inventory_frequency_bands(engine):
    item = engine.instruments.get("dvip-inventory").items["dvip.kicking"]
    known = [(o.value, o.label, o.numeric) for o in item.options if o.missing is None]
    assert known == BANDS
    assert item.option("not_known").missing == "not_known"
    assert item.option("not_known").numeric is None


def test_inventory_total_is_rebanded_with_the_same_bands(engine):
    scoring = engine.instruments.get("dvip-inventory").scoring
    for band in scoring["bands"]:
        cutoffs = band["cutoffs"]
        assert [(c["min"], c["label"]) for c in cutoffs] == [(n, label) for _, label, n in BANDS]
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", c["band"]) for c in cutoffs)


def test_inventory_gives_no_numeric_risk_total(engine):
    scoring = engine.instruments.get("dvip-inventory").scoring
    assert {s["id"] for s in scoring["scores"]} == {
        "disclosed_incidents", "behaviour_types_disclosed", "behaviours_not_known"}
    # 1.1: the minimum is the total's "at least" companion, added by the language
    assert {s["id"] for s in engine.instruments.get("dvip-inventory").score_specs} == {
        "disclosed_incidents", "disclosed_incidents_at_least", "behaviour_types_disclosed",
        "behaviour_types_disclosed_at_least", "behaviours_not_known"}
    assert "level" not in scoring
    assert not any("risk" in s["id"] for s in scoring["scores"])


def test_risk_factor_item_ids(engine):
    inst = engine.instruments.get("dvip-risk-factors")
    assert list(inst.items) == DYNAMIC + STATIC + ["dvip_rf.treatment_viability",
                                                   "dvip_rf.viability_reason"]
    assert inst.items["dvip_rf.denial"].values == (
        "not_present", "partly_present", "present", "not_known")
    assert inst.items["dvip_rf.history_strangulation"].values == ("yes", "no", "not_known")
    assert inst.items["dvip_rf.treatment_viability"].values == (
        "suitable", "suitable_with_conditions", "not_suitable_now")
    reason = inst.items["dvip_rf.viability_reason"]
    assert reason.type == "text" and reason.required is True
    assert "dvip_rf.viability_reason" in inst.completeness_items()


# -- the shipped test vectors, through the generic runner ---------------------------------------
@pytest.mark.parametrize(("instrument_id", "name"), shipped_vectors())
def test_shipped_vector(engine, instrument_id, name):
    inst = engine.instruments.get(instrument_id)
    vector = next(v for v in inst.test_vectors if v["name"] == name)
    outcome = run_vector(engine, inst, vector)
    assert outcome.passed, outcome.problems


@pytest.mark.parametrize(("value", "label", "lower"), BANDS)
def test_a_single_behaviour_lands_in_its_own_band(engine, value, label, lower):
    answers = {b: "0" for b in BEHAVIOURS} | {"dvip.punching": value}
    result = engine.score_data({"instrument": "dvip-inventory", "answers": answers})
    assert result["scores"]["disclosed_incidents"] == lower
    band_id = result["bands"]["disclosed_incidents"]
    cutoffs = engine.instruments.get("dvip-inventory").scoring["bands"][0]["cutoffs"]
    assert next(c["label"] for c in cutoffs if c["band"] == band_id) == label


# -- the real command line ---------------------------------------------------------------------
def score_file(instrument_id: str, name: str, cwd: Path) -> dict:
    require_entry_point("dvip", "formsengine_dvip")
    return run_cli("score", instrument_id, str(ANSWERS / name), cwd=cwd).json()


def test_cli_inventory_with_a_behaviour_not_known(tmp_path):
    result = score_file("dvip-inventory", "dvip-inventory-assessment.json", tmp_path)
    assert result["instrument"]["plugin"] == "dvip"
    # sexual violence is not known: the total and the number of behaviours are not known;
    # the total is at least 5+2+1+1+3+10+4, the behaviours at least 7
    assert result["scores"] == {"disclosed_incidents": None, "disclosed_incidents_at_least": 26,
                                "behaviour_types_disclosed": None,
                                "behaviour_types_disclosed_at_least": 7,
                                "behaviours_not_known": 1}
    assert result["bands"] == {"disclosed_incidents": None,
                               "disclosed_incidents_at_least": "n20_plus"}
    assert result["flags"] == {"strangulation": True, "weapons": False}
    assert result["complete"] is True


def test_cli_inventory_with_every_behaviour_known(tmp_path):
    result = score_file("dvip-inventory", "dvip-inventory-week12.json", tmp_path)
    assert result["scores"] == {"disclosed_incidents": 4, "disclosed_incidents_at_least": 4,
                                "behaviour_types_disclosed": 3,
                                "behaviour_types_disclosed_at_least": 3,
                                "behaviours_not_known": 0}
    assert result["bands"] == {"disclosed_incidents": "n4",
                               "disclosed_incidents_at_least": "n4"}
    assert result["flags"] == {"strangulation": False, "weapons": True}


def test_cli_risk_factors(tmp_path):
    result = score_file("dvip-risk-factors", "dvip-risk-factors-assessment.json", tmp_path)
    # one dynamic factor is not known: its counts are not known, at least 4 and 2
    assert result["scores"] == {"dynamic_present": None, "dynamic_present_at_least": 4,
                                "dynamic_partly_present": None,
                                "dynamic_partly_present_at_least": 2,
                                "dynamic_not_known": 1, "static_not_known": 1,
                                "viable": True, "viable_with_conditions": True}
    assert result["flags"] == {"strangulation_history": True,
                               "sexual_violence_history": False, "children_exposed": True}
    assert result["complete"] is True


def test_cli_viability_without_a_reason_is_incomplete(tmp_path):
    result = score_file("dvip-risk-factors", "dvip-risk-factors-no-reason.json", tmp_path)
    assert result["scores"]["viable"] is False
    assert result["complete"] is False
    assert result["unanswered_items"] == ["dvip_rf.viability_reason"]
    # a factor not known is not "not present"
    assert result["flags"]["children_exposed"] is False
    assert result["scores"]["dynamic_not_known"] == 1
    assert result["scores"]["static_not_known"] == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dvip-inventory-number-not-band.json", "item dvip.kicking: answer"),
        ("dvip-inventory-not-an-object.json", "is not of type 'object'"),
    ],
)
def test_cli_refuses_a_malformed_answers_file(tmp_path, name, message):
    done = run_cli("score", "dvip-inventory", str(ANSWERS / name), cwd=tmp_path)
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == ""
