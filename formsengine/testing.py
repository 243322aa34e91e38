"""Helpers for testing a formsengine plugin.

An organisation that writes its own plugin can use these in its tests, as the plugins
shipped with formsengine do:

- :func:`plugin_engine` builds an engine with only the given plugins registered (beside the
  built-in ones), so results do not depend on what else happens to be installed;
- :func:`require_entry_point` checks that the plugin is installed, so that the real command
  line can find it, and says which ``pip install -e`` to run if it is not;
- :func:`run_cli` runs the real ``formsengine`` command line in a subprocess, without the
  ``FORMSENGINE_*`` settings of the environment the tests happen to run in, and returns a
  :class:`CliResult`;
- :func:`forget_warnings` makes the warnings logged once per process (a plugin that cannot
  be loaded, a definition file that is gone) be logged again, for a test that checks one
  after other tests in the same process may have caused it (call it in an autouse fixture).

For example::

    import formsengine_myorg
    import pytest
    from formsengine.testing import plugin_engine, require_entry_point, run_cli

    @pytest.fixture(scope="session")
    def engine():
        return plugin_engine(formsengine_myorg)

    def test_scores_a_file(tmp_path):
        require_entry_point("myorg", "formsengine_myorg")
        result = run_cli("score", "myorg-form", "answers.json", cwd=tmp_path).json()
        assert result["complete"] is True

This module needs pytest only for :func:`require_entry_point`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formsengine.config import OrgConfig, Settings
from formsengine.engine import Engine
from formsengine.plugins import ENTRY_POINT_GROUP, forget_warnings

__all__ = ["CliResult", "forget_warnings", "plugin_engine", "require_entry_point", "run_cli"]

ENV_PREFIX = "FORMSENGINE_"


def plugin_engine(
    *modules: object,
    settings: Settings | None = None,
    org_config: OrgConfig | None = None,
) -> Engine:
    """Return an engine with the built-in plugins and ``modules`` registered.

    Installed entry points are not loaded, so the engine sees the plugins under test and
    nothing else. ``settings`` and ``org_config`` are passed to :class:`Engine` as they are;
    by default no settings are read from the environment and no organisation's
    configuration is applied.
    """
    return Engine(settings or Settings(), load_entrypoints=False, plugins=modules,
                  org_config=org_config)


def _project_folder(module_name: str) -> str | None:
    """The folder holding the ``pyproject.toml`` of ``module_name``, if it can be found."""
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    for folder in Path(spec.origin).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            try:
                return str(folder.relative_to(Path.cwd()))
            except ValueError:
                return str(folder)
    return None


def require_entry_point(name: str, module_name: str) -> importlib.metadata.EntryPoint:
    """Fail the test unless entry point ``name`` of the ``formsengine`` group is ``module_name``.

    The real command line finds a plugin through its entry point only, so a test that runs it
    needs the plugin installed, not just importable. The failure message says which
    ``pip install -e`` to run. Returns the entry point.
    """
    import pytest

    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    entry_point = found.get(name)
    if entry_point is not None and entry_point.value == module_name:
        return entry_point
    folder = _project_folder(module_name) or "<the folder of the plugin's pyproject.toml>"
    if entry_point is None:
        problem = f"no {name!r} entry point in the {ENTRY_POINT_GROUP!r} group"
    else:
        problem = (f"the {name!r} entry point in the {ENTRY_POINT_GROUP!r} group is "
                   f"{entry_point.value!r}, not {module_name!r}")
    pytest.fail(f"the plugin {module_name} is not installed ({problem}): "
                f"run `pip install -e {folder}`", pytrace=False)


@dataclass(frozen=True)
class CliResult:
    """What a run of the command line returned: exit code, standard output and error."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Check that the command succeeded and return its standard output parsed as JSON."""
        assert self.code == 0, f"exit code {self.code}: {self.stderr}"
        return json.loads(self.stdout)


def run_cli(
    *args: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> CliResult:
    """Run ``formsengine ARGS...`` in a subprocess and return its :class:`CliResult`.

    The command is run with the Python running the tests (``python -m formsengine.cli``), so
    it sees the same installed plugins. ``FORMSENGINE_*`` variables are removed from the
    environment, so that the settings of whoever runs the tests do not leak in; ``env`` is
    added on top, and is the way to set one (``env={"FORMSENGINE_CONFIG": "org.json"}``).
    Run it in a temporary folder (``cwd=tmp_path``) so that the default database is not
    created in the current folder.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    environ.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "formsengine.cli", *(os.fspath(a) for a in args)],
        check=False, capture_output=True, text=True, cwd=cwd, env=environ, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
