"""The command line starts without the libraries its quick commands do not use: the web
application (Flask, WTForms), the PDF and template libraries (WeasyPrint, Jinja2), the
research libraries (pandas, NumPy, pyarrow, polars, SciPy) and the database layer. Each
command runs in a child process, which reports the modules it loaded as it exits. How long
the start takes is measured in benchmarks/bench_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

NEVER = ("flask", "werkzeug", "wtforms", "flask_wtf", "waitress", "weasyprint", "jinja2",
         "markupsafe", "pandas", "numpy", "pyarrow", "polars", "scipy", "pyreadstat", "fhir",
         "sqlite_utils", "pysqlite3", "sqlite3", "argon2")

CHILD = textwrap.dedent("""
    import atexit, json, sys
    NEVER = {never!r}
    def report():
        loaded = sorted(n for n in NEVER if n in sys.modules)
        schema = sorted(n for n in ("jsonschema", "fastjsonschema") if n in sys.modules)
        print("LOADED " + json.dumps({{"never": loaded, "schema": schema}}), file=sys.stderr)
    atexit.register(report)
    from formsengine.cli import main
    sys.argv = ["formsengine", *sys.argv[1:]]
    main()
""").format(never=NEVER)


def _run(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    lines = [line for line in out.stderr.splitlines() if line.startswith("LOADED ")]
    assert lines, out.stderr
    return out, json.loads(lines[-1].removeprefix("LOADED "))


@pytest.fixture
def answers(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"instrument": "dash-safelives",
                                "answers": {"dash.injury": "yes"},
                                "fields": {"assessment_date": "2026-03-02"}}))
    return path


def test_help_loads_no_heavy_library_and_no_schema_validator(tmp_path):
    out, loaded = _run(tmp_path, "--help")
    assert out.returncode == 0, out.stderr
    assert loaded == {"never": [], "schema": []}
    # plugin commands are listed although their modules are not imported
    assert any(line.split()[:1] == ["rfg"] for line in out.stdout.splitlines()), out.stdout


@pytest.mark.parametrize("args", [["score", "dash-safelives", "ANSWERS"],
                                  ["instruments", "list"]])
def test_score_and_instruments_list_load_no_heavy_library(tmp_path, answers, args):
    out, loaded = _run(tmp_path, *[str(answers) if a == "ANSWERS" else a for a in args])
    assert out.returncode == 0, out.stderr
    assert loaded["never"] == []
    assert "dash-safelives" in out.stdout


def test_a_plugin_group_loaded_on_demand_runs_its_commands(tmp_path):
    out, loaded = _run(tmp_path, "rfg", "--help")
    assert out.returncode == 0, out.stderr
    assert {"config", "harm", "rank"} <= {line.split()[0] for line in
                                           out.stdout.split("Commands:")[1].splitlines()
                                           if line.strip()}
    out, _ = _run(tmp_path, "rfg", "config")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["source"] == "defaults"
