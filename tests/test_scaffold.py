"""`formsengine instruments scaffold`: the definition it writes passes the validator and its
own test vectors, the plugin skeleton installs with pip and is found through its entry point,
and bad ids and existing files are refused with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.instruments import build_instrument
from formsengine.scaffold import ScaffoldError, check_instrument_id, definition, plugin_files

from .conftest import DATA

LONGEST_ID = "a" + "-b" * 31 + "c"  # 64 characters, the schema's limit


def run(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    base["FORMSENGINE_DB"] = str(cwd / "unused.db")
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env={**base, **(env or {})},
                          timeout=120)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_definition_validates_and_its_vectors_pass(tmp_path):
    out = run("instruments", "scaffold", "myorg-safety-check", "--out", "defs", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    path = tmp_path / "defs" / "myorg-safety-check.json"
    assert files_under(tmp_path / "defs") == ["myorg-safety-check.json"]
    assert f"wrote {Path('defs') / 'myorg-safety-check.json'}" in out.stdout

    checked = run("instruments", "validate", path, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert f"ok: {path}" in checked.stdout

    tested = run("--definitions", tmp_path / "defs", "instruments", "test",
                 "myorg-safety-check", "-v", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines()[-1] == "2 passed, 0 failed (1 instruments)"

    listed = run("--definitions", tmp_path / "defs", "instruments", "list", cwd=tmp_path)
    line = next(x for x in listed.stdout.splitlines() if x.startswith("myorg-safety-check "))
    assert "v0.1" in line and " 2 items " in line and "detail" not in line


def test_what_the_definition_holds():
    data = definition("myorg-safety-check")
    inst = build_instrument(data, plugin="test", plugin_version="-", source=None)
    assert list(inst.items) == ["myorg_safety_check.first_indicator",
                                "myorg_safety_check.second_indicator"]
    assert [o.value for o in inst.items["myorg_safety_check.first_indicator"].options] == [
        "yes", "no", "dont_know"]
    assert inst.items["myorg_safety_check.first_indicator"].option("dont_know").missing
    assert [s["type"] for s in inst.scoring["scores"]] == ["count", "count"]
    assert inst.scoring["bands"][0]["cutoffs"] == {"param": "risk_cutoffs"}
    assert inst.parameters["risk_cutoffs"]["type"] == "cutoffs"
    assert [f["id"] for f in inst.scoring["flags"]] == ["first_indicator"]
    assert len(inst.test_vectors) == 2


def test_the_longest_id_gives_valid_names():
    check_instrument_id(LONGEST_ID)
    build_instrument(definition(LONGEST_ID), plugin="test", plugin_version="-", source=None)
    files = plugin_files(LONGEST_ID)
    assert f"formsengine-{LONGEST_ID}/pyproject.toml" in files


def test_plugin_skeleton_installs_and_its_instrument_is_listed(tmp_path):
    out = run("instruments", "scaffold", "myorg-check", "--plugin", "--out", "src",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    root = tmp_path / "src" / "formsengine-myorg-check"
    assert files_under(root) == [
        "README.md",
        "formsengine_myorg_check/__init__.py",
        "formsengine_myorg_check/definitions/myorg-check.json",
        "pyproject.toml",
        "tests/test_vectors.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points.formsengine]\nmyorg_check = "formsengine_myorg_check"' \
        in pyproject
    assert "def register_instruments(register)" in (
        root / "formsengine_myorg_check" / "__init__.py").read_text()
    assert "run_vectors" in (root / "tests" / "test_vectors.py").read_text()

    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--target", str(site), str(root)],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    env = {"PYTHONPATH": str(site)}

    listed = run("instruments", "list", "--json", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    mine = [r for r in json.loads(listed.stdout) if r["id"] == "myorg-check"]
    assert mine == [{**mine[0], "plugin": "myorg_check", "plugin_version": "0.1.0",
                     "items": 2, "details": 0}]
    text = run("instruments", "list", cwd=tmp_path, env=env).stdout
    assert any(line.startswith("myorg-check ") and "plugin myorg_check 0.1.0" in line
               for line in text.splitlines())
    tested = run("instruments", "test", "myorg-check", cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stdout + tested.stderr

    # The skeleton's own test runs the vectors through formsengine.vectors.run_vectors.
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-W", "error",
                          "-p", "no:cacheprovider", "tests"],
                         capture_output=True, text=True, cwd=root, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(site)})
    assert own.returncode == 0, own.stdout + own.stderr
    assert "2 passed" in own.stdout


@pytest.mark.parametrize("bad_id", [
    "My-Check", "my_check", "1check", "check-", "-check", "my--check", "my check", "",
    "café", "a" * 65,
])
def test_bad_ids_are_refused(tmp_path, bad_id):
    # "--" so that an id starting with a hyphen reaches the command, not click's options
    out = run("instruments", "scaffold", "--out", "defs", "--", bad_id, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("error: instrument id ")
    assert "is not valid: use lower-case letters and digits" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "defs").exists()
    with pytest.raises(ScaffoldError, match="is not valid"):
        check_instrument_id(bad_id)


def test_an_existing_definition_is_never_overwritten(tmp_path):
    assert run("instruments", "scaffold", "myorg-check", cwd=tmp_path).returncode == 0
    path = tmp_path / "myorg-check.json"
    path.write_text("{}  (my own edits)")
    out = run("instruments", "scaffold", "myorg-check", cwd=tmp_path)
    assert out.returncode == 2
    assert "myorg-check.json already exists; nothing was written" in out.stderr
    assert path.read_text() == "{}  (my own edits)"


def test_an_existing_plugin_file_stops_every_write(tmp_path):
    readme = tmp_path / "formsengine-myorg-check" / "README.md"
    readme.parent.mkdir()
    readme.write_text("ours")
    out = run("instruments", "scaffold", "myorg-check", "--plugin", cwd=tmp_path)
    assert out.returncode == 2
    assert "README.md already exists; nothing was written" in out.stderr
    assert files_under(tmp_path / "formsengine-myorg-check") == ["README.md"]
    assert readme.read_text() == "ours"


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    out = run("instruments", "scaffold", "myorg-check", "--out", "taken", cwd=tmp_path)
    assert out.returncode == 2
    assert "cannot create the folder taken" in out.stderr
    assert "Traceback" not in out.stderr


def test_an_id_already_registered_is_refused(tmp_path):
    out = run("instruments", "scaffold", "toy-checklist", cwd=tmp_path,
              env={"FORMSENGINE_DEFINITIONS": str(DATA)})
    assert out.returncode == 2
    assert "instrument id 'toy-checklist' is already registered by plugin" in out.stderr
    assert files_under(tmp_path) == []


def test_works_beside_a_broken_definitions_folder(tmp_path):
    """The engine cannot start, so names in use cannot be checked; the scaffold still works."""
    out = run("instruments", "scaffold", "myorg-check", cwd=tmp_path,
              env={"FORMSENGINE_DEFINITIONS": str(tmp_path / "no-such-folder")})
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "myorg-check.json").is_file()
