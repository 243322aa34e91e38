"""Fixtures for the DASH plugin tests.

In-process tests load the plugin the way Datasette's tests do: an engine with installed entry
points switched off and only this plugin registered. Command-line tests run the real
``formsengine`` command in a subprocess, which finds the plugin through its entry point, so
the plugin must be installed (``pip install -e plugins/dash``).
"""

from __future__ import annotations

from pathlib import Path

import formsengine_dash
import pytest

from formsengine.engine import Engine
from formsengine.testing import CliResult, plugin_engine, require_entry_point, run_cli


@pytest.fixture(scope="session")
def engine() -> Engine:
    return plugin_engine(formsengine_dash)


@pytest.fixture(scope="session")
def plugin_installed() -> None:
    require_entry_point("dash", "formsengine_dash")


@pytest.fixture
def cli(tmp_path: Path, plugin_installed):
    """Run the real command line in a clean folder, without settings from the environment."""

    def run(*args: str | Path, extra_env: dict[str, str] | None = None) -> CliResult:
        return run_cli(*args, cwd=tmp_path, env=extra_env)

    return run
