"""The command line, run as a real process on real files."""

from __future__ import annotations

import json
import os
import sqlite3 as system_sqlite
import subprocess
import sys
from pathlib import Path

import pytest

from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.store.caseviews import team_name

from .conftest import DATA, DefinitionsPlugin, answers, make_engine, toy_definition


def run(tmp_path, *args, env=None):
    base = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
            "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    base.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=120)


def _opened(path):
    """The command line's database, opened with the same definitions."""
    return Store.open(path, make_engine(DefinitionsPlugin(toy_definition())))


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
    # The text table names the critical flags raised, and its columns line up.
    table = out.stdout.splitlines()[1:4]
    assert table[0].split()[-2:] == ["critical", "flags"]
    assert table[1].endswith("  First indicator present")
    assert table[2].endswith("  B and C with A or D; First indicator present")
    for heading in ("date", "level", "critical flags"):
        start = table[0].index(heading)
        assert all(row[start - 2:start] == "  " and row[start] != " " for row in table[1:])
    count_end = table[0].index("yes_count") + len("yes_count")
    assert [row[count_end - 1] for row in table[1:]] == ["1", "3"]  # numbers to the right

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
    with _opened(tmp_path / "copy.db") as copy:
        assert look.integrity(copy) == "ok"
        assert look.count(copy, "audit") >= 1
    # the copy's audit trail verifies: its key went with it
    out = run(tmp_path, "audit", "verify", env={"FORMSENGINE_DB": str(tmp_path / "copy.db")})
    assert out.returncode == 0, out.stderr


def test_demo(tmp_path):
    out = run(tmp_path, "demo", "--people", "2")
    assert out.returncode == 0, out.stderr
    assert "synthetic assessments" in out.stdout
    assert "VS-00001 - toy-checklist" in out.stdout
    # the synthetic cases belong to a team of their own, so that the web application shows
    # them to its members; the command says how to make one
    assert "--role practitioner --team Demo" in out.stdout
    with _opened(tmp_path / "cli.db") as store:
        rows = look.rows(store, "cases", "ref", "team_id", "opened_on", "instruments",
                         order_by="ref")
        teams = [team_name(store, r["team_id"]) for r in rows]
    assert [(r["ref"], t) for r, t in zip(rows, teams)] == [("C-00001", "Demo"),
                                                           ("C-00002", "Demo")]
    assert all(r["opened_on"] and "toy-checklist" in json.loads(r["instruments"]) for r in rows)
    again = run(tmp_path, "demo", "--people", "2")
    assert again.returncode == 0 and "already in" in again.stdout
    assert "team 'Demo'" not in again.stdout  # nothing left to give it
    with _opened(tmp_path / "cli.db") as store:
        assert look.count(store, "teams") == 1


def test_help_and_version(tmp_path):
    out = run(tmp_path, "--help")
    assert out.returncode == 0 and "instruments" in out.stdout and "compare" in out.stdout
    assert "0.2.0" in run(tmp_path, "--version").stdout


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
    with _opened(tmp_path / "cli.db") as store:
        rows = look.rows(store, "scores", "seq", "config_name", "result", order_by="seq")
    assert [(r["seq"], r["config_name"]) for r in rows] == [(1, "defaults"), (2, "Area")]
    assert json.loads(rows[0]["result"])["criteria"]["escalation"] is True
    assert json.loads(rows[1]["result"])["criteria"]["escalation"] is False
    out = run(tmp_path, "assessments", "rescore", "--instrument", "nope")
    assert out.returncode == 2 and "unknown instrument 'nope'" in out.stderr


@pytest.mark.parametrize("source", ["/dev/urandom", "/dev/zero"])
def test_score_reads_at_most_its_limit_from_a_device(tmp_path, source):
    """A device has no size to check beforehand: the limit applies to what is read."""
    out = run(tmp_path, "score", "toy-checklist", source)
    assert out.returncode == 2, out.stderr
    assert "too large: the limit is 1000000 bytes" in out.stderr
    assert "Traceback" not in out.stderr


def test_score_reads_at_most_its_limit_from_a_pipe(tmp_path):
    fifo = tmp_path / "answers.pipe"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "score", "toy-checklist",
                             str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA)})
    written = 0
    try:
        with open(fifo, "wb") as fh:
            for _ in range(50):  # up to 50 MB, far past the limit: the reader stops early
                fh.write(b" " * 1_000_000)
                written += 1
    except BrokenPipeError:
        pass
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "too large: the limit is 1000000 bytes" in err
    assert written < 50


def test_import_from_an_endless_device_is_refused(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    out = run(tmp_path, "assessments", "import", "/dev/zero")
    assert out.returncode != 0
    assert "larger than the limit of 200000000 bytes" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def test_cases_and_assessments_are_listed_and_a_case_is_found_by_reference(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    lines = []
    for occasion, date in [("intake", "2026-01-05"), ("review", "2026-04-05")]:
        r = answers(a="yes")
        r["fields"]["assessment_date"] = date
        r.update(person="VS-7", role="victim_survivor", occasion=occasion, case="C-77")
        lines.append(json.dumps(r))
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n")
    assert run(tmp_path, "assessments", "import", str(f)).returncode == 0

    cases = json.loads(run(tmp_path, "cases", "list", "--json").stdout)
    assert [(c["ref"], c["people"], c["final"], c["drafts"]) for c in cases] == [
        ("C-77", "VS-7", 2, 0)]
    assert json.loads(run(tmp_path, "cases", "list", "--team", "-", "--json").stdout)
    assert json.loads(run(tmp_path, "cases", "list", "--status", "closed", "--json").stdout) == []
    text = run(tmp_path, "cases", "list").stdout
    assert text.splitlines()[0].split() == ["uid", "reference", "team", "status", "opened",
                                            "people", "final", "drafts"]
    assert "1 case(s)" in text

    listed = json.loads(run(tmp_path, "assessments", "list", "--case", "c-77", "--json").stdout)
    assert [(a["occasion"], a["person"], a["status"]) for a in listed] == [
        ("review", "VS-7", "final"), ("intake", "VS-7", "final")]
    only = json.loads(run(tmp_path, "assessments", "list", "--occasion", "intake",
                          "--instrument", "toy-checklist", "--json").stdout)
    assert [a["uid"] for a in only] == [listed[1]["uid"]]
    assert json.loads(run(tmp_path, "assessments", "list", "--status", "draft",
                          "--json").stdout) == []
    out = run(tmp_path, "assessments", "list", "--case", "C-404")
    assert out.returncode == 2 and "no case with the uid or reference 'C-404'" in out.stderr

    folder = tmp_path / "pdfs"
    folder.mkdir()
    out = run(tmp_path, "report", "case", "C-77", "--out-dir", str(folder))
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).read_bytes().startswith(b"%PDF")
    uid = cases[0]["uid"]
    assert run(tmp_path, "report", "case", uid, "--out-dir", str(folder)).returncode == 0


def _import_lines(tmp_path, name, records):
    lines = []
    for i, extra in enumerate(records):
        r = answers(a="yes")
        r["fields"]["assessment_date"] = f"2026-0{1 + i % 9}-05"
        r.update(role="victim_survivor", **extra)
        lines.append(json.dumps(r))
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return run(tmp_path, "assessments", "import", str(f))


def test_import_gives_cases_a_team_and_practitioner_and_refuses_unknown_ones(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    assert run(tmp_path, "teams", "create", "North").returncode == 0
    assert run(tmp_path, "teams", "create", "South").returncode == 0
    assert run(tmp_path, "users", "create", "ana", "--role", "practitioner",
               "--team", "North").returncode == 0

    refused = _import_lines(tmp_path, "bad.jsonl", [
        {"person": "VS-1", "occasion": "intake", "case": "C-1", "team": "Nowhere"},
        {"person": "VS-2", "occasion": "intake", "case": "C-2", "team": "South",
         "practitioner": "ana"},
        {"person": "VS-3", "occasion": "intake", "case": "C-3", "team": "North",
         "practitioner": "nobody"},
        {"person": "VS-4", "occasion": "intake", "team": "North"},
        {"person": "VS-5", "occasion": "intake", "case": "C-5", "team": "North"},
        {"person": "VS-5", "occasion": "review", "case": "C-5", "team": "South"},
    ])
    assert refused.returncode == 2
    err = refused.stderr
    assert "line 1: no team 'Nowhere'" in err
    assert "line 2: user 'ana' is not in the case's team" in err
    assert "line 3: no user 'nobody'" in err
    assert "line 4: team and practitioner belong to a case" in err
    assert "line 6: case 'C-5' is given another team or practitioner than on line 5" in err
    assert json.loads(run(tmp_path, "cases", "list", "--json").stdout) == []

    done = _import_lines(tmp_path, "good.jsonl", [
        {"person": "VS-1", "occasion": "intake", "case": "C-1", "team": "North",
         "practitioner": "ana"},
        {"person": "VS-1", "occasion": "review", "case": "C-1"},
        {"person": "VS-2", "occasion": "intake", "case": "C-2"},
    ])
    assert done.returncode == 0, done.stderr
    cases = {c["ref"]: c for c in json.loads(run(tmp_path, "cases", "list", "--json").stdout)}
    assert cases["C-1"]["team"] == "North" and cases["C-2"]["team"] is None

    # An existing case keeps its team: moving it is 'cases assign'.
    moved = _import_lines(tmp_path, "move.jsonl", [
        {"person": "VS-1", "occasion": "exit", "case": "C-1", "team": "South"}])
    assert moved.returncode == 2 and "case 'C-1' is in team 'North'" in moved.stderr

    out = run(tmp_path, "cases", "assign", "--without-team", "--team", "South")
    assert out.returncode == 0, out.stderr
    assert "1 case(s) in team South; 1 moved" in out.stdout
    out = run(tmp_path, "cases", "assign", "C-1", "--team", "South")
    assert out.returncode == 0 and "1 moved" in out.stdout
    teams = {c["ref"]: c["team"] for c in json.loads(run(tmp_path, "cases", "list",
                                                          "--json").stdout)}
    assert teams == {"C-1": "South", "C-2": "South"}
    out = run(tmp_path, "cases", "assign", "C-2", "--team", "South", "--practitioner", "ana")
    assert out.returncode == 2 and "not in the case's team" in out.stderr
    out = run(tmp_path, "cases", "assign", "C-404", "--team", "South")
    assert out.returncode == 2 and "no case with the uid or reference 'C-404'" in out.stderr
    out = run(tmp_path, "cases", "assign", "--team", "South")
    assert out.returncode == 2 and "--without-team" in out.stderr
    assert run(tmp_path, "audit", "verify").returncode == 0


def test_teams_list_prints_names_in_order(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    assert run(tmp_path, "teams", "create", "South").returncode == 0
    assert run(tmp_path, "teams", "create", "North").returncode == 0
    listed = run(tmp_path, "teams", "list")
    assert listed.returncode == 0
    assert listed.stdout.split() == ["North", "South"]
