"""Difference in differences of crime harm, checked by hand."""

from __future__ import annotations

import json

import pytest
from scipy.stats import ttest_ind

from formsengine.analysis.harm import difference_in_differences, read_harm
from formsengine.errors import FormsEngineError
from tests.research_data import invoke_cli, research_engine

PER_PERSON = """person,group,before,after
t1,treatment,100,20
t2,treatment,50,30
t3,treatment,30,30
c1,control,80,70
c2,control,40,60
c3,control,60,40
"""


def test_difference_in_differences_by_hand(tmp_path):
    path = tmp_path / "harm.csv"
    path.write_text(PER_PERSON)
    people, left_out = read_harm(path)
    result = difference_in_differences(people)
    # treatment: before mean 60, after mean 26.6667, change -33.3333
    # control: before mean 60, after mean 56.6667, change -3.3333
    assert result["groups"]["treatment"]["mean_change"] == pytest.approx(-33.3333, abs=1e-4)
    assert result["groups"]["control"]["mean_change"] == pytest.approx(-3.3333, abs=1e-4)
    assert result["difference_in_differences"] == pytest.approx(-30.0, abs=1e-3)
    assert result["total_difference_in_differences"] == pytest.approx(-90.0)
    assert result["p_welch_t"] == pytest.approx(
        ttest_ind([-80, -20, 0], [-10, 20, -20], equal_var=False).pvalue)
    assert left_out == {"no_group": 0, "unobserved_blocks": 0}


def test_rfg_blocks_with_a_groups_file(tmp_path):
    blocks = tmp_path / "blocks.csv"
    blocks.write_text(
        "perpetrator_ref,reference_date,block,start,end,observed,harm_days,crimes,non_crimes\n"
        "P1,2025-01-01,before_2,,,true,10,1,0\nP1,2025-01-01,before_1,,,true,20,1,0\n"
        "P1,2025-01-01,after_1,,,true,5,1,0\nP1,2025-01-01,after_2,,,true,0,0,1\n"
        "P2,2025-01-01,before_1,,,true,8,1,0\nP2,2025-01-01,after_1,,,true,8,1,0\n"
        "P3,2025-01-01,before_1,,,true,1,1,0\nP3,2025-01-01,after_1,,,false,0,0,0\n"
        "P4,2025-01-01,before_1,,,true,1,1,0\n")
    groups = tmp_path / "groups.csv"
    groups.write_text("perpetrator_ref,group\nP1,treatment\nP2,control\nP3,control\n")
    people, left_out = read_harm(blocks, groups)
    assert people == {"P1": {"group": "treatment", "before": 30.0, "after": 5.0},
                      "P2": {"group": "control", "before": 8.0, "after": 8.0}}
    assert left_out == {"no_group": 1, "unobserved_blocks": 1}
    result = difference_in_differences(people)
    assert result["difference_in_differences"] == -25.0
    assert result["p_welch_t"] is None  # one person per group: no test


def test_harm_input_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(FormsEngineError, match="expected columns"):
        read_harm(bad)
    bad.write_text("person,group,before,after\nx,treatment,ten,1\n")
    with pytest.raises(FormsEngineError, match="'ten' is not a number"):
        read_harm(bad)
    three = tmp_path / "three.csv"
    three.write_text("person,group,before,after\na,x,1,1\nb,y,1,1\nc,z,1,1\n")
    with pytest.raises(FormsEngineError, match="exactly two groups"):
        difference_in_differences(read_harm(three)[0])
    two = tmp_path / "two.csv"
    two.write_text("person,group,before,after\na,x,1,1\nb,y,1,1\n")
    with pytest.raises(FormsEngineError, match="--treatment"):
        difference_in_differences(read_harm(two)[0])
    assert difference_in_differences(read_harm(two)[0], "y")["treatment"] == "y"


def test_cli_harm(monkeypatch, tmp_path):
    path = tmp_path / "harm.csv"
    path.write_text(PER_PERSON)
    run = invoke_cli(monkeypatch, research_engine(), ["analyse", "harm", str(path)])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["difference_in_differences"] == pytest.approx(-30.0, abs=1e-3)
    run = invoke_cli(monkeypatch, research_engine(), ["analyse", "harm", str(path),
                                                      "--format", "csv"])
    assert ",difference_in_differences,-30.0" in run.output
