"""The set-up step pins a current floor for the build tools: a venv made by ``make setup``
gets setuptools 80 or later and wheel (Python's venv brings an old setuptools), and an
existing one is brought up to it."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

MAKEFILE = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")


def _recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.M)
    assert match, f"no rule for {target} in the Makefile"
    return match.group(1)


@pytest.mark.parametrize("target", ["$(BIN)/python", "$(VENV)/.installed"])
def test_setup_pins_the_build_tools(target):
    recipe = _recipe(target)
    assert "'setuptools>=80'" in recipe and " wheel" in recipe


def test_this_environment_has_a_current_setuptools():
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("no setuptools in this environment (a build fetches its own)")
    assert int(version.split(".")[0]) >= 80, version
