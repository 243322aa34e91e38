"""Fixtures for the DASH plugin tests.

In-process tests load the plugin the way Datasette's tests do: an engine with installed entry
points switched off and only this plugin registered. Command-line tests run the real
``formsengine`` command in a subprocess, which finds the plugin through its entry point, so
the plugin must be installed (``pip install -e plugins/dash``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import formsengine_dash
import pytest

from formsengine.engine import Engine


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(load_entrypoints=False, plugins=[formsengine_dash])


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, f"exit code {self.code}: {self.stderr}"
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def plugin_installed() -> None:
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="formsengine")}
    if names.get("dash") != "formsengine_dash":
        pytest.fail("formsengine-dash is not installed: run `pip install -e plugins/dash`")


@pytest.fixture
def cli(tmp_path: Path, plugin_installed):
    """Run the real command line in a clean folder, without settings from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}

    def run(*args: str | Path, extra_env: dict[str, str] | None = None) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "formsengine.cli", *map(str, args)],
            check=False, capture_output=True, text=True, cwd=tmp_path,
            env={**env, **(extra_env or {})},
            timeout=120,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
