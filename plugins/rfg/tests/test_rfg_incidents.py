"""The incident and reference-dates readers: every bad row reported with its line."""

import datetime as dt

import pytest
from formsengine_rfg import csvfile
from formsengine_rfg.csvfile import CsvFileError
from formsengine_rfg.incidents import read_incidents, read_reference_dates

TABLE = {"assault_with_injury": 3, "harassment": 2, "8n": 4}


def read(path, **kw):
    return read_incidents(path, TABLE, table="gravity matrix", **kw)


def lines(data):
    return {b.line: b.problem for b in data.bad}


def test_good_rows_are_grouped_by_perpetrator(incidents_file):
    path = incidents_file([
        ["P1", "2024-01-02", "assault_with_injury", "true", "V1"],
        ["P1", "2024-02-02", "", "no", ""],
        ["P2", "2024-03-02", "HARASSMENT", "Yes", "V2"],
        ["P2", "2024-03-03", " 8N ", "1", "V2"],
        ["P2", "2024-03-04", "", "0", "V2"],
        ["P2", "2024-03-05", "", "FALSE", "V2"],
    ])
    data = read(path)
    assert data.bad == []
    assert data.rows_read == 6 and data.rows_used == 6
    assert data.crimes == 3 and data.non_crimes == 3
    assert data.without_victim == 1
    p2 = data.by_perpetrator["P2"]
    assert [i[2] for i in p2] == [2, 4, 0, 0]   # codes ignore case and spaces
    assert data.earliest == dt.date(2024, 1, 2) and data.latest == dt.date(2024, 3, 5)


def test_each_malformed_row_is_reported_with_its_line(incidents_file):
    path = incidents_file([
        ["P1", "2024-01-02", "harassment", "true", "V1"],      # line 2: good
        ["P1", "2024-02-30", "harassment", "true", "V1"],      # line 3: no such date
        ["", "2024-01-02", "harassment", "true", "V1"],        # line 4: no perpetrator
        ["P1", "02/01/2024", "harassment", "true", "V1"],      # line 5: wrong format
        ["P1", "2024-01-02", "harassment", "maybe", "V1"],     # line 6: is_crime
        ["P1", "2024-01-02", "", "true", "V1"],                # line 7: crime without code
        ["P1", "2024-01-02", "harassment", "true"],            # line 8: a value short
        ["P1", "2024-01-02", "harassment", "true", "V1", "x"],  # line 9: a value extra
        ["P1", "", "harassment", "", "V1"],                    # line 10: two problems
    ])
    data = read(path)
    found = lines(data)
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "not a real calendar date" in found[3]
    assert "perpetrator_ref is empty" in found[4]
    assert "YYYY-MM-DD" in found[5]
    assert "is_crime 'maybe'" in found[6]
    assert "needs an offence_code" in found[7]
    assert "has 4 values; the header has 5" in found[8]
    assert "has 6 values" in found[9]
    assert "date is empty" in found[10] and "is_crime is empty" in found[10]
    assert data.rows_used == 1
    assert data.summary()["rows_bad"] == 8


def test_unknown_offence_code_is_a_bad_row_never_zero(incidents_file):
    path = incidents_file([
        ["P1", "2024-01-02", "harasment", "true", "V1"],
        ["P1", "2024-01-03", "harassment", "true", "V1"],
    ])
    data = read(path)
    assert lines(data) == {2: "offence code 'harasment' is not in the gravity matrix"}
    assert [i[2] for i in data.by_perpetrator["P1"]] == [2]


def test_non_crime_codes_are_not_looked_up(incidents_file):
    path = incidents_file([["P1", "2024-01-02", "verbal_argument", "false", "V1"]])
    data = read(path, non_crime_value=0.5)
    assert data.bad == []
    assert data.by_perpetrator["P1"][0][1:3] == (False, 0.5)


def test_incident_type_column_instead_of_offence_code(incidents_file):
    path = incidents_file([["P1", "2024-01-02", "harassment", "true", "V1"]],
                          header=["perpetrator_ref", "date", "incident_type", "is_crime",
                                  "victim_ref"])
    assert read(path).by_perpetrator["P1"][0][2] == 2


def test_missing_columns_stop_the_file(incidents_file):
    path = incidents_file([["P1", "2024-01-02", "true"]],
                          header=["perpetrator_ref", "date", "is_crime"])
    with pytest.raises(CsvFileError) as err:
        read(path)
    message = str(err.value)
    assert "line 1: missing column(s) victim_ref, offence_code or incident_type" in message


def test_header_names_ignore_case_spaces_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffPerpetrator_Ref , DATE,Offence_Code,Is_Crime,Victim_Ref,notes\n"
                     "P1,2024-01-02,harassment,true,V1,free text\n".encode())
    data = read(path)
    assert data.bad == [] and data.rows_used == 1
    assert data.extra_columns == ["notes"]


def test_duplicate_and_empty_headers(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("perpetrator_ref,date,date,offence_code,is_crime,victim_ref\n")
    with pytest.raises(CsvFileError, match="appears twice"):
        read(dup)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CsvFileError, match="empty"):
        read(empty)


def test_broken_utf8_line_is_reported_and_the_rest_is_read(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"perpetrator_ref,date,offence_code,is_crime,victim_ref\n"
                     b"P1,2024-01-02,harassment,true,V1\n"
                     b"P\xe9,2024-01-02,harassment,true,V1\n"
                     b"P2,2024-01-02,harassment,true,V\xff\xfe\n"
                     b"P3,2024-01-02,harassment,true,V3\n")
    data = read(path)
    assert lines(data) == {3: "is not UTF-8 text (re-save the file as UTF-8)",
                           4: "is not UTF-8 text (re-save the file as UTF-8)"}
    assert sorted(data.by_perpetrator) == ["P1", "P3"]


def test_broken_utf8_header_stops_the_file(tmp_path):
    path = tmp_path / "bad-header.csv"
    path.write_bytes(b"perpetrator_ref,d\xe4te,offence_code,is_crime,victim_ref\n")
    with pytest.raises(CsvFileError, match="not UTF-8"):
        read(path)


def test_quoted_line_breaks_keep_line_numbers(tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text('perpetrator_ref,date,offence_code,is_crime,victim_ref\n'
                    'P1,2024-01-02,harassment,true,"V1\nsecond line"\n'
                    'P1,2024-13-02,harassment,true,V1\n'
                    '\n'
                    'P2,2024-01-02,harassment,true,V2\r\n'
                    'P2,2024-01-0x,harassment,true,V2\r\n')
    data = read(path)
    # Line 2 holds a victim_ref with a line break: refused as a control character.
    assert sorted(lines(data)) == [2, 4, 7]


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.write(b"perpetrator_ref,date,offence_code,is_crime,victim_ref\n")
        fh.truncate(csvfile.MAX_CSV_BYTES + 1)   # sparse: large on paper, nothing written
    with pytest.raises(CsvFileError, match="the limit is 100,000,000 bytes"):
        read(path)


def test_oversized_cell_is_a_bad_row_and_reading_goes_on(tmp_path):
    path = tmp_path / "longcell.csv"
    path.write_text("perpetrator_ref,date,offence_code,is_crime,victim_ref\n"
                    f"P1,2024-01-02,harassment,true,\"{'x' * 200_000}\"\n"
                    "P2,2024-01-02,harassment,true,V2\n")
    data = read(path)
    assert list(lines(data)) == [2]
    assert "field larger than field limit" in lines(data)[2]
    assert list(data.by_perpetrator) == ["P2"]


def test_long_and_control_character_refs(incidents_file):
    path = incidents_file([
        ["P" * 65, "2024-01-02", "harassment", "true", "V1"],
        ["P\x1b[31m", "2024-01-02", "harassment", "true", "V1"],
        ["P1", "2024-01-02", "harassment", "true", "V\u200b1"],
    ])
    found = lines(read(path))
    assert "longer than 64 characters" in found[2]
    assert "control or invisible characters" in found[3]
    assert "victim_ref contains control" in found[4]


def test_formula_like_cells_are_kept_as_data(incidents_file):
    path = incidents_file([
        ["=cmd()", "2024-01-02", "harassment", "true", "+V1"],
        ["@SUM(A1)", "2024-01-02", "=1+1", "true", "V1"],
    ])
    data = read(path)
    assert list(data.by_perpetrator) == ["=cmd()"]
    assert lines(data) == {3: "offence code '=1+1' is not in the gravity matrix"}


def test_exact_duplicates_are_counted_not_dropped(incidents_file):
    row = ["P1", "2024-01-02", "harassment", "true", "V1"]
    data = read(incidents_file([row, row, row]))
    assert data.rows_used == 3 and data.duplicates == 2


def test_reference_dates(tmp_path):
    path = tmp_path / "refs.csv"
    path.write_text("perpetrator_ref,reference_date\nP1,2024-06-30\nP2,2024-06-31\n"
                    "P1,2024-07-01\n,2024-01-01\nP3,2024-01-01\n")
    refs = read_reference_dates(path)
    assert refs.dates == {"P1": dt.date(2024, 6, 30), "P3": dt.date(2024, 1, 1)}
    assert {b.line: b.problem for b in refs.bad} == {
        3: "reference_date '2024-06-31' is not a real calendar date",
        4: "perpetrator_ref 'P1' already has a reference date on line 2",
        5: "perpetrator_ref is empty",
    }
