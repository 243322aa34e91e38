"""A plugin package written outside this repository, installed with pip, is found through its
entry point, listed by `formsengine plugins`, and its instrument can be scored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from .conftest import answers, toy_definition


def test_pip_installed_plugin_is_listed_and_scores(tmp_path):
    src = tmp_path / "src"
    pkg = src / "orgplugin_example"
    pkg.mkdir(parents=True)
    definition = toy_definition()
    definition["id"] = "org-local-check"
    (pkg / "local.json").write_text(json.dumps(definition))
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from pathlib import Path
        import formsengine

        __version__ = "2.3.4"

        @formsengine.hookimpl
        def register_instruments(register):
            register(Path(__file__).with_name("local.json"))

        def write_lines(frame, variables, path, title):
            frame.to_json(path, orient="records", lines=True)

        @formsengine.hookimpl
        def register_export_formats(register):
            from formsengine.exports.formats import ExportFormat

            register(ExportFormat("orglines", ".jsonl", "JSON lines for the warehouse",
                                  write_lines))
    '''))
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "orgplugin-example"
        version = "2.3.4"

        [project.entry-points.formsengine]
        orgexample = "orgplugin_example"

        [tool.setuptools.package-data]
        orgplugin_example = ["*.json"]
    '''))
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(src)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "FORMSENGINE_DB": str(tmp_path / "x.db")}
    env.pop("FORMSENGINE_DEFINITIONS", None)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "formsengine.cli", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    out = run("plugins")
    assert out.returncode == 0, out.stderr
    assert "orgexample  2.3.4  (orgplugin-example)" in out.stdout
    assert "hooks: register_export_formats, register_instruments" in out.stdout
    helped = run("export", "research", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "csv, parquet, sav, dta, orglines (JSON lines for the" in " ".join(
        helped.stdout.split()), helped.stdout
    listed = json.loads(run("instruments", "list", "--json").stdout)
    mine = [i for i in listed if i["id"] == "org-local-check"]
    assert mine and mine[0]["plugin"] == "orgexample" and mine[0]["plugin_version"] == "2.3.4"
    data = answers(a="yes", b="yes")
    data["instrument"] = "org-local-check"
    (tmp_path / "a.json").write_text(json.dumps(data))
    scored = run("score", "org-local-check", str(tmp_path / "a.json"))
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert result["scores"]["yes_count"] == 2
    assert result["instrument"]["plugin"] == "orgexample"
    assert run("instruments", "test", "org-local-check").returncode == 0


def test_definitions_only_plugin_and_broken_plugins_are_skipped(tmp_path):
    """One pip-installed distribution with three entry points: a package made only of
    definition files (no Python hooks; a helper JSON file beside them is ignored), a package
    that fails to import and a plugin whose definition is invalid. The broken two are
    skipped with a warning and listed by `formsengine plugins`; every other command works;
    FORMSENGINE_LOAD_PLUGINS / FORMSENGINE_DISABLE_PLUGINS choose what is loaded."""
    src = tmp_path / "src"
    defs = src / "orgdefs_only" / "definitions"
    defs.mkdir(parents=True)
    (src / "orgdefs_only" / "__init__.py").write_text('"""Definitions only."""\n')
    definition = toy_definition()
    definition["id"] = "org-defs-check"
    definition["$schema"] = "urn:formsengine:schema:instrument:1"
    (defs / "check.json").write_text(json.dumps(definition))
    (defs / "helpers.json").write_text(json.dumps({"id": "not-an-instrument",
                                                   "colours": ["red", "amber"]}))
    (defs / "lists.json").write_text(json.dumps(["a", "b"]))
    (src / "orgbroken_pkg").mkdir()
    (src / "orgbroken_pkg" / "__init__.py").write_text("import a_module_that_is_not_there\n")
    (src / "orgbaddefs_pkg").mkdir()
    (src / "orgbaddefs_pkg" / "__init__.py").write_text(textwrap.dedent('''
        import formsengine

        @formsengine.hookimpl
        def register_instruments(register):
            register({"id": "org-bad", "version": "1.0"})
    '''))
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "org-extras"
        version = "0.1.0"

        [project.entry-points.formsengine]
        orgdefs = "orgdefs_only"
        orgbroken = "orgbroken_pkg"
        orgbaddefs = "orgbaddefs_pkg"

        [tool.setuptools]
        packages = ["orgdefs_only", "orgbroken_pkg", "orgbaddefs_pkg"]

        [tool.setuptools.package-data]
        orgdefs_only = ["definitions/*.json"]
    '''))
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(target), str(src)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "FORMSENGINE_DB": str(tmp_path / "x.db")}
    for name in ("FORMSENGINE_DEFINITIONS", "FORMSENGINE_LOAD_PLUGINS",
                 "FORMSENGINE_DISABLE_PLUGINS"):
        env.pop(name, None)

    def run(*args, **extra):
        return subprocess.run([sys.executable, "-m", "formsengine.cli", *args],
                              capture_output=True, text=True, env={**env, **extra},
                              timeout=120)

    out = run("plugins")
    assert out.returncode == 0, out.stderr
    assert "orgdefs  0.1.0  (org-extras)" in out.stdout
    assert "hooks: register_instruments, register_wording_packs" in out.stdout
    assert "orgbroken  0.1.0  (org-extras)  NOT LOADED" in out.stdout
    assert "a_module_that_is_not_there" in out.stdout
    assert "orgbaddefs  0.1.0  (org-extras)  NOT LOADED" in out.stdout
    assert "warning: plugin 'orgbroken' (org-extras 0.1.0) was not loaded" in out.stderr
    assert "warning: plugin 'orgbaddefs'" in out.stderr
    assert out.stderr.count("'orgbroken'") == 1  # warned once, not once per plugin manager
    listed = json.loads(run("plugins", "--json").stdout)
    broken = {p["name"]: p for p in listed if not p["loaded"]}
    assert set(broken) == {"orgbroken", "orgbaddefs"}
    assert "required property" in broken["orgbaddefs"]["problem"]

    listed = run("instruments", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = {i["id"]: i for i in json.loads(listed.stdout)}
    assert ids["org-defs-check"]["plugin"] == "orgdefs"
    assert ids["org-defs-check"]["plugin_version"] == "0.1.0"
    assert "not-an-instrument" not in ids and "org-bad" not in ids
    assert "dash-safelives" in ids  # the shipped plugins still load
    data = answers(a="yes")
    data["instrument"] = "org-defs-check"
    (tmp_path / "a.json").write_text(json.dumps(data))
    scored = run("score", "org-defs-check", str(tmp_path / "a.json"))
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["scores"]["yes_count"] == 1

    quiet = run("plugins", FORMSENGINE_DISABLE_PLUGINS="orgbroken, orgbaddefs")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
    assert "NOT LOADED" not in quiet.stdout and "orgdefs  0.1.0" in quiet.stdout
    only = run("instruments", "list", "--json", FORMSENGINE_LOAD_PLUGINS="orgdefs")
    assert only.returncode == 0 and only.stderr == ""
    assert [i["id"] for i in json.loads(only.stdout)] == ["org-defs-check"]
