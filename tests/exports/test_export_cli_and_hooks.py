"""The ``formsengine export`` commands and the ``register_export_formats`` hook."""

from __future__ import annotations

import json
import stat

import pandas as pd
import pytest

import formsengine
from formsengine.errors import FormsEngineError
from formsengine.exports.formats import ExportFormat, format_registry
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.plugins import make_plugin_manager
from tests.research_data import invoke_cli


def write_jsonl(frame, variables, path, title):
    with path.open("w") as fh:
        for record in frame[[v.name for v in variables]].to_dict(orient="records"):
            fh.write(json.dumps({k: (None if pd.isna(v) else v) for k, v in record.items()})
                     + "\n")


class JsonLinesFormat:
    __name__ = "test-jsonl"

    @formsengine.hookimpl
    def register_export_formats(self, register):
        register(ExportFormat("jsonl", ".jsonl", "JSON Lines", write_jsonl))


def test_builtin_formats_are_registered_through_the_hook():
    registry = format_registry(make_plugin_manager(load_entrypoints=False))
    assert list(registry) == ["csv", "parquet", "sav", "dta"]
    assert registry["sav"].parallel and not registry["csv"].parallel


def test_hook_register_export_formats(cohort, tmp_path):
    """A plugin adds a format; the export writes every table in it."""
    store = cohort["store"]
    store.engine.pm.register(JsonLinesFormat(), name="test-jsonl")
    try:
        manifest = export_research(store, ResearchOptions(
            project="evaluation-1", out=tmp_path / "j", key_file=cohort["key"],
            formats=["jsonl"], purpose="json lines through a plugin", codebook_pdf=False))
    finally:
        store.engine.pm.unregister(name="test-jsonl")
    lines = (tmp_path / "j" / "scores_wide.jsonl").read_text().splitlines()
    assert len(lines) == 24 and "dash_safelives__yes_count__intake" in json.loads(lines[0])
    assert {f["format"] for f in manifest["files"]} >= {"jsonl"}


def test_a_format_registered_twice_is_refused():
    pm = make_plugin_manager(load_entrypoints=False, plugins=[JsonLinesFormat()])

    class Again(JsonLinesFormat):
        __name__ = "again"

    pm.register(Again(), name="again")
    with pytest.raises(FormsEngineError, match="'jsonl' is registered twice"):
        format_registry(pm)


def test_unknown_format_is_a_clear_error(cohort, tmp_path):
    with pytest.raises(FormsEngineError, match="unknown export format.*xlsx"):
        export_research(cohort["store"], ResearchOptions(
            project="evaluation-1", out=tmp_path / "x", key_file=cohort["key"],
            formats=["xlsx"], purpose="a format nobody registered"))


def test_cli_keygen_and_export(cohort, monkeypatch, tmp_path):
    store = cohort["store"]
    db = store.location
    key = tmp_path / "cli.key"
    run = invoke_cli(monkeypatch, store.engine, ["export", "keygen", "--project", "cli-proj",
                                                 "--key-file", str(key)])
    assert run.exit_code == 0 and "hmac-sha256:" in run.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    out = tmp_path / "out"
    run = invoke_cli(monkeypatch, store.engine, [
        "--db", db, "export", "research", "--project", "cli-proj", "--out", str(out),
        "--key-file", str(key), "--instruments", "dash-safelives", "--occasions",
        "intake,review", "--format", "csv", "--format", "dta", "--no-codebook-pdf",
        "--purpose", "command line export test"])
    assert run.exit_code == 0, run.output
    assert "exported 12 people, 24 assessments" in run.output
    assert "read 24 final assessments" in run.output  # progress (stderr is mixed in)
    names = {p.name for p in out.iterdir()}
    assert {"scores_long.csv", "scores_long.dta", "items_dash_safelives.dta",
            "codebook.html", "datapackage.json", "manifest.json"} <= names
    assert "scores_long.sav" not in names and "codebook.pdf" not in names
    run = invoke_cli(monkeypatch, store.engine, [
        "--db", db, "export", "research", "--project", "cli-proj", "--out",
        str(tmp_path / "refused"), "--key-file", str(key), "--k", "13",
        "--purpose", "this one is refused"])
    assert run.exit_code == 2 and "export refused" in run.output
    assert not (tmp_path / "refused").exists()
    # a k below 5 only with --allow-small-k
    small = ["--db", db, "export", "research", "--project", "cli-proj", "--out",
             str(tmp_path / "small"), "--key-file", str(key), "--k", "2", "--format", "csv",
             "--no-codebook-pdf", "--purpose", "a pilot with a small k"]
    run = invoke_cli(monkeypatch, store.engine, small)
    assert run.exit_code == 2 and "--allow-small-k" in run.output
    assert not (tmp_path / "small").exists()
    run = invoke_cli(monkeypatch, store.engine, [*small, "--allow-small-k"])
    assert run.exit_code == 0, run.output
    manifest = json.loads((tmp_path / "small" / "manifest.json").read_text())
    assert manifest["k_anonymity"]["small_k_allowed"] is True
