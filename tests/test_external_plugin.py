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
    assert "hooks: register_instruments" in out.stdout
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
