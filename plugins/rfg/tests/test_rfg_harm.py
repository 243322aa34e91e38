"""Crime harm blocks and the reoffending rate, checked against a hand-worked example."""

import datetime as dt

import pytest
from formsengine_rfg.csvfile import CsvFileError
from formsengine_rfg.harm import block_bounds, block_labels, harm_blocks
from formsengine_rfg.incidents import read_incidents, read_reference_dates
from formsengine_rfg.tables import load_harm_table, parse_harm_table

D = dt.date.fromisoformat

INCIDENTS = [
    ["A", "2023-06-29", "harassment", "true", "V1"],           # before every block
    ["A", "2023-06-30", "harassment", "true", "V1"],           # before_2, first day: 30
    ["A", "2023-12-29", "stalking", "true", "V1"],             # before_2, last day: 300
    ["A", "2023-12-30", "", "false", "V1"],                    # before_1: non-crime, 0 days
    ["A", "2024-06-30", "assault_with_injury", "true", "V1"],  # the reference date: 200
    ["A", "2024-07-01", "harassment", "true", "V1"],           # after_1, first day: 30
    ["A", "2025-06-30", "harassment", "true", "V1"],           # after_2, last day: 30
    ["A", "2025-07-01", "strangulation", "true", "V1"],        # after every block
    ["B", "2024-03-01", "strangulation", "true", "V2"],        # before_1: 700
    ["B", "2024-12-31", "", "false", "V2"],                    # after_2 (first day): non-crime
    ["X", "2024-03-01", "strangulation", "true", "V9"],        # not in the cohort
]
REFERENCES = "perpetrator_ref,reference_date\nA,2024-06-30\nB,2024-06-30\nC,2024-01-31\n"


@pytest.fixture
def report(tmp_path, incidents_file):
    table = load_harm_table(None)
    data = read_incidents(incidents_file(INCIDENTS), table.days, table="harm table")
    assert data.bad == []
    refs_path = tmp_path / "refs.csv"
    refs_path.write_text(REFERENCES)
    refs = read_reference_dates(refs_path)

    def make(**kw):
        return harm_blocks(data, refs, **kw)

    return make


def test_block_bounds_for_a_month_end_reference_date():
    assert block_labels(2) == ["before_2", "before_1", "reference_date", "after_1", "after_2"]
    assert block_bounds(D("2024-06-30"), 6, 2) == [
        (D("2023-06-30"), D("2023-12-29")),
        (D("2023-12-30"), D("2024-06-29")),
        (D("2024-06-30"), D("2024-06-30")),
        (D("2024-07-01"), D("2024-12-30")),
        (D("2024-12-31"), D("2025-06-30")),
    ]


@pytest.mark.parametrize("months", [1, 3, 6, 12])
def test_blocks_tile_the_period_without_gaps_or_overlaps(months):
    day = D("2023-01-01")
    while day < D("2025-01-01"):
        bounds = block_bounds(day, months, 3)
        for (_, end), (start, _) in zip(bounds, bounds[1:]):
            assert start == end + dt.timedelta(days=1)
        assert all(start <= end for start, end in bounds)
        day += dt.timedelta(days=5)


def test_harm_per_perpetrator_and_block_by_hand(report):
    result = report()
    people = {p["perpetrator_ref"]: p for p in result.perpetrators}
    assert sorted(people) == ["A", "B", "C"]
    a = {b["block"]: (b["harm_days"], b["crimes"], b["non_crimes"])
         for b in people["A"]["blocks"]}
    assert a == {"before_2": (330, 2, 0), "before_1": (0, 0, 1), "reference_date": (200, 1, 0),
                 "after_1": (30, 1, 0), "after_2": (30, 1, 0)}
    assert (people["A"]["harm_days_before"], people["A"]["harm_days_after"],
            people["A"]["harm_days_change"]) == (330, 60, -270)
    b = {x["block"]: (x["harm_days"], x["crimes"], x["non_crimes"])
         for x in people["B"]["blocks"]}
    assert b["before_1"] == (700, 1, 0) and b["after_2"] == (0, 0, 1)
    assert all(x["harm_days"] == 0 and not x["crimes"] for x in people["C"]["blocks"])
    assert result.counts == {"cohort": 3, "cohort_without_incidents": 1,
                             "incidents_outside_blocks": 2,
                             "incidents_of_perpetrators_not_in_cohort": 1}


def test_reoffending_rate_and_harm_per_block_by_hand(report):
    summary = {s["block"]: s for s in report().summary}
    expected = {
        # block: (with any incident, rate, with any crime, crime rate, harm, mean)
        "before_2": (1, 0.3333, 1, 0.3333, 330, 110),
        "before_1": (2, 0.6667, 1, 0.3333, 700, 233.3333),
        "reference_date": (1, 0.3333, 1, 0.3333, 200, 66.6667),
        "after_1": (1, 0.3333, 1, 0.3333, 30, 10),
        "after_2": (2, 0.6667, 1, 0.3333, 30, 10),
    }
    for block, values in expected.items():
        s = summary[block]
        assert s["perpetrators"] == s["observed"] == 3
        assert (s["with_any_incident"], s["reoffending_rate"], s["with_any_crime"],
                s["crime_rate"], s["harm_days_total"], s["harm_days_mean"]) == values, block
    assert summary["after_2"]["non_crimes"] == 1 and summary["after_2"]["crimes"] == 1


def test_blocks_past_the_end_of_the_data_are_not_counted(report):
    result = report(data_end=D("2025-03-31"))
    after_2 = {s["block"]: s for s in result.summary}["after_2"]
    # Only C's after_2 block (ending 2025-01-31) lies inside the data.
    assert (after_2["observed"], after_2["with_any_incident"], after_2["reoffending_rate"]) == (
        1, 0, 0)
    assert not result.warnings
    a = next(p for p in result.perpetrators if p["perpetrator_ref"] == "A")
    assert a["all_blocks_observed"] is False
    # Without --data-end: no warning while the file has incidents after every block ...
    assert report().warnings == []
    # ... but a warning once the blocks run past the latest incident in the file.
    longer = report(block_months=12)
    assert len(longer.warnings) == 1 and "--data-end" in longer.warnings[0]
    assert "for 3 perpetrator(s)" in longer.warnings[0]


def test_blocks_before_the_start_of_the_data_are_not_counted(report):
    summary = {s["block"]: s for s in report(data_start=D("2023-06-30")).summary}
    # C's before_2 block starts on 2023-01-31, before the data; A's and B's on 2023-06-30.
    assert summary["before_2"]["observed"] == 2
    assert summary["before_2"]["reoffending_rate"] == 0.5
    assert summary["before_1"]["observed"] == 3


def test_one_block_of_twelve_months(report):
    summary = {s["block"]: s for s in report(block_months=12, blocks=1).summary}
    assert list(summary) == ["before_1", "reference_date", "after_1"]
    assert summary["before_1"]["harm_days_total"] == 330 + 700
    assert summary["after_1"]["harm_days_total"] == 30 + 30


def test_the_shipped_table_is_marked_illustrative():
    table = load_harm_table(None)
    record = table.record()
    assert record["illustrative"] is True
    assert "NOT the Cambridge Crime Harm Index" in record["note"]
    assert all(label.endswith("(illustrative)") for label in table.labels.values())
    assert len(table.days) <= 20


def test_an_organisation_table_is_read_and_hashed(tmp_path):
    path = tmp_path / "chi.csv"
    path.write_text("# our licensed table\noffence_code,harm_days\nOFF-1,365\noff-2,2.5\n")
    table = load_harm_table(path)
    assert table.days == {"off-1": 365, "off-2": 2.5}
    assert not table.illustrative and table.sha256.startswith("sha256:")


@pytest.mark.parametrize("text, message", [
    ("code,days\nA,1\n", "missing column(s) offence_code, harm_days"),
    ("offence_code,harm_days\nA,1\na,2\n", "line 3: offence code 'a' is listed twice"),
    ("offence_code,harm_days\nA,-1\n", "line 2: harm_days '-1' is not a number"),
    ("offence_code,harm_days\nA,lots\n", "line 2: harm_days 'lots'"),
    ("offence_code,harm_days\nA,inf\n", "harm_days 'inf'"),
    ("offence_code,harm_days\nA\n", "line 2: has 1 values"),
    ("offence_code,harm_days\n", "lists no offences"),
    ("", "no header"),
])
def test_bad_harm_tables_are_refused_with_lines(text, message):
    with pytest.raises(CsvFileError) as err:
        parse_harm_table(text.encode(), "t.csv")
    assert message in str(err.value)


def test_harm_table_must_be_utf8():
    with pytest.raises(CsvFileError, match="not UTF-8"):
        parse_harm_table(b"offence_code,harm_days\nd\xe9g\xe2ts,1\n", "t.csv")
