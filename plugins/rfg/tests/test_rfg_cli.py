"""The ``formsengine rfg`` commands on real files.

Most tests run the core command group in process (``run``); storing and comparing runs the
real ``formsengine`` command in subprocesses on a real SQLite file (``cli``).
"""

import csv
import json
from pathlib import Path

import pytest
from rfg_helpers import write_config, write_incidents

ROWS = [
    ["=cmd()", "2024-12-20", "strangulation", "true", "V1"],
    ["=cmd()", "2024-11-01", "assault_with_injury", "true", "+V2"],
    ["MID", "2024-06-01", "harassment", "true", "V3"],
    ["LOW", "2022-02-01", "criminal_damage", "yes", "V4"],
    ["LOW", "2022-03-01", "", "no", "V4"],
]


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def incidents(tmp_path):
    return write_incidents(tmp_path / "incidents.csv", ROWS)


def test_rank_writes_csv_and_json_with_the_configuration_hash(run, incidents, tmp_path):
    result = run("rfg", "rank", incidents, "--as-of", "2024-12-31", "--out", "out")
    assert result.code == 0, result.stderr
    assert "=cmd()" in result.stdout and "wrote rfg-ranking.csv, rfg-ranking.json" in (
        result.stderr)
    rows = read_csv_rows(tmp_path / "out" / "rfg-ranking.csv")
    payload = json.loads((tmp_path / "out" / "rfg-ranking.json").read_text())
    # Formula-like text is neutralised in the CSV and kept as it is in the JSON.
    assert [r["perpetrator_ref"] for r in rows] == ["'=cmd()", "MID", "LOW"]
    assert [r["perpetrator_ref"] for r in payload["ranking"]] == ["=cmd()", "MID", "LOW"]
    assert rows[0]["serial"] == "true" and rows[0]["rank"] == "1"
    assert {r["config_hash"] for r in rows} == {payload["configuration"]["hash"]}
    assert payload["configuration"]["name"].startswith("formsengine illustrative defaults")
    assert payload["input"]["rows_used"] == 5 and payload["bad_rows"] == []
    assert payload["harm_table"] is None
    low = payload["ranking"][2]
    assert (low["frequency_crime"], low["frequency_noncrime"], low["gravity"]) == (1, 1, 1)


def test_same_configuration_same_hash_changed_weight_new_hash(run, incidents, tmp_path):
    def config_hash(*extra):
        return run("rfg", "rank", incidents, "--as-of", "2024-12-31", "--json",
                   *extra).json()["configuration"]["hash"]

    default = config_hash()
    same = write_config(tmp_path / "same.json", {"weights": {"gravity": 30}})
    changed = write_config(tmp_path / "changed.json", {"weights": {"gravity": 35}})
    assert config_hash("--config", same) == default
    assert config_hash("--config", changed) != default
    shown = json.loads(run("rfg", "config", "--config", changed).stdout)
    assert shown["hash"] == config_hash("--config", changed)
    assert shown["settings"]["weights"]["gravity"] == 35


def test_bad_rows_stop_the_run_and_are_all_listed(run, tmp_path):
    path = write_incidents(tmp_path / "incidents.csv", ROWS + [
        ["P9", "2024-02-31", "harassment", "true", "V1"],
        ["", "2024-01-01", "harassment", "true", "V1"],
        ["P9", "2024-01-01", "not_a_code", "true", "V1"],
    ])
    result = run("rfg", "rank", path, "--as-of", "2024-12-31", "--out", "out")
    assert result.code == 1
    for line in (7, 8, 9):
        assert f"incidents.csv: line {line}: " in result.stderr
    assert "offence code 'not_a_code' is not in the gravity matrix" in result.stderr
    assert "3 bad row(s)" in result.stderr and "--skip-bad-rows" in result.stderr
    assert not (tmp_path / "out" / "rfg-ranking.csv").exists()
    listed = read_csv_rows(tmp_path / "out" / "rfg-bad-rows.csv")
    assert [r["line"] for r in listed] == ["7", "8", "9"]


def test_skip_bad_rows_lists_and_counts_them(run, tmp_path):
    path = write_incidents(tmp_path / "incidents.csv", ROWS + [
        ["P9", "2024-02-31", "harassment", "true", "V1"]])
    result = run("rfg", "rank", path, "--as-of", "2024-12-31", "--json", "--skip-bad-rows")
    payload = result.json()
    assert payload["bad_rows"] == [{"file": "incidents.csv", "line": 7,
                                    "problem": "date '2024-02-31' is not a real calendar date"}]
    assert payload["input"]["rows_bad"] == 1 and payload["input"]["rows_used"] == 5
    assert "line 7" in result.stderr and "1 bad row(s) left out" in result.stderr


def test_hostile_files(run, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"perpetrator_ref,date,offence_code,is_crime,victim_ref\n"
                       b"P1,2024-01-02,harassment,true,V\xff1\n"
                       b"P2,2024-01-02,harassment,true,V2\n")
    result = run("rfg", "rank", broken, "--as-of", "2024-12-31")
    assert result.code == 1 and "broken.csv: line 2: is not UTF-8 text" in result.stderr

    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fh:
        fh.write(b"perpetrator_ref,date,offence_code,is_crime,victim_ref\n")
        fh.truncate(150_000_000)
    result = run("rfg", "rank", huge, "--as-of", "2024-12-31")
    assert result.code == 2 and "the limit is 100,000,000 bytes" in result.stderr

    columns = tmp_path / "columns.csv"
    columns.write_text("perp,date\nP1,2024-01-01\n")
    result = run("rfg", "rank", columns, "--as-of", "2024-12-31")
    assert result.code == 2 and "line 1: missing column(s) perpetrator_ref" in result.stderr


def test_usage_errors(run, incidents, tmp_path):
    assert run("rfg", "rank", incidents, "--as-of", "2024-02-30").code == 2
    assert "--store needs --occasion" in run("rfg", "rank", incidents, "--as-of", "2024-12-31",
                                             "--store").stderr
    table = tmp_path / "t.csv"
    table.write_text("offence_code,harm_days\nharassment,5\n")
    result = run("rfg", "rank", incidents, "--as-of", "2024-12-31", "--harm-table", table)
    assert result.code == 2 and "gravity.source" in result.stderr


def test_gravity_from_an_organisation_harm_table(run, incidents, tmp_path):
    table = tmp_path / "org-table.csv"
    table.write_text("offence_code,harm_days\nstrangulation,1000\nassault_with_injury,100\n"
                     "harassment,10\ncriminal_damage,1\n")
    config = write_config(tmp_path / "days.json", {
        "gravity": {"source": "harm_days"}, "normalisation": {"scale": {"gravity": 1000}}})
    result = run("rfg", "rank", incidents, "--as-of", "2024-12-31", "--config", config,
                 "--harm-table", table, "--json")
    payload = result.json()
    assert "illustrative" not in result.stderr
    assert payload["ranking"][0]["gravity"] == 1100
    assert payload["harm_table"]["name"] == "org-table.csv"
    table.write_text(table.read_text().replace("1000", "900"))
    again = run("rfg", "rank", incidents, "--as-of", "2024-12-31", "--config", config,
                "--harm-table", table, "--json").json()
    assert again["configuration"]["hash"] != payload["configuration"]["hash"]


def test_harm_report_files(run, tmp_path):
    incidents = write_incidents(tmp_path / "incidents.csv", [
        ["A", "2024-03-01", "strangulation", "true", "V1"],
        ["A", "2024-09-01", "harassment", "true", "V1"],
        ["A", "2024-10-01", "", "false", "V1"],
        ["B", "2024-08-01", "", "false", "V2"],
    ])
    refs = tmp_path / "refs.csv"
    refs.write_text("perpetrator_ref,reference_date\nA,2024-06-30\nB,2024-06-30\n")
    result = run("rfg", "harm", incidents, "--reference-dates", refs, "--blocks", "1",
                 "--data-end", "2024-12-31", "--out", "harm")
    assert result.code == 0, result.stderr
    assert "NOT the Cambridge Crime Harm Index" in result.stderr
    summary = {r["block"]: r for r in read_csv_rows(tmp_path / "harm" / "rfg-harm-summary.csv")}
    assert summary["before_1"]["harm_days_total"] == "700"
    assert summary["after_1"]["reoffending_rate"] == "1.0"
    assert summary["after_1"]["crime_rate"] == "0.5"
    assert summary["after_1"]["non_crimes"] == "2" and summary["after_1"]["harm_days_total"] == "30"
    blocks = read_csv_rows(tmp_path / "harm" / "rfg-harm-blocks.csv")
    assert len(blocks) == 2 * 3
    payload = json.loads((tmp_path / "harm" / "rfg-harm.json").read_text())
    assert payload["harm_table"]["illustrative"] is True
    assert payload["perpetrators"][0]["harm_days_change"] == 30 - 700


def test_harm_bad_reference_rows_stop_the_run(run, tmp_path):
    incidents = write_incidents(tmp_path / "incidents.csv",
                                [["A", "2024-03-01", "strangulation", "true", "V1"]])
    refs = tmp_path / "refs.csv"
    refs.write_text("perpetrator_ref,reference_date\nA,2024-06-31\n")
    result = run("rfg", "harm", incidents, "--reference-dates", refs)
    assert result.code == 1 and "refs.csv: line 2: reference_date" in result.stderr


@pytest.mark.slow
def test_store_and_compare_before_and_after(cli, tmp_path):
    incidents = write_incidents(tmp_path / "incidents.csv", [
        ["P1", "2024-06-01", "strangulation", "true", "V1"],
        ["P1", "2024-05-01", "harassment", "true", "V2"],
        ["P2", "2024-06-15", "harassment", "true", "V3"],
        ["P3", "2023-01-01", "harassment", "true", "V4"],
        ["P1", "2024-10-01", "", "false", "V1"],
        ["P4", "2024-11-01", "stalking", "true", "V5"],
    ])
    db = tmp_path / "rfg.db"
    assert cli("--db", db, "db", "init").code == 0
    first = cli("rfg", "rank", incidents, "--as-of", "2024-06-30", "--store", "--occasion",
                "selection", "--db", db, "--top", "2")
    assert first.code == 0, first.stderr
    assert "stored 2 rfg-ranking assessments at occasion selection" in first.stderr
    second = cli("--db", db, "rfg", "rank", incidents, "--as-of", "2024-12-31", "--store",
                 "--occasion", "review_6m", "--existing-only")
    assert second.code == 0, second.stderr
    assert "stored 2 rfg-ranking assessments" in second.stderr
    assert "(2 not in the database, left out)" in second.stderr

    history = cli("--db", db, "compare", "P1", "rfg-ranking", "--json").json()
    occasions = history["occasions"]
    assert [o["occasion"] for o in occasions] == ["selection", "review_6m"]
    assert [o["date"] for o in occasions] == ["2024-06-30", "2024-12-31"]
    before, after = occasions
    assert before["scores"]["recency"] == 6 and after["scores"]["recency"] == 5
    assert (before["scores"]["frequency_noncrime"], after["scores"]["frequency_noncrime"]) == (
        0, 1)
    assert before["flags"] == ["serial"] and after["flags"] == ["serial"]
    change = after["scores"]["total"] - before["scores"]["total"]
    assert after["change_from_first"]["total"] == pytest.approx(change)
    assert before["scores"]["config_hash"].startswith("sha256:")
    text = cli("--db", db, "compare", "P1", "rfg-ranking")
    assert text.code == 0 and "review_6m" in text.stdout and "total" in text.stdout

    again = cli("--db", db, "rfg", "rank", incidents, "--as-of", "2024-12-31", "--store",
                "--occasion", "review_6m")
    assert again.code == 2
    assert "nothing was stored" in again.stderr
    assert "'P1' already has a final rfg-ranking assessment at occasion review_6m" in (
        again.stderr)
    assert cli("--db", db, "compare", "P4", "rfg-ranking").code == 2     # not stored
    wrong = cli("--db", db, "rfg", "rank", incidents, "--as-of", "2024-12-31", "--store",
                "--occasion", "week_12")
    assert wrong.code == 2 and "not used at occasion 'week_12'" in wrong.stderr
    assert cli("--db", db, "audit", "verify").code == 0
