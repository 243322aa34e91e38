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


def test_the_shipped_govuk_frontend_copy_is_the_version_package_json_names():
    """The GOV.UK Frontend files the application serves are kept in the repository (so a
    wheel carries them); a change of version in package.json must come with a fresh copy
    (scripts/build-assets)."""
    import json

    root = Path(__file__).resolve().parent.parent
    wanted = json.loads((root / "package.json").read_text())["dependencies"]["govuk-frontend"]
    shipped = root / "formsengine" / "web" / "static" / "govuk"
    assert (shipped / "VERSION").read_text().strip() == wanted
    for name in ("govuk-frontend.min.css", "govuk-frontend.min.js"):
        assert (shipped / name).stat().st_size > 10_000
    assert "url(assets/" in (shipped / "govuk-frontend.min.css").read_text()
