"""Written CSV files: spreadsheet formulas neutralised, numbers left as numbers."""

import csv

import pytest
from formsengine_rfg.csvfile import safe_cell, write_csv


@pytest.mark.parametrize("value, expected", [
    ("=cmd()", "'=cmd()"),
    ("+44 123", "'+44 123"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\tTAB", "'\tTAB"),
    ("\rCR", "'\rCR"),
    ("P-001", "P-001"),
    ("", ""),
    (None, ""),
    (True, "true"),
    (-3, -3),
    (2.5, 2.5),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_written_file_reads_back_with_neutralised_text(tmp_path):
    path = tmp_path / "out.csv"
    write_csv(path, ["ref", "n"], [["=HYPERLINK(\"x\")", -270], ["a,b\nc", 1]])
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["ref", "n"], ["'=HYPERLINK(\"x\")", "-270"], ["a,b\nc", "1"]]
    assert not (tmp_path / "out.csv.part").exists()
