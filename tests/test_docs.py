"""The authoring guide and the result format stay true to the code: every key of the
schemas is documented, and the example result in docs/scoring.md is what
`formsengine score` prints today."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.instruments import load_schema

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
SCORING = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
EXAMPLES = ROOT / "docs" / "examples"


def documented(text: str, name: str) -> bool:
    return f"`{name}`" in text or f'"{name}"' in text


def schema_keys() -> dict[str, list[str]]:
    schema = load_schema("instrument")
    defs = schema["$defs"]
    condition_forms = [next(iter(form["required"])) for form in defs["condition"]["oneOf"]]
    return {
        "top level": [k for k in schema["properties"] if k != "$schema"],
        "option": list(defs["option"]["properties"]),
        "occasion": list(defs["occasion"]["properties"]),
        "due offset": list(defs["due"]["properties"]),
        "missing kind": list(defs["option"]["properties"]["missing"]["enum"]),
        "section": list(defs["section"]["properties"]),
        "grid": list(defs["grid"]["properties"]),
        "repeat": list(defs["repeat"]["properties"]),
        "item": list(defs["item"]["properties"]),
        "item type": list(defs["item"]["properties"]["type"]["enum"]),
        "field": list(defs["field"]["properties"]),
        "parameter": list(defs["parameter"]["properties"]),
        "parameter type": list(defs["parameter"]["properties"]["type"]["enum"]),
        "score": list(defs["score"]["properties"]),
        "score type": list(defs["score"]["properties"]["type"]["enum"]),
        "count mode": list(defs["score"]["properties"]["missing"]["enum"]),
        "cut-off": list(defs["cutoff"]["properties"]),
        "band": list(defs["band"]["properties"]),
        "scoring": list(defs["scoring"]["properties"]),
        "level": list(defs["scoring"]["properties"]["level"]["properties"]),
        "flag or criterion": list(defs["flagOrCriterion"]["properties"]),
        "condition form": condition_forms,
        "condition test": list(defs["comparison"]["properties"]),
        "date_within": list(defs["condition"]["oneOf"][-1]["properties"]["date_within"]
                            ["properties"]),
        "test vector": list(defs["testVector"]["properties"]),
        "wording pack": [k for k in load_schema("wording-pack")["properties"] if k != "$schema"],
    }


@pytest.mark.parametrize("kind,names", schema_keys().items(), ids=list(schema_keys()))
def test_definitions_guide_names_every_schema_key(kind, names):
    missing = [n for n in names if not documented(DEFINITIONS, n)]
    assert not missing, f"docs/definitions.md does not mention {kind} key(s) {missing}"


RESULT_KEYS = ["instrument", "scorer", "configuration", "wording", "complete",
               "unanswered_items", "incomplete_items", "scores", "bands", "level", "flags",
               "criteria", "criteria_groups", "criteria_not_known", "warnings"]


def test_scoring_page_names_every_result_key():
    for key in [*RESULT_KEYS, "hash", "overridden", "parameters", "computed", "judged",
                "final", "judgement", "applied", "score_values", "seq"]:
        assert f"`{key}`" in SCORING, key


def json_blocks(text: str) -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, flags=re.S)]


@pytest.fixture(scope="module")
def cli():
    names = {ep.name for ep in importlib.metadata.entry_points(group="formsengine")}
    if "dash" not in names:
        pytest.fail("formsengine-dash is not installed: run `pip install -e plugins/dash`")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}

    def run(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "formsengine.cli", *args], cwd=ROOT,
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return run


def test_the_example_result_is_what_the_command_prints(cli):
    shown = json_blocks(SCORING)[0]
    assert list(shown) == RESULT_KEYS
    result = cli("score", "dash-safelives", "docs/examples/dash-safelives-answers.json")
    assert shown == result, "regenerate the example in docs/scoring.md"


def test_the_configuration_example_is_what_the_command_prints(cli):
    shown = json_blocks(SCORING)[1]
    result = cli("--config", "docs/examples/organisation.toml", "score", "dash-safelives",
                 "docs/examples/dash-safelives-answers.json")
    assert shown == {"configuration": result["configuration"], "criteria": result["criteria"]}


def test_the_user_guide_names_only_labels_the_pages_show():
    """Every **bold** label in the guide is a button, link, heading or message of the web
    application, so that the guide cannot drift from the pages without a test failing."""
    import re

    guide = (ROOT / "docs" / "using-the-application.md").read_text(encoding="utf-8")
    web = ROOT / "formsengine" / "web"
    shown = " ".join(p.read_text(encoding="utf-8") for p in
                     [*web.rglob("*.html"), *web.glob("*.py")])
    shown = re.sub(r"\s+", " ", shown)
    labels = {re.sub(r"\s+", " ", m) for m in re.findall(r"\*\*(.+?)\*\*", guide, re.S)}
    assert len(labels) > 30
    missing = sorted(label for label in labels if label not in shown)
    assert missing == [], missing


def test_the_configuration_guide_example_is_accepted_whole(tmp_path):
    """docs/configuration.md's example is a configuration every part of which is read:
    the instruments' parameters, the research settings and the retention periods."""
    import tomllib

    from formsengine.config import OrgConfig, resolve_parameters
    from formsengine.engine import Engine
    from formsengine.erasure import retention_settings

    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    raw = tomllib.loads(block)
    config = OrgConfig.from_dict(raw)
    assert config.name == "Example Area DA Service"
    if importlib.util.find_spec("formsengine_dash"):
        engine = Engine(load_entrypoints=True)
        inst = engine.instruments.get("dash-safelives")
        params = resolve_parameters(inst, config.overrides_for("dash-safelives"))
        assert params["marac_escalation_incidents"] == 4
    assert retention_settings(raw) == {"draft_days": 90, "inactive_person_days": 2555}
    for key in raw["research"]:
        assert f"`{key}`" in text
    for key in raw["retention"]:
        assert f"`{key}`" in text
