"""The README's commands work when copied: its set-up block of shell commands is run as it
stands in a new folder, and every line of its command reference names a command and
options that exist."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from formsengine.config import OrgConfig

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_account_block_runs_as_written(tmp_path):
    block = next(b for b in blocks("sh") if "users create-admin" in b)
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "formsengine").exists()
    (tmp_path / ".venv").symlink_to(bin_dir.parent)  # the README's .venv/bin/formsengine
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    assert subprocess.run([str(bin_dir / "formsengine"), "db", "init"], cwd=tmp_path, env=env,
                          capture_output=True).returncode == 0
    out = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "One-time password" in out.stdout


def _reference_lines() -> list[list[str]]:
    block = next(b for b in blocks("sh") if "formsengine instruments list" in b)
    lines = []
    for line in block.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("formsengine "):
            lines.append(shlex.split(line)[1:])
    return lines


@pytest.fixture(scope="module")
def cli():
    from formsengine.cli import _load_plugin_commands
    from formsengine.cli import cli as group

    _load_plugin_commands(group)
    return group


@pytest.mark.parametrize("words", _reference_lines(), ids=lambda w: " ".join(w[:2]))
def test_every_reference_line_names_a_command_and_options_that_exist(cli, words):
    command: click.Command = cli
    rest = list(words)
    ctx = click.Context(cli)
    # get_command, as click resolves them: a plugin may load its group's commands on demand
    while (isinstance(command, click.Group) and rest
           and (sub := command.get_command(ctx, rest[0])) is not None):
        command = sub
        rest.pop(0)
    assert not isinstance(command, click.Group), f"{' '.join(words)}: no such command"
    options = {opt for p in command.params if isinstance(p, click.Option)
               for opt in p.opts + p.secondary_opts}
    for word in rest:
        if word.startswith("--"):
            assert word in options, f"{' '.join(words)}: {word} is not an option of it"


def test_the_readme_configuration_example_is_accepted():
    for block in blocks("toml"):
        OrgConfig.from_dict(tomllib.loads(block), where="README")
