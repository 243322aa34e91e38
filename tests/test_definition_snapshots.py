"""Definition snapshots: each version's definition is stored at first use, a definition
changed under a used version is refused, and an old version's assessments keep working
from the stored copy when its file is gone."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.errors import StorageError
from formsengine.importer import ImportRefused, import_file
from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.store.snapshots import (
    SNAPSHOT_DDL,
    DefinitionChangedError,
    assessment_snapshot,
    canonical_json,
    content_hash,
    list_snapshots,
)

from .conftest import DefinitionsPlugin, answers, make_engine, toy_definition

WEB_DEFINITION = Path(__file__).parent / "web" / "definitions" / "test-risk.json"


def _final(store: Store, data: dict, person: str = "VS-1", occasion: str = "intake") -> int:
    inst, sub = store.engine.check(data)
    pid = store.ensure_person(person, "victim_survivor")
    return store.create_assessment(inst, sub, person_id=pid, occasion=occasion)


def test_snapshot_stored_at_first_use_and_referenced(tmp_path, toy):
    store = Store.open(tmp_path / "s.db", make_engine(DefinitionsPlugin(toy)), create=True)
    assert list_snapshots(store) == []  # nothing used yet
    first = _final(store, answers(a="yes"))
    second = _final(store, answers(), person="VS-2")
    rows = list_snapshots(store)
    assert len(rows) == 1
    assert (rows[0]["instrument_id"], rows[0]["instrument_version"]) == ("toy-checklist", "1.0")
    assert rows[0]["assessments"] == 2
    assert rows[0]["content_hash"] == content_hash(toy)
    assert rows[0]["content_hash"].startswith("sha256:") and rows[0]["first_seen"]
    snap = assessment_snapshot(store, first)
    assert snap is not None and snap["definition"] == toy
    assert assessment_snapshot(store, second)["id"] == snap["id"]
    store.close()


def test_canonical_json_ignores_key_order_and_spacing(toy):
    reordered = json.loads(json.dumps(dict(reversed(list(toy.items())))))
    assert canonical_json(reordered) == canonical_json(toy)
    assert content_hash(reordered) == content_hash(toy)
    changed = copy.deepcopy(toy)
    changed["sections"][0]["items"][0]["label"] += "!"
    assert content_hash(changed) != content_hash(toy)


def test_changed_definition_under_same_version_is_refused(tmp_path, toy):
    path = tmp_path / "s.db"
    store = Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True)
    _final(store, answers(a="yes"))
    store.close()
    edited = copy.deepcopy(toy)
    edited["sections"][0]["items"][0]["label"] = "First indicator, reworded"
    with pytest.raises(DefinitionChangedError) as caught:
        Store.open(path, make_engine(DefinitionsPlugin(edited)))
    message = str(caught.value)
    assert "toy-checklist v1.0" in message and "new version (for example 1.1)" in message
    # the unchanged definition still opens, and a new version beside it too
    newer = copy.deepcopy(edited)
    newer["version"] = "1.1"
    Store.open(path, make_engine(DefinitionsPlugin(toy, newer))).close()


def test_unused_version_may_still_change(tmp_path, toy):
    """Only a version that stored assessments use is frozen."""
    path = tmp_path / "s.db"
    Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True).close()
    edited = copy.deepcopy(toy)
    edited["title"] = "Renamed before any use"
    Store.open(path, make_engine(DefinitionsPlugin(edited))).close()


def test_old_assessments_get_their_snapshot_at_first_open(tmp_path, toy):
    """Assessments stored before snapshots existed get one when the database is next opened
    (from the definition registered then)."""
    path = tmp_path / "s.db"
    store = Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True)
    aid = _final(store, answers(a="yes"))
    # as a database from before m009 would be
    look.change_rows(store, "assessments", {"snapshot_id": None})
    look.delete_rows(store, "definition_snapshots")
    store.close()
    store = Store.open(path, make_engine(DefinitionsPlugin(toy)))
    snap = assessment_snapshot(store, aid)
    assert snap is not None and snap["content_hash"] == content_hash(toy)
    store.close()


def test_ddl_constant_is_what_the_migration_applied(store):
    tables = look.schema_sql(store)
    assert tables["definition_snapshots"] == SNAPSHOT_DDL[0]
    assert "snapshot_id" in tables["assessments"]
    assert "assessments_snapshot" in tables


def test_deleted_version_served_from_snapshot_in_python(tmp_path, toy, caplog):
    path = tmp_path / "s.db"
    store = Store.open(path, make_engine(DefinitionsPlugin(toy)), create=True)
    aid = _final(store, answers(a="yes", b="yes", c="yes"))
    before = store.get_assessment(aid)["result"]
    store.close()
    newer = copy.deepcopy(toy)
    newer["version"] = "1.1"
    newer["title"] = "Toy checklist, second edition"
    engine = make_engine(DefinitionsPlugin(newer))
    with caplog.at_level(logging.WARNING):
        store = Store.open(path, engine)
    assert "toy-checklist v1.0" in caplog.text and "definition file is missing" in caplog.text
    inst = engine.instruments.get("toy-checklist", "1.0")
    assert inst.retired and inst.definition == toy
    assert engine.instruments.get("toy-checklist").version == "1.1"  # new ones use 1.1
    again = store.rescore(aid)
    assert again["scores"] == before["scores"] and again["instrument"]["version"] == "1.0"
    # no new assessment is started with the retired version
    inst, sub = engine.check({**answers(), "version": "1.0"})
    with pytest.raises(StorageError, match="retired"):
        store.create_assessment(inst, sub, person_id=store.ensure_person("VS-9", "victim_survivor"),
                                occasion="intake")
    line = {**answers(), "version": "1.0", "person": "VS-8", "role": "victim_survivor",
            "occasion": "intake"}
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    with pytest.raises(ImportRefused, match="line 1: instrument toy-checklist v1.0 is retired"):
        import_file(store, tmp_path / "in.jsonl", actor="test")
    # an assessment made with it can still be amended (under the version it was made with)
    _, sub = engine.check({**answers(a="yes"), "version": "1.0"})
    new_id = store.amend(aid, sub, reason="typing error", actor="test")
    assert store.get_assessment(new_id)["instrument_version"] == "1.0"
    store.close()


def _cli(tmp_path, folder, *args):
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(folder),
           "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    env.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env=env, timeout=180)


def test_cli_refuses_edited_file_then_works_from_snapshot_when_deleted(tmp_path):
    folder = tmp_path / "defs"
    folder.mkdir()
    toy = toy_definition()
    (folder / "toy.json").write_text(json.dumps(toy))
    assert _cli(tmp_path, folder, "db", "init").returncode == 0
    lines = []
    for n in range(6):  # enough people for the research export's k
        for occasion, date, items in [("intake", "2026-01-05", {"toy.a": "yes"}),
                                      ("review", "2026-03-05",
                                       {"toy.a": "yes", "toy.b": "yes", "toy.c": "yes"})]:
            r = answers()
            r["answers"].update(items)
            r["fields"]["assessment_date"] = date
            r.update(person=f"VS-{n}", role="victim_survivor", occasion=occasion,
                     case=f"C-{n}")
            lines.append(json.dumps(r))
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    out = _cli(tmp_path, folder, "assessments", "import", str(tmp_path / "in.jsonl"))
    assert out.returncode == 0, out.stderr

    # The file edited under the same version: refused, naming the version to bump.
    edited = copy.deepcopy(toy)
    edited["sections"][0]["items"][0]["label"] = "First indicator (reworded)"
    (folder / "toy.json").write_text(json.dumps(edited))
    out = _cli(tmp_path, folder, "assessments", "list")
    assert out.returncode == 2
    assert "toy-checklist v1.0" in out.stderr and "1.1" in out.stderr

    # Given a new version, and the old file deleted: the old assessments still work.
    edited["version"] = "1.1"
    (folder / "toy.json").unlink()
    (folder / "toy-1.1.json").write_text(json.dumps(edited))
    out = _cli(tmp_path, folder, "compare", "VS-1", "toy-checklist")
    assert out.returncode == 0, out.stderr
    assert "warning: instrument toy-checklist v1.0" in out.stderr
    assert "definition file is missing" in out.stderr
    assert "crossed into high at review" in out.stdout
    out = _cli(tmp_path, folder, "assessments", "rescore")
    assert out.returncode == 0, out.stderr
    assert "rescored 12 assessments" in out.stdout
    report = tmp_path / "reports"
    out = _cli(tmp_path, folder, "report", "case", "C-1", "--out-dir", str(report))
    assert out.returncode == 0, out.stderr
    assert any(p.suffix == ".pdf" for p in report.iterdir())
    key = tmp_path / "k.key"
    assert _cli(tmp_path, folder, "export", "keygen", "--project", "p",
                "--key-file", str(key)).returncode == 0
    out = _cli(tmp_path, folder, "export", "research", "--project", "p", "--out",
               str(tmp_path / "out"), "--key-file", str(key), "--format", "csv",
               "--no-codebook-pdf", "--purpose", "snapshot test")
    assert out.returncode == 0, out.stderr
    assert "exported 6 people, 12 assessments" in out.stdout + out.stderr


def test_web_pages_of_an_assessment_whose_file_is_gone(tmp_path, caplog):
    from formsengine.web import create_app

    from .web.conftest import FAST_HASH, complete, create_case, login, make_user, start_assessment

    folder = tmp_path / "defs"
    folder.mkdir()
    definition = json.loads(WEB_DEFINITION.read_text())
    (folder / "test-risk.json").write_text(json.dumps(definition))

    def app_for() -> object:
        engine = Engine(Settings(definitions_dir=folder), load_entrypoints=False)
        return create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"),
                           "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                           "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})

    app = app_for()
    store = Store.open(app.config["DATABASE"], app.extensions["formsengine_engine"])
    make_user(store, "alice")
    store.close()
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    case = create_case(client)
    uid = start_assessment(client, case)
    complete(client, uid)

    newer = copy.deepcopy(definition)
    newer["version"] = "1.1"
    (folder / "test-risk.json").unlink()
    (folder / "test-risk-1.1.json").write_text(json.dumps(newer))
    with caplog.at_level(logging.WARNING):
        app = app_for()
    assert "test-risk v1.0" in caplog.text and "definition file is missing" in caplog.text
    client = app.test_client()
    assert login(client, "alice").status_code == 302
    for path in (f"/assessments/{uid}/result", f"/cases/{case}",
                 f"/assessments/{uid}/report.pdf"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "High" in client.get(f"/assessments/{uid}/result").get_data(as_text=True)
