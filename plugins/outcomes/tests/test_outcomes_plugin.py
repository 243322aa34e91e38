"""formsengine-outcomes: item ids, test vectors, and scoring through the real command line.

Engines under test load only this plugin (no installed entry points). The command-line tests
run the real ``formsengine`` command in a subprocess, which finds this plugin through its entry
point.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import formsengine_outcomes
import pytest

from formsengine.engine import Engine
from formsengine.testing import plugin_engine, require_entry_point, run_cli
from formsengine.vectors import run_vector

HERE = Path(__file__).parent
ANSWERS = HERE / "answers"
DEFINITIONS = Path(formsengine_outcomes.__file__).parent / "definitions"

TYPES = ["physical", "sexual", "harassment_stalking", "jealousy_control"]
SEVERITY_ITEMS = [f"idva.{t}" for t in TYPES]
SEVERITY_SCORES = [f"using_{t}" for t in TYPES] + ["types_used", "types_not_known",
                                                  "highest_severity"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return plugin_engine(formsengine_outcomes)


def shipped_vectors() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DEFINITIONS.glob("*.json")):
        if path.name.endswith(".wording.json"):
            continue  # a wording pack (the intake record's Welsh words)
        data = json.loads(path.read_text())
        out += [(data["id"], v["name"]) for v in data["test_vectors"]]
    return out


# -- the definitions -----------------------------------------------------------------------------
def test_the_plugin_registers_its_two_instruments(engine):
    assert formsengine_outcomes.definition_files() == ["idva-exit.json", "idva-intake.json"]
    assert [i.id for i in engine.instruments] == ["idva-exit", "idva-intake"]
    for inst in engine.instruments:
        assert inst.subject_role == "victim_survivor"


def test_the_entry_point_is_installed():
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="formsengine")}
    assert found.get("outcomes") == "formsengine_outcomes"


def test_occasions(engine):
    assert engine.instruments.get("idva-intake").occasions == ["intake"]
    assert engine.instruments.get("idva-exit").occasions == ["review", "exit"]


def test_intake_item_ids(engine):
    inst = engine.instruments.get("idva-intake")
    assert list(inst.items) == SEVERITY_ITEMS
    assert inst.items["idva.physical"].values == (
        "none", "standard", "moderate", "high", "not_known", "declined")
    assert [s["id"] for s in inst.scoring["scores"]] == SEVERITY_SCORES


def test_exit_item_ids(engine):
    inst = engine.instruments.get("idva-exit")
    assert list(inst.items) == SEVERITY_ITEMS + [
        "idva.risk_change", "idva.own_safety", "idva.has_children", "idva.children_safety",
        "idva.quality_of_life", "idva.ceased.all"] + [f"idva.ceased.{t}" for t in TYPES]
    items = inst.items
    assert items["idva.risk_change"].values == (
        "permanently_eliminated", "significantly_reduced", "moderately_reduced", "no_change",
        "increased", "not_known")
    for view in ("idva.own_safety", "idva.children_safety"):
        assert items[view].values[:4] == ("much_safer", "safer", "same", "less_safe")
    assert items["idva.quality_of_life"].values[:4] == (
        "much_improved", "improved", "same", "worse")
    assert [s["id"] for s in inst.scoring["scores"]] == SEVERITY_SCORES + [
        "risk_reduced", "risk_eliminated", "risk_increased", "feels_safer", "children_safer",
        "quality_of_life_improved", "all_abuse_ceased", "types_continuing"]


def test_intake_and_exit_share_the_severity_items(engine):
    intake = engine.instruments.get("idva-intake")
    exit_ = engine.instruments.get("idva-exit")
    for item_id in SEVERITY_ITEMS:
        assert intake.items[item_id].options == exit_.items[item_id].options


# -- the shipped test vectors, through the generic runner ---------------------------------------
@pytest.mark.parametrize(("instrument_id", "name"), shipped_vectors())
def test_shipped_vector(engine, instrument_id, name):
    inst = engine.instruments.get(instrument_id)
    vector = next(v for v in inst.test_vectors if v["name"] == name)
    outcome = run_vector(engine, inst, vector)
    assert outcome.passed, outcome.problems


@pytest.mark.parametrize("missing", ["not_known", "declined", None])
@pytest.mark.parametrize("abuse_type", TYPES)
def test_a_type_not_known_is_never_scored_as_no_abuse(engine, abuse_type, missing):
    answers = {i: "none" for i in SEVERITY_ITEMS}
    if missing is None:
        del answers[f"idva.{abuse_type}"]
    else:
        answers[f"idva.{abuse_type}"] = missing
    result = engine.score_data({"instrument": "idva-intake", "answers": answers})
    assert result["scores"][f"using_{abuse_type}"] is None
    assert result["scores"]["types_not_known"] == 1
    assert result["scores"]["highest_severity"] is None
    assert result["complete"] is (missing == "not_known")


# -- the real command line ---------------------------------------------------------------------
def score_file(instrument_id: str, name: str, cwd: Path) -> dict:
    require_entry_point("outcomes", "formsengine_outcomes")
    return run_cli("score", instrument_id, str(ANSWERS / name), cwd=cwd).json()


def test_cli_intake_with_a_declined_type(tmp_path):
    result = score_file("idva-intake", "idva-intake.json", tmp_path)
    assert result["instrument"]["plugin"] == "outcomes"
    assert result["scores"] == {
        "using_physical": True, "using_sexual": None, "using_harassment_stalking": True,
        "using_jealousy_control": True, "types_used": 3, "types_not_known": 1,
        "highest_severity": "high"}
    assert result["flags"] == {"any_high": True}
    assert result["complete"] is False
    assert result["incomplete_items"] == {"idva.sexual": "declined"}


def test_cli_exit_record(tmp_path):
    result = score_file("idva-exit", "idva-exit.json", tmp_path)
    assert result["scores"] == {
        "using_physical": False, "using_sexual": None, "using_harassment_stalking": True,
        "using_jealousy_control": False, "types_used": 1, "types_not_known": 1,
        "highest_severity": None,
        "risk_reduced": True, "risk_eliminated": False, "risk_increased": False,
        "feels_safer": True, "children_safer": None, "quality_of_life_improved": True,
        "all_abuse_ceased": False, "types_continuing": 1}
    assert result["flags"] == {"any_high": False, "risk_increased": False,
                               "feels_less_safe": False, "children_less_safe": False,
                               "abuse_continuing": True}
    assert result["complete"] is False
    assert result["incomplete_items"] == {"idva.children_safety": "not_asked"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("idva-exit-children-safety-without-children.json",
         "item idva.children_safety is answered but is only asked when"),
        ("idva-exit-with-judgement.json", "this instrument takes no professional judgement"),
    ],
)
def test_cli_refuses_a_malformed_answers_file(tmp_path, name, message):
    done = run_cli("score", "idva-exit", str(ANSWERS / name), cwd=tmp_path)
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_the_welsh_wording_pack_words_every_intake_item_and_option(engine):
    pack = engine.wording.get("idva-intake-cy@1.0")
    inst = engine.instruments.get("idva-intake")
    assert pack is not None and pack.language == "cy" and pack.fits(inst)
    assert set(pack.items) == set(inst.items)
    for item_id, words in pack.items.items():
        assert set(words["options"]) == set(inst.items[item_id].values)
    assert pack.items["idva.physical"]["options"]["not_known"] == "Ddim yn gwybod"
