"""Ranking: components, bands, window edges, normalisation and deterministic ties."""

import pytest

AS_OF = "2024-12-31"

HISTORY = [
    # HIGH: recent, frequent, grave, two victims
    ["HIGH", "2024-12-20", "strangulation", "true", "V1"],
    ["HIGH", "2024-11-01", "assault_with_injury", "true", "V2"],
    ["HIGH", "2024-08-01", "stalking", "true", "V1"],
    ["HIGH", "2024-07-01", "", "false", "V1"],
    # MID: half a year ago, less grave, one victim
    ["MID", "2024-06-01", "harassment", "true", "V3"],
    ["MID", "2024-03-01", "harassment", "true", "V3"],
    # LOW: one minor crime almost three years ago
    ["LOW", "2022-02-01", "criminal_damage", "true", "V4"],
    # OLD: nothing in the window
    ["OLD", "2020-01-01", "harassment", "true", "V5"],
]


def by_ref(ranking):
    return {r.ref: r for r in ranking.results}


def test_obvious_history_is_ranked_in_order(ranked):
    ranking = ranked(HISTORY, AS_OF)
    assert [r.ref for r in ranking.results] == ["HIGH", "MID", "LOW", "OLD"]
    assert [r.rank for r in ranking.results] == [1, 2, 3, 4]
    high = by_ref(ranking)["HIGH"]
    assert (high.recency, high.months_since_last) == (6, 1)
    assert (high.frequency_crime, high.frequency_noncrime) == (3, 1)
    assert high.gravity == 5 + 3 + 4
    assert high.victims == 2 and high.serial
    # By hand: 25*6/6 + 25*3/10 + 10*1/10 + 30*12/20 + 10*2/3
    assert high.total == round(25 + 7.5 + 1 + 18 + 20 / 3, 4)
    old = by_ref(ranking)["OLD"]
    assert (old.recency, old.frequency_crime, old.gravity, old.victims, old.total) == (
        0, 0, 0, 0, 0)
    assert ranking.counts["incidents_before_window"] == 1
    assert ranking.counts["serial"] == 1


def test_serial_needs_two_distinct_victims_in_the_window(ranked):
    rows = [
        ["REPEAT", "2024-12-01", "harassment", "true", "V1"],
        ["REPEAT", "2024-11-01", "harassment", "true", "V1"],
        ["SERIAL", "2024-12-01", "harassment", "true", "V1"],
        ["SERIAL", "2024-11-01", "harassment", "true", "V2"],
        ["EARLIER", "2024-12-01", "harassment", "true", "V1"],
        ["EARLIER", "2019-11-01", "harassment", "true", "V2"],   # before the window
        ["UNKNOWN", "2024-12-01", "harassment", "true", ""],
        ["UNKNOWN", "2024-11-01", "harassment", "true", ""],
    ]
    found = by_ref(ranked(rows, AS_OF))
    assert (found["REPEAT"].victims, found["REPEAT"].serial) == (1, False)
    assert (found["SERIAL"].victims, found["SERIAL"].serial) == (2, True)
    assert (found["EARLIER"].victims, found["EARLIER"].serial) == (1, False)
    assert (found["UNKNOWN"].victims, found["UNKNOWN"].serial) == (0, False)


def test_non_crime_incidents_count_in_frequency_but_carry_no_gravity(ranked):
    rows = [["NC", "2024-12-01", "", "false", "V1"],
            ["NC", "2024-11-01", "verbal_dispute", "no", "V1"]]
    nc = by_ref(ranked(rows, AS_OF))["NC"]
    assert (nc.frequency_crime, nc.frequency_noncrime, nc.gravity) == (0, 2, 0)
    weighted = by_ref(ranked(rows, AS_OF, {"gravity": {"non_crime": 1}}))["NC"]
    assert weighted.gravity == 2


@pytest.mark.parametrize("day, months, points", [
    ("2024-06-30", 0, 6),
    ("2024-05-30", 1, 6),
    ("2024-05-29", 2, 5),
    ("2024-03-30", 3, 5),
    ("2024-03-29", 4, 4),
    ("2023-12-30", 6, 4),
    ("2023-12-29", 7, 3),
    ("2023-06-30", 12, 3),
    ("2023-06-29", 13, 2),
    ("2022-06-30", 24, 2),
    ("2022-06-29", 25, 1),
    ("2021-06-30", 36, 1),
    ("2021-06-29", 37, 0),
])
def test_recency_band_boundaries(ranked, day, months, points):
    result = ranked([["P", day, "harassment", "true", "V"]], "2024-06-30").results[0]
    assert (result.months_since_last, result.recency) == (months, points)


@pytest.mark.parametrize("day, counted", [
    ("2021-06-30", True),     # first day of the 36-month window
    ("2021-06-29", False),    # the day before
    ("2024-06-30", True),     # the as-of date itself
])
def test_window_edges(ranked, day, counted):
    rows = [["P", day, "harassment", "true", "V"]]
    result = ranked(rows, "2024-06-30").results[0]
    assert result.frequency_crime == (1 if counted else 0)
    assert result.gravity == (2 if counted else 0)
    assert result.victims == (1 if counted else 0)


def test_incidents_after_the_as_of_date_are_ignored(ranked):
    rows = [["P", "2024-06-30", "harassment", "true", "V"],
            ["P", "2024-07-01", "strangulation", "true", "V2"],
            ["LATER", "2024-08-01", "harassment", "true", "V"]]
    ranking = ranked(rows, "2024-06-30")
    assert [r.ref for r in ranking.results] == ["P"]
    assert ranking.results[0].gravity == 2 and ranking.results[0].victims == 1
    assert ranking.counts["incidents_after_as_of"] == 2
    assert ranking.counts["perpetrators_only_after_as_of"] == 1


def test_window_length_is_configurable(ranked):
    rows = [["P", "2023-06-29", "harassment", "true", "V"]]
    assert ranked(rows, "2024-06-30").results[0].frequency_crime == 1
    assert ranked(rows, "2024-06-30", {"window_months": 12}).results[0].frequency_crime == 0


def test_ties_are_broken_deterministically(ranked):
    same = [["B", "2024-12-01", "harassment", "true", "V1"],
            ["A", "2024-12-01", "harassment", "true", "V1"],
            ["C", "2024-10-01", "harassment", "true", "V1"]]
    ranking = ranked(same, AS_OF)
    assert [r.ref for r in ranking.results] == ["A", "B", "C"]
    assert [r.tied for r in ranking.results] == [True, True, False]
    reversed_input = ranked(list(reversed(same)), AS_OF)
    assert [r.ref for r in reversed_input.results] == ["A", "B", "C"]


def test_equal_totals_are_ordered_by_gravity_then_recency(ranked):
    only_crimes = {"weights": {"recency": 0, "frequency_crime": 100, "frequency_noncrime": 0,
                               "gravity": 0, "victims": 0}}
    rows = [["AA", "2024-12-01", "harassment", "true", "V1"],      # G 2, R 6
            ["ZZ", "2024-12-01", "strangulation", "true", "V1"],   # G 5, R 6
            ["MM", "2024-01-01", "strangulation", "true", "V1"]]   # G 5, R 3
    ranking = ranked(rows, AS_OF, only_crimes)
    assert len({r.total for r in ranking.results}) == 1
    assert [r.ref for r in ranking.results] == ["ZZ", "MM", "AA"]


def test_frequency_cap_limits_the_score_not_the_count(ranked):
    rows = [["MANY", f"2024-0{m}-01", "harassment", "true", "V"] for m in range(1, 8)]
    rows += [["FEW", "2024-01-01", "harassment", "true", "V"],
             ["FEW", "2024-02-01", "harassment", "true", "V"]]
    config = {"frequency": {"cap": 2},
              "weights": {"recency": 0, "frequency_crime": 10, "frequency_noncrime": 0,
                          "gravity": 0, "victims": 0}}
    found = by_ref(ranked(rows, AS_OF, config))
    assert found["MANY"].frequency_crime == 7
    assert found["MANY"].total == found["FEW"].total == 2     # 10 * min(n, 2) / 10


def test_gravity_max_instead_of_sum(ranked):
    rows = [["P", "2024-12-01", "harassment", "true", "V"],
            ["P", "2024-11-01", "strangulation", "true", "V"],
            ["P", "2024-10-01", "stalking", "true", "V"]]
    assert ranked(rows, AS_OF).results[0].gravity == 11
    assert ranked(rows, AS_OF, {"gravity": {"aggregate": "max"}}).results[0].gravity == 5


def test_cohort_max_normalisation(ranked):
    config = {"normalisation": {"method": "cohort_max"}}
    ranking = ranked([["TOP", "2024-12-30", "strangulation", "true", "V1"],
                      ["TOP", "2024-12-29", "", "false", "V2"],
                      ["HALF", "2024-12-30", "harassment", "true", "V1"]], AS_OF, config)
    found = by_ref(ranking)
    assert found["TOP"].total == 100
    # HALF: recency 25, crimes 25 (1 of max 1), non-crimes 0, gravity 30*2/5, victims 10*1/2
    assert found["HALF"].total == 25 + 25 + 12 + 5


def test_a_scale_that_everyone_reaches_is_warned_about(ranked):
    rows = []
    for n in range(12):
        rows += [[f"P{n}", "2024-12-01", "harassment", "true", f"V{n}-{k}"] for k in range(4)]
    ranking = ranked(rows, AS_OF)
    assert any("victims reach its scale" in w for w in ranking.warnings)
    assert not ranked(HISTORY, AS_OF).warnings


def test_output_rows_carry_the_configuration_hash(ranked):
    ranking = ranked(HISTORY, AS_OF)
    rows = ranking.rows()
    assert rows[0]["perpetrator_ref"] == "HIGH" and rows[0]["serial"] is True
    assert {r["config_hash"] for r in rows} == {ranking.config_hash}
    assert rows[0]["last_incident"] == "2024-12-20"
