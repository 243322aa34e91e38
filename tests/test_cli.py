"""The command line, run as a real process on real files."""

from __future__ import annotations

import json
import os
import sqlite3 as system_sqlite
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA, answers


def run(tmp_path, *args, env=None):
    base = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
            "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    base.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=120)


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_instruments_list_and_test(tmp_path):
    out = run(tmp_path, "instruments", "list", "--json")
    assert out.returncode == 0, out.stderr
    ids = [i["id"] for i in json.loads(out.stdout)]
    assert "toy-checklist" in ids
    out = run(tmp_path, "instruments", "test", "toy-checklist")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed, 0 failed" in out.stdout


def test_instruments_list_counts_items_and_details_apart(tmp_path):
    """Details (optional follow-up questions with a show_when) are not counted as items."""
    rows = {r["id"]: r for r in json.loads(run(tmp_path, "instruments", "list", "--json").stdout)}
    assert (rows["toy-checklist"]["items"], rows["toy-checklist"]["details"]) == (7, 1)
    out = run(tmp_path, "instruments", "list")
    line = next(x for x in out.stdout.splitlines() if x.startswith("toy-checklist "))
    assert "  7 items + 1 detail " in line


def test_failing_vector_fails_the_command(tmp_path, toy):
    toy["test_vectors"][0]["expect"]["scores"]["yes_count"] = 7
    folder = tmp_path / "defs"
    folder.mkdir()
    write_json(folder / "toy.json", toy)
    out = run(tmp_path, "instruments", "test", env={"FORMSENGINE_DEFINITIONS": str(folder)})
    assert out.returncode == 1
    assert "FAIL toy-checklist v1.0: nothing present" in out.stdout
    assert "scores.yes_count: expected 7, got 0" in out.stdout


def test_score_prints_whole_result(tmp_path):
    data = answers(a="yes", b="yes", c="yes")
    data["fields"]["incidents"] = 3
    out = run(tmp_path, "score", "toy-checklist", str(write_json(tmp_path / "a.json", data)))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["scores"]["yes_count"] == 3
    assert result["bands"]["risk_band"] == "high"
    assert result["level"]["final"] == "high"
    assert result["criteria"] == {"high_count": True, "judged_high": False, "escalation": True,
                                  "repeat": False}
    assert result["flags"]["cluster"] is True


def test_organisation_config_changes_threshold(tmp_path):
    cfg = tmp_path / "org.toml"
    cfg.write_text('[organisation]\nname = "Example area"\n'
                   '[instruments.toy-checklist.parameters]\nescalation = 5\n')
    data = answers()
    data["fields"]["incidents"] = 4
    f = write_json(tmp_path / "a.json", data)
    result = json.loads(run(tmp_path, "--config", str(cfg), "score", "toy-checklist",
                            str(f)).stdout)
    assert result["criteria"]["escalation"] is False
    assert result["configuration"]["name"] == "Example area"
    assert result["configuration"]["parameters"]["escalation"] == 5


@pytest.mark.parametrize("content, expected", [
    (b"{oops", "not valid JSON"),
    (b"\xc3\x28", "not UTF-8"),
    (b'{"instrument": "toy-checklist", "answers": {"toy.a": 5}}', "answer 5 is not one of yes"),
    (b'{"instrument": "toy-checklist", "answers": {"toy.zz": "yes"}}', "unknown item 'toy.zz'"),
    (b'{"instrument": "toy-checklist", "answers": {"toy.a.what": ["one"]}}',
     "only asked when its condition holds"),
    (b'{"instrument": "toy-checklist", "answers": []}', "is not of type 'object'"),
    (b'{"instrument": "nope", "answers": {}}', "is for instrument 'nope'"),
    (b'{"instrument": "toy-checklist", "answers": {}, "fields": {"assessment_date": "31/01/2026"}}',
     "must be a date written YYYY-MM-DD"),
    (b'{"instrument": "toy-checklist", "answers": {}, "fields": {"incidents": -1}}',
     "must be at least 0"),
])
def test_bad_answers_files(tmp_path, content, expected):
    f = tmp_path / "a.json"
    f.write_bytes(content)
    out = run(tmp_path, "score", "toy-checklist", str(f))
    assert out.returncode == 2
    assert expected in out.stderr
    assert "Traceback" not in out.stderr


def test_oversized_answers_file(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('{"instrument": "toy-checklist", "answers": {}, "x": "' + "a" * 1_200_000 + '"}')
    out = run(tmp_path, "score", "toy-checklist", str(f))
    assert out.returncode == 2 and "the limit is 1000000 bytes" in out.stderr


def test_unknown_instrument(tmp_path):
    f = write_json(tmp_path / "a.json", {"answers": {}})
    out = run(tmp_path, "score", "dash-unknown", str(f))
    assert out.returncode == 2 and "unknown instrument 'dash-unknown'" in out.stderr


def test_validate_command(tmp_path, toy):
    good = write_json(tmp_path / "good.json", toy)
    toy["scoring"]["scores"][0]["values"] = ["perhaps"]
    bad = write_json(tmp_path / "bad.json", toy)
    out = run(tmp_path, "instruments", "validate", str(good), str(bad))
    assert out.returncode == 1
    assert f"ok: {good}" in out.stdout
    assert "$.scoring.scores[0].values: value 'perhaps'" in out.stderr


def test_broken_local_definition_stops_with_clear_message(tmp_path, toy):
    folder = tmp_path / "defs"
    folder.mkdir()
    del toy["title"]
    write_json(folder / "mine.json", toy)
    out = run(tmp_path, "instruments", "list", env={"FORMSENGINE_DEFINITIONS": str(folder)})
    assert out.returncode == 2
    assert "mine.json" in out.stderr and "'title' is a required property" in out.stderr


def test_database_import_compare_and_audit_verify(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    lines = []
    for occasion, date, items in [("intake", "2026-01-05", dict(a="yes")),
                                  ("review", "2026-04-05", dict(a="yes", b="yes", c="yes"))]:
        r = answers(**items)
        r["fields"]["assessment_date"] = date
        r.update(person="VS-1", role="victim_survivor", occasion=occasion)
        lines.append(json.dumps(r))
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n")
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode == 0, out.stderr
    assert "imported 2 assessments for 1 people" in out.stdout
    out = run(tmp_path, "compare", "VS-1", "toy-checklist")
    assert "risk_band: crossed into high at review (from low at intake)" in out.stdout
    data = json.loads(run(tmp_path, "compare", "VS-1", "toy-checklist", "--json").stdout)
    assert [o["scores"]["yes_count"] for o in data["occasions"]] == [1, 3]

    out = run(tmp_path, "audit", "verify")
    assert out.returncode == 0 and "audit chain intact" in out.stdout
    # Tamper as an outside tool would: the sqlite3 shell needs the trigger dropped first.
    conn = system_sqlite.connect(tmp_path / "cli.db")
    with pytest.raises(system_sqlite.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'x' WHERE id = 4")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET actor = 'x' WHERE id = 4")
    conn.commit()
    conn.close()
    out = run(tmp_path, "audit", "verify")
    assert out.returncode == 1
    assert "audit chain broken at row 4" in out.stderr


def test_import_refusal_exit_code(tmp_path):
    run(tmp_path, "db", "init")
    f = tmp_path / "in.jsonl"
    f.write_text('{"person": "A", "occasion": "intake"}\nnot json\n')
    out = run(tmp_path, "assessments", "import", str(f))
    assert out.returncode == 2
    assert "line 1:" in out.stderr and "line 2: not valid JSON" in out.stderr


def test_backup_passes_integrity_check(tmp_path):
    run(tmp_path, "db", "init")
    out = run(tmp_path, "db", "backup", str(tmp_path / "copy.db"))
    assert out.returncode == 0, out.stderr
    conn = system_sqlite.connect(tmp_path / "copy.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] >= 1


def test_demo(tmp_path):
    out = run(tmp_path, "demo", "--people", "2")
    assert out.returncode == 0, out.stderr
    assert "synthetic assessments" in out.stdout
    assert "VS-00001 - toy-checklist" in out.stdout
    # the synthetic cases belong to a team of their own, so that the web application shows
    # them to its members; the command says how to make one
    assert "--role practitioner --team Demo" in out.stdout
    conn = system_sqlite.connect(tmp_path / "cli.db")
    rows = conn.execute("SELECT c.ref, t.name, c.opened_on, c.instruments FROM cases c"
                        " JOIN teams t ON t.id = c.team_id ORDER BY c.ref").fetchall()
    assert [r[:2] for r in rows] == [("C-00001", "Demo"), ("C-00002", "Demo")]
    assert all(r[2] and "toy-checklist" in json.loads(r[3]) for r in rows)
    conn.close()
    again = run(tmp_path, "demo", "--people", "2")
    assert again.returncode == 0 and "already in" in again.stdout
    assert "team 'Demo'" not in again.stdout  # nothing left to give it
    conn = system_sqlite.connect(tmp_path / "cli.db")
    assert conn.execute("SELECT COUNT(*) FROM teams").fetchone()[0] == 1
    conn.close()


def test_help_and_version(tmp_path):
    out = run(tmp_path, "--help")
    assert out.returncode == 0 and "instruments" in out.stdout and "compare" in out.stdout
    assert "0.1.0" in run(tmp_path, "--version").stdout


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).with_name("formsengine")
    assert script.exists(), "the formsengine console script is not installed"
    out = subprocess.run([str(script), "instruments", "list"], capture_output=True, text=True,
                         env={**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "toy-checklist" in out.stdout


def test_rescore_after_configuration_change(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    r = answers()
    r["fields"]["incidents"] = 4
    r.update(person="VS-1", role="victim_survivor", occasion="intake")
    (tmp_path / "in.jsonl").write_text(json.dumps(r) + "\n")
    assert run(tmp_path, "assessments", "import", str(tmp_path / "in.jsonl")).returncode == 0
    cfg = tmp_path / "org.toml"
    cfg.write_text('[organisation]\nname = "Area"\n'
                   '[instruments.toy-checklist.parameters]\nescalation = 5\n')
    out = run(tmp_path, "--config", str(cfg), "assessments", "rescore")
    assert out.returncode == 0, out.stderr
    assert "rescored 1 assessments (1 under a different configuration)" in out.stdout
    conn = system_sqlite.connect(tmp_path / "cli.db")
    rows = conn.execute("SELECT seq, config_name, result FROM scores ORDER BY seq").fetchall()
    conn.close()
    assert [(seq, name) for seq, name, _ in rows] == [(1, "defaults"), (2, "Area")]
    assert json.loads(rows[0][2])["criteria"]["escalation"] is True
    assert json.loads(rows[1][2])["criteria"]["escalation"] is False
    out = run(tmp_path, "assessments", "rescore", "--instrument", "nope")
    assert out.returncode == 2 and "unknown instrument 'nope'" in out.stderr
