"""formsengine-drive-dash: item ids, test vectors, and scoring through the real command line.

Engines under test load only this plugin (no installed entry points), so results do not
depend on what else is installed. The command-line tests run the real ``formsengine`` command
in a subprocess, which finds this plugin through its entry point, as an organisation's would be.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import formsengine_drive_dash
import pytest

from formsengine.config import OrgConfig
from formsengine.engine import Engine
from formsengine.testing import plugin_engine, require_entry_point, run_cli
from formsengine.vectors import run_vector

HERE = Path(__file__).parent
ANSWERS = HERE / "answers"
DEFINITIONS = Path(formsengine_drive_dash.__file__).parent / "definitions"
INSTRUMENTS = ("drive-behaviours", "drive-closure", "drive-dash")

DRIVE_DASH_ITEMS = [
    "drive_dash.injury",
    "drive_dash.very_frightened",
    "drive_dash.isolated",
    "drive_dash.separation",
    "drive_dash.child_contact_conflict",
    "drive_dash.stalking_harassment",
    "drive_dash.pregnant_recent_baby",
    "drive_dash.more_often",
    "drive_dash.getting_worse",
    "drive_dash.control_jealousy",
    "drive_dash.weapons_objects",
    "drive_dash.threat_to_kill",
    "drive_dash.strangle_choke",
    "drive_dash.sexual_abuse",
    "drive_dash.other_threat_person",
    "drive_dash.hurt_others",
    "drive_dash.animal_cruelty",
    "drive_dash.financial",
    "drive_dash.drugs_alcohol_mh",
    "drive_dash.suicide",
    "drive_dash.breach_bail_orders",
    "drive_dash.criminal_history",
    "drive_dash.serial",
]
BEHAVIOUR_TYPES = ["physical", "sexual", "harassment_stalking", "jealousy_control"]
DRIVE_OCCASIONS = ["intake", "review_3m", "review_6m", "review_9m", "closure"]


def make_engine(org_config: OrgConfig | None = None) -> Engine:
    return plugin_engine(formsengine_drive_dash, org_config=org_config)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return make_engine()


def shipped_vectors() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DEFINITIONS.glob("*.json")):
        data = json.loads(path.read_text())
        out += [(data["id"], v["name"]) for v in data["test_vectors"]]
    return out


# -- the definitions -----------------------------------------------------------------------------
def test_the_plugin_registers_its_three_instruments(engine):
    assert formsengine_drive_dash.definition_files() == [
        "drive-behaviours-1.1.json", "drive-behaviours.json", "drive-closure-1.1.json",
        "drive-closure.json", "drive-dash.json"]
    assert sorted({i.id for i in engine.instruments}) == list(INSTRUMENTS)
    for inst in engine.instruments:
        assert inst.plugin_version == formsengine_drive_dash.__version__
        assert inst.subject_role == "service_user"


def test_the_entry_point_is_installed():
    eps = importlib.metadata.entry_points(group="formsengine")
    found = {ep.name: ep.value for ep in eps}
    assert found.get("drive_dash") == "formsengine_drive_dash"


def test_drive_dash_item_ids(engine):
    inst = engine.instruments.get("drive-dash")
    assert list(inst.items) == DRIVE_DASH_ITEMS
    assert all(item.type == "choice" for item in inst.items.values())
    assert inst.items["drive_dash.serial"].values == (
        "yes", "no", "dont_know", "declined", "not_asked")


def test_drive_dash_answers_that_are_not_known(engine):
    item = engine.instruments.get("drive-dash").items["drive_dash.injury"]
    missing = {o.value: (o.missing, o.incomplete) for o in item.options}
    assert missing == {
        "yes": (None, False),
        "no": (None, False),
        "dont_know": ("dont_know", False),
        "declined": ("declined", True),
        "not_asked": ("not_asked", True),
    }


def test_drive_dash_says_it_is_an_adaptation(engine):
    provenance = engine.instruments.get("drive-dash").definition["provenance"]
    assert "adaptation" in provenance
    assert "NOT the Drive programme's own checklist" in provenance
    assert "replace this one with a plugin of its own" in provenance


def test_drive_dash_default_cutoffs_are_the_dash_ones(engine):
    inst = engine.instruments.get("drive-dash")
    cutoffs = inst.default_parameters()["risk_cutoffs"]
    assert [(c["min"], c["band"]) for c in cutoffs] == [
        (0, "none"), (1, "standard"), (10, "medium"), (14, "high")]


def test_behaviour_item_ids(engine):
    inst = engine.instruments.get("drive-behaviours")
    expected = []
    for t in BEHAVIOUR_TYPES:
        expected += [f"drive_behaviours.{t}", f"drive_behaviours.{t}.informant"]
    assert list(inst.items) == expected
    assert inst.items["drive_behaviours.physical"].values == (
        "none", "standard", "moderate", "high", "not_known")
    assert inst.items["drive_behaviours.physical.informant"].values == (
        "case_manager", "idva", "police", "victim", "other")
    scores = [s["id"] for s in inst.scoring["scores"]]
    assert scores == [f"using_{t}" for t in BEHAVIOUR_TYPES] + [
        "types_used", "types_not_known", "highest_severity"]


def test_closure_item_ids(engine):
    inst = engine.instruments.get("drive-closure")
    assert list(inst.items) == [
        "drive_closure.risk_change", "drive_closure.direct_contact", "drive_closure.engagement",
        "drive_closure.behaviour_change_work", "drive_closure.step_down"]
    assert inst.items["drive_closure.risk_change"].values == (
        "reduced_greatly", "reduced_slightly", "no_change", "increased", "not_known")
    assert inst.items["drive_closure.engagement"].values == ("none", "partial", "full")


def test_occasions(engine):
    assert engine.instruments.get("drive-dash").occasions == DRIVE_OCCASIONS
    assert engine.instruments.get("drive-behaviours").occasions == DRIVE_OCCASIONS
    assert engine.instruments.get("drive-closure").occasions == ["closure"]


# -- the shipped test vectors, through the generic runner ---------------------------------------
@pytest.mark.parametrize(("instrument_id", "name"), shipped_vectors())
def test_shipped_vector(engine, instrument_id, name):
    inst = engine.instruments.get(instrument_id)
    vector = next(v for v in inst.test_vectors if v["name"] == name)
    outcome = run_vector(engine, inst, vector)
    assert outcome.passed, outcome.problems


def test_every_instrument_ships_vectors_that_cover_unknowns(engine):
    for inst in engine.instruments:
        assert len(inst.test_vectors) >= 5, inst.id
        assert any(v["expect"].get("complete") is False for v in inst.test_vectors), inst.id
        assert any("expect_error" in v for v in inst.test_vectors), inst.id


def test_organisation_cutoffs_change_the_band():
    config = OrgConfig.from_dict({"instruments": {"drive-dash": {"parameters": {
        "risk_cutoffs": [{"min": 0, "band": "none"}, {"min": 1, "band": "standard"},
                         {"min": 5, "band": "medium"}, {"min": 8, "band": "high"}]}}}})
    engine = make_engine(config)
    data = json.loads((ANSWERS / "drive-dash-intake.json").read_text())
    result = engine.score_data(data)
    assert result["scores"]["yes_count"] == 11
    assert result["bands"]["risk"] == "high"
    assert result["configuration"]["overridden"] == ["risk_cutoffs"]


# -- the real command line ---------------------------------------------------------------------
def score_file(instrument_id: str, name: str, cwd: Path, *options: str) -> dict:
    require_entry_point("drive_dash", "formsengine_drive_dash")
    return run_cli(*options, "score", instrument_id, str(ANSWERS / name), cwd=cwd).json()


def test_cli_scores_an_intake_checklist(tmp_path):
    result = score_file("drive-dash", "drive-dash-intake.json", tmp_path)
    assert result["instrument"]["id"] == "drive-dash"
    assert result["instrument"]["plugin"] == "drive_dash"
    assert result["scores"] == {"yes_count": 11, "answered": 23, "not_known": 2,
                                "unanswered": 0}
    assert result["bands"] == {"risk": "medium"}
    assert result["level"]["final"] == "medium"
    assert result["complete"] is True
    assert result["flags"] == {
        "strangulation": True, "threat_to_kill": True, "stalking": True,
        "sexual_abuse": False, "weapons": False, "serial": True,
        "cluster_separation_control_violence": True}


def test_cli_keeps_declined_not_asked_and_unanswered_apart_from_no(tmp_path):
    result = score_file("drive-dash", "drive-dash-review-incomplete.json", tmp_path)
    assert result["scores"] == {"yes_count": 3, "answered": 22, "not_known": 2,
                                "unanswered": 1}
    assert result["bands"]["risk"] == "standard"
    assert result["complete"] is False
    assert result["incomplete_items"] == {"drive_dash.sexual_abuse": "declined",
                                          "drive_dash.threat_to_kill": "not_asked"}
    assert result["unanswered_items"] == ["drive_dash.serial"]
    assert result["flags"]["sexual_abuse"] is False
    assert any("incomplete" in w for w in result["warnings"])


def test_cli_applies_the_organisation_cutoffs(tmp_path):
    config = tmp_path / "org.toml"
    config.write_text(
        '[organisation]\nname = "Example area"\n\n'
        '[instruments.drive-dash.parameters]\n'
        'risk_cutoffs = [{min = 0, band = "none"}, {min = 1, band = "standard"},\n'
        '                {min = 5, band = "medium"}, {min = 8, band = "high"}]\n')
    result = score_file("drive-dash", "drive-dash-intake.json", tmp_path,
                        "--config", str(config))
    assert result["bands"]["risk"] == "high"
    assert result["configuration"]["name"] == "Example area"


def test_cli_scores_a_behaviour_profile_with_a_type_not_known(tmp_path):
    result = score_file("drive-behaviours", "drive-behaviours-review.json", tmp_path)
    assert result["scores"] == {
        "using_physical": True, "using_sexual": None, "using_harassment_stalking": False,
        "using_jealousy_control": True, "types_used": None, "types_used_at_least": 2,
        "types_not_known": 1, "highest_severity": None}
    assert result["flags"] == {"any_high": False}
    assert result["complete"] is True


def test_cli_scores_a_closure_record(tmp_path):
    result = score_file("drive-closure", "drive-closure.json", tmp_path)
    assert result["scores"] == {
        "risk_reduced": None, "risk_reduced_greatly": None, "risk_increased": None,
        "direct_contact": False, "engaged": False, "fully_engaged": False,
        "behaviour_change_work": False, "step_down": True}
    assert result["flags"] == {"risk_increased": False}
    assert result["complete"] is True


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("drive-dash-bad-answer.json", "answer 'probably' is not one of"),
        ("drive-dash-not-json.json", "not valid JSON"),
    ],
)
def test_cli_refuses_a_malformed_answers_file(tmp_path, name, message):
    done = run_cli("score", "drive-dash", str(ANSWERS / name), cwd=tmp_path)
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_cli_refuses_answers_for_another_instrument(tmp_path):
    done = run_cli("score", "drive-closure", str(ANSWERS / "drive-dash-intake.json"),
                   cwd=tmp_path)
    assert done.code == 2
    assert "is for instrument 'drive-dash'" in done.stderr
