"""Organisation configuration (a TOML file given with ``--config``) changes the scoring
parameters without editing the definitions, and every result says which configuration and
parameters were used."""

from __future__ import annotations

from pathlib import Path

import formsengine_dash
import pytest

from formsengine.config import OrgConfig
from formsengine.engine import Engine
from formsengine.errors import ConfigError

ANSWERS = Path(__file__).parent / "answers"

ESCALATION_AT_5 = """\
[organisation]
name = "Example Area DA Service"

[instruments.dash-safelives.parameters]
marac_escalation_incidents = 5
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "organisation.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,met", [("safelives-escalation-3.json", False),
                                      ("safelives-escalation-5.json", True)])
def test_escalation_threshold_set_to_5(cli, tmp_path, name, met):
    config = write_config(tmp_path, ESCALATION_AT_5)
    result = cli("--config", config, "score", "dash-safelives", ANSWERS / name).json()
    assert result["criteria"]["potential_escalation"] is met
    record = result["configuration"]
    assert record["name"] == "Example Area DA Service"
    assert record["overridden"] == ["marac_escalation_incidents"]
    assert record["parameters"]["marac_escalation_incidents"] == 5
    assert record["parameters"]["marac_visible_high_risk"] == 14


def test_default_threshold_without_configuration(cli):
    result = cli("score", "dash-safelives", ANSWERS / "safelives-escalation-3.json").json()
    assert result["criteria"]["potential_escalation"] is True
    assert result["configuration"]["name"] == "defaults"
    assert result["configuration"]["overridden"] == []


def test_configuration_from_the_environment(cli, tmp_path):
    config = write_config(tmp_path, ESCALATION_AT_5)
    result = cli("score", "dash-safelives", ANSWERS / "safelives-escalation-3.json",
                 extra_env={"FORMSENGINE_CONFIG": str(config)}).json()
    assert result["criteria"]["potential_escalation"] is False
    assert result["configuration"]["name"] == "Example Area DA Service"


def test_configuration_hash_changes_with_the_parameters(cli, tmp_path):
    config = write_config(tmp_path, ESCALATION_AT_5)
    file = ANSWERS / "safelives-escalation-3.json"
    default = cli("score", "dash-safelives", file).json()["configuration"]["hash"]
    changed = cli("--config", config, "score", "dash-safelives", file).json()
    assert changed["configuration"]["hash"] != default
    assert changed["configuration"]["hash"].startswith("sha256:")


def test_configuration_for_one_version_leaves_the_other_alone(cli, tmp_path):
    config = write_config(tmp_path, ESCALATION_AT_5)
    result = cli("--config", config, "score", "dash-police",
                 ANSWERS / "police-high-27.json").json()
    assert result["configuration"]["overridden"] == []
    assert result["configuration"]["parameters"]["marac_escalation_incidents"] == 3


def test_risk_cutoffs_from_configuration(cli, tmp_path):
    config = write_config(tmp_path, """\
[organisation]
name = "Cut-offs test"

[instruments.dash-safelives.parameters]
risk_cutoffs = [{min = 0, band = "none"}, {min = 1, band = "standard"},
                {min = 8, band = "medium"}, {min = 12, band = "high"}]
marac_visible_high_risk = 13
""")
    result = cli("--config", config, "score", "dash-safelives",
                 ANSWERS / "safelives-medium-13.json").json()
    assert result["bands"]["risk_band"] == "high"
    assert result["level"]["final"] == "high"
    assert result["criteria"]["visible_high_risk"] is True
    assert result["configuration"]["overridden"] == ["marac_visible_high_risk", "risk_cutoffs"]


SECTION = "[instruments.dash-safelives.parameters]\n"


@pytest.mark.parametrize("body,message", [
    (SECTION + "marac_escalation_incidents = 0\n",
     "marac_escalation_incidents must be at least 1"),
    (SECTION + 'marac_escalation_incidents = "five"\n',
     "marac_escalation_incidents must be a whole number"),
    (SECTION + "marac_threshold = 5\n", "has no parameter 'marac_threshold'"),
    (SECTION + 'risk_cutoffs = [{min = 0, band = "low"}]\n', "unknown band(s) low"),
    (SECTION + 'risk_cutoffs = [{min = 5, band = "high"}, {min = 1, band = "standard"}]\n',
     "cut-offs must rise"),
    ("[instruments.dash-safelive.parameters]\nmarac_escalation_incidents = 5\n",
     "configuration names instrument 'dash-safelive', which no plugin registered"),
    ("[instruments.dash-safelives\n", "not valid TOML"),
])
def test_bad_configuration_is_refused(cli, tmp_path, body, message):
    config = write_config(tmp_path, body)
    run = cli("--config", config, "score", "dash-safelives", ANSWERS / "safelives-none.json")
    assert run.code == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_configuration_in_process():
    org = OrgConfig.from_dict({"organisation": {"name": "In-process area"},
                               "instruments": {"dash-police": {"parameters": {
                                   "marac_escalation_incidents": 5}}}})
    engine = Engine(load_entrypoints=False, plugins=[formsengine_dash], org_config=org)
    police = engine.instruments.get("dash-police")
    answers = {i.id: "no" for i in police.items.values() if i.show_when is None}
    for incidents, met in ((4, False), (5, True)):
        result = engine.score_data({"instrument": "dash-police", "answers": answers,
                                    "fields": {"police_incidents_12m": incidents}})
        assert result["criteria"]["potential_escalation"] is met
        assert result["configuration"]["name"] == "In-process area"
    with pytest.raises(ConfigError, match="must be at most 27"):
        engine.parameters_for(police, {"marac_visible_high_risk": 28})
