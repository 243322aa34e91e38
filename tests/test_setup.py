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


def _lock() -> dict[str, list[str]]:
    root = Path(__file__).resolve().parent.parent
    pins: dict[str, list[str]] = {}
    for line in (root / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if match:
            pins.setdefault(_name(match.group(1)), []).append(match.group(2))
    return pins


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def test_the_lock_pins_every_dependency_within_its_range_with_hashes():
    """requirements.lock (installed with --require-hashes) holds every dependency the
    project declares, core and extras, at a version inside the declared range; refresh it
    with `make lock` after changing pyproject.toml."""
    import tomllib

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pins = _lock()
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for extra, reqs in project["optional-dependencies"].items()
                 for r in reqs if not r.startswith("formsengine")]
    for req in declared:
        name = _name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run make lock"
        assert any(req.specifier.contains(v, prereleases=True) for v in pins[name]), (
            f"{req.name} {pins[name]} is outside {req.specifier}: run make lock")
    text = (root / "requirements.lock").read_text()
    assert all("--hash=sha256:" in block for block in re.split(r"\n(?=[a-z0-9])", text)
               if "==" in block)


def test_make_installs_the_dependencies_from_the_lock():
    recipe = _recipe("$(VENV)/.installed")
    assert "--require-hashes -r requirements.lock" in recipe
    assert "--no-deps" in recipe and "pip check" in recipe


def test_lint_type_checks_formsengine_and_every_plugin_package():
    """`make lint` runs mypy, and its configuration names formsengine and the package of
    every plugin under plugins/ (each found on mypy's path), so a new plugin is checked too."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    assert "\t$(BIN)/mypy" in _recipe("lint")
    mypy = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mypy"]
    plugin_packages = {p.parent.name: p.parent.parent.relative_to(root).as_posix()
                       for p in root.glob("plugins/*/formsengine_*/__init__.py")}
    assert plugin_packages
    assert set(mypy["packages"]) == {"formsengine", *plugin_packages}
    assert set(mypy["mypy_path"].split(":")) == set(plugin_packages.values())
    assert not mypy.get("ignore_missing_imports")  # only per named module
