"""Fixtures for the RFG plugin tests.

In-process tests build an engine with installed entry points switched off and only this
plugin registered (``engine``), or run a copy of the core command group with this plugin's
commands (``run``). The storing and comparing test runs the real ``formsengine`` command in
subprocesses (``cli``), which finds the plugin through its entry point, so the plugin must be
installed (``pip install -e plugins/rfg``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import formsengine_rfg
import pytest
from formsengine_rfg.config import load_config
from formsengine_rfg.incidents import read_incidents
from rfg_helpers import write_config, write_incidents

from formsengine.engine import Engine
from formsengine.testing import CliResult, plugin_engine, require_entry_point, run_cli


@pytest.fixture
def incidents_file(tmp_path: Path):
    def make(rows: list[list[Any]], name: str = "incidents.csv", **kw: Any) -> Path:
        return write_incidents(tmp_path / name, rows, **kw)

    return make


@pytest.fixture
def ranked(tmp_path: Path):
    """Rank rows in process: returns the Ranking."""
    from formsengine_rfg.ranking import rank

    def run(rows: list[list[Any]], as_of: str, config: dict[str, Any] | None = None):
        path = write_incidents(tmp_path / "ranked.csv", rows)
        cfg = load_config(write_config(tmp_path / "rfg.json", config) if config else None)
        data = read_incidents(path, cfg.matrix(), table="gravity matrix",
                              non_crime_value=cfg.gravity["non_crime"])
        assert data.bad == [], data.bad
        return rank(data, cfg, dt.date.fromisoformat(as_of))

    return run


@pytest.fixture(scope="session")
def engine() -> Engine:
    return plugin_engine(formsengine_rfg)


@pytest.fixture(scope="session")
def plugin_installed() -> None:
    require_entry_point("rfg", "formsengine_rfg")


@pytest.fixture
def run(tmp_path: Path, monkeypatch):
    """Run the core command group with this plugin's commands in process (fast).

    The group is a copy of the real one, so the core's ``cli`` object is not changed.
    """
    from click.testing import CliRunner
    from formsengine_rfg.commands import rfg

    from formsengine.cli import FriendlyGroup
    from formsengine.cli import cli as core

    group = FriendlyGroup(name="formsengine", callback=core.callback, params=core.params,
                          commands={**core.commands, "rfg": rfg})
    for key in [k for k in os.environ if k.startswith("FORMSENGINE_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str | Path) -> CliResult:
        result = CliRunner().invoke(group, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return invoke


@pytest.fixture
def cli(tmp_path: Path, plugin_installed):
    """Run the real command line in a clean folder, without settings from the environment."""

    def run(*args: str | Path) -> CliResult:
        return run_cli(*args, cwd=tmp_path, timeout=300)

    return run
