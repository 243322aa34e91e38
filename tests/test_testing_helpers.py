"""formsengine.testing: the helpers that plugins use in their own tests."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from formsengine.config import OrgConfig
from formsengine.testing import CliResult, plugin_engine, require_entry_point, run_cli
from tests.conftest import DefinitionsPlugin, toy_definition

ROOT = Path(__file__).resolve().parent.parent


def test_plugin_engine_registers_only_the_plugins_given():
    engine = plugin_engine(DefinitionsPlugin(toy_definition(), name="toy"))
    assert [i.id for i in engine.instruments] == ["toy-checklist"]
    assert engine.pm.has_plugin("toy")
    # the shipped plugins are installed where these tests run, but not loaded
    assert not engine.pm.has_plugin("dash")


def test_plugin_engine_applies_the_organisation_configuration_given():
    org = OrgConfig.from_dict({"organisation": {"name": "Example area"}})
    engine = plugin_engine(DefinitionsPlugin(toy_definition()), org_config=org)
    assert engine.org_config is org


def test_cli_result_json_parses_the_output_of_a_success():
    assert CliResult(0, '{"a": [1, 2]}', "").json() == {"a": [1, 2]}


def test_cli_result_json_refuses_a_failure_and_shows_its_error():
    with pytest.raises(AssertionError, match="exit code 2: error: no such thing"):
        CliResult(2, "", "error: no such thing\n").json()


def test_run_cli_leaves_out_the_environment_settings(tmp_path, monkeypatch):
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("FORMSENGINE_CONFIG", str(missing))
    listed = run_cli("instruments", "list", "--json", cwd=tmp_path)
    assert isinstance(listed.json(), list)


def test_run_cli_passes_the_environment_given(tmp_path):
    missing = tmp_path / "missing.toml"
    refused = run_cli("instruments", "list", cwd=tmp_path,
                      env={"FORMSENGINE_CONFIG": str(missing)})
    assert refused.code == 2
    assert refused.stdout == ""
    assert f"configuration {missing}: cannot read" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_run_cli_accepts_paths(tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text("not json")
    refused = run_cli("score", "no-such-instrument", answers, cwd=tmp_path)
    assert refused.code == 2
    assert f"answers file {answers}: not valid JSON" in refused.stderr


def fake_entry_points(monkeypatch, *entries: tuple[str, str]) -> None:
    found = [importlib.metadata.EntryPoint(name, value, "formsengine")
             for name, value in entries]
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: found if group == "formsengine" else [])


def test_require_entry_point_returns_the_entry_point_installed(monkeypatch):
    fake_entry_points(monkeypatch, ("myorg", "formsengine_myorg"))
    assert require_entry_point("myorg", "formsengine_myorg").value == "formsengine_myorg"


def test_require_entry_point_says_which_install_to_run(monkeypatch):
    fake_entry_points(monkeypatch)
    monkeypatch.chdir(ROOT)
    with pytest.raises(pytest.fail.Exception) as failed:
        require_entry_point("core", "formsengine")
    message = str(failed.value)
    assert "no 'core' entry point in the 'formsengine' group" in message
    assert "run `pip install -e .`" in message


def test_require_entry_point_names_the_module_the_entry_point_has(monkeypatch):
    fake_entry_points(monkeypatch, ("myorg", "somewhere_else"))
    with pytest.raises(pytest.fail.Exception) as failed:
        require_entry_point("myorg", "formsengine_not_installed")
    message = str(failed.value)
    assert "is 'somewhere_else', not 'formsengine_not_installed'" in message
    assert "pip install -e <the folder of the plugin's pyproject.toml>" in message


def test_the_docs_mention_the_helpers():
    text = (ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    assert "## Testing a plugin" in text
    for name in ("plugin_engine", "require_entry_point", "run_cli", "CliResult"):
        assert f"`{name}" in text


def test_packaged_definitions_helpers():
    import formsengine_dash

    from formsengine.plugins import packaged_definition_names, register_packaged_definitions

    names = packaged_definition_names("formsengine_dash")
    assert names == ["dash-police.json", "dash-safelives.json", "sdash.json"]
    seen = []
    register_packaged_definitions(lambda path: seen.append(path.name), formsengine_dash.__name__)
    assert seen == names
