"""Paired comparisons on a cohort *constructed* to reproduce the headline figures of the
Drive evaluation (Hester et al., University of Bristol, 2020, executive summary): from
intake to exit the number of service users using physical abuse fell by 82%, sexual abuse
by 88%, harassment and stalking by 75%, and jealous and controlling behaviour by 73%.

The published summary gives those percentages, not the paired counts behind them, so the
2x2 and severity tables below are our own construction: their margins reproduce the stated
percentages exactly, and every p-value is checked against the binomial formula worked out
here (and scipy's binomial test), not against a published p-value.
"""

from __future__ import annotations

import json
import math

import pytest
from pypdf import PdfReader
from scipy.stats import binomtest, fisher_exact, wilcoxon

from formsengine.analysis.paired import paired
from formsengine.errors import FormsEngineError
from formsengine.store import Store
from formsengine.store import inspection as look
from tests.conftest import new_database
from tests.research_data import (
    add_assessment,
    add_person,
    behaviours_data,
    closure_data,
    day,
    invoke_cli,
    research_engine,
)

LEVELS = ["none", "standard", "moderate", "high"]
# Physical abuse severity, intake (rows) by exit (columns): 150 people.
PHYSICAL = [[47, 3, 0, 0],
            [26, 4, 0, 0],
            [33, 4, 3, 0],
            [26, 1, 2, 1]]
# (yes->yes, yes->no, no->yes, no->no) for the other behaviours, 150 people each.
OTHERS = {"sexual": (4, 46, 2, 98),                 # 50 -> 6: -88%
          "harassment_stalking": (24, 96, 6, 24),   # 120 -> 30: -75%
          "jealousy_control": (22, 78, 5, 45)}      # 100 -> 27: -73%
NOT_KNOWN_PEOPLE = 6  # every behaviour not known at exit
INTAKE_ONLY = 4


def _pairs_from_table(table):
    return [(LEVELS[i], LEVELS[j]) for i, row in enumerate(table) for j, n in enumerate(row)
            for _ in range(n)]


def _pairs_from_2x2(counts):
    yy, yn, ny, nn = counts
    return ([("standard", "standard")] * yy + [("standard", "none")] * yn
            + [("none", "standard")] * ny + [("none", "none")] * nn)


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    with new_database(tmp_path_factory.mktemp("drive"), "drive.db") as db:
        store = Store.open(db, research_engine(), create=True)
        yield from _drive(store)


def _drive(store):
    physical = _pairs_from_table(PHYSICAL)
    others = {k: _pairs_from_2x2(v) for k, v in OTHERS.items()}
    for n in range(150):
        person = add_person(store, f"SU-{n:03d}", "service_user")
        intake = {"physical": physical[n][0], **{k: v[n][0] for k, v in others.items()}}
        exit_ = {"physical": physical[n][1], **{k: v[n][1] for k, v in others.items()}}
        add_assessment(store, person, behaviours_data(intake, date=day(n)), "intake")
        add_assessment(store, person, behaviours_data(exit_, date=day(n + 300)), "closure")
        # direct contact with 100 people (82 of them rated risk reduced), not with 50 (30)
        contact = "yes" if n < 100 else "no"
        reduced = n < 82 or 100 <= n < 130
        add_assessment(store, person, closure_data(
            "reduced_slightly" if reduced else "no_change", contact, date=day(n + 300)),
            "closure")
    for n in range(NOT_KNOWN_PEOPLE):
        person = add_person(store, f"SU-NK-{n}", "service_user")
        add_assessment(store, person, behaviours_data(
            {b: "high" for b in ("physical", "sexual", "harassment_stalking",
                                 "jealousy_control")}, date=day(n)), "intake")
        add_assessment(store, person, behaviours_data(
            {b: "not_known" for b in ("physical", "sexual", "harassment_stalking",
                                      "jealousy_control")}, date=day(n + 300)), "closure")
    for n in range(INTAKE_ONLY):
        person = add_person(store, f"SU-IO-{n}", "service_user")
        add_assessment(store, person, behaviours_data({"physical": "high"}, date=day(n)),
                       "intake")
    yield store
    store.close()


@pytest.fixture(scope="module")
def result(drive):
    return paired(drive, "drive-behaviours", "intake", "closure")


def entry(section, kind, var_id):
    return next(e for e in section[kind] if e["id"] == var_id)


def test_only_people_with_both_occasions_are_paired(result):
    assert result["people"] == {"at_first": 160, "at_second": 156, "paired": 156,
                                "only_first": INTAKE_ONLY, "only_second": 0}


@pytest.mark.parametrize("behaviour, published_change", [
    ("physical", -82.0), ("sexual", -88.0), ("harassment_stalking", -75.0),
    ("jealousy_control", -73.0)])
def test_reduction_in_use_and_exact_mcnemar(result, behaviour, published_change):
    e = entry(result["all"], "binary", f"score:using_{behaviour}")
    assert e["percent_change_yes"] == published_change
    assert e["n"] == 150
    assert e["excluded"] == {"not_known": NOT_KNOWN_PEOPLE}  # never counted as "no"
    b, c = e["table"]["yes_no"], e["table"]["no_yes"]
    by_hand = min(1.0, 2 * sum(math.comb(b + c, i) for i in range(min(b, c) + 1))
                  / 2 ** (b + c))
    assert e["mcnemar"]["p_exact"] == pytest.approx(by_hand, rel=1e-12)
    assert e["mcnemar"]["p_exact"] == pytest.approx(binomtest(min(b, c), b + c).pvalue,
                                                    rel=1e-9)


def test_physical_abuse_two_by_two_by_hand(result):
    e = entry(result["all"], "binary", "score:using_physical")
    assert e["table"] == {"yes_yes": 15, "yes_no": 85, "no_yes": 3, "no_no": 47}
    assert e["first"] == {"yes": 100, "no": 50, "percent_yes": 66.7}
    assert e["second"] == {"yes": 18, "no": 132, "percent_yes": 12.0}
    assert e["mcnemar"]["p_exact"] == pytest.approx(2 * 113653 / 2 ** 88, rel=1e-12)


def test_severity_transition_table(result):
    e = entry(result["all"], "ordinal", "drive_behaviours.physical")
    assert e["levels"] == LEVELS
    assert e["transitions"] == PHYSICAL
    assert {lv: e["first"][lv]["count"] for lv in LEVELS} == {
        "none": 50, "standard": 30, "moderate": 40, "high": 30}
    assert {lv: e["second"][lv]["count"] for lv in LEVELS} == {
        "none": 132, "standard": 12, "moderate": 5, "high": 1}
    assert e["second"]["standard"]["percent"] == 8.0
    assert e["percent_change"] == {"none": 164.0, "standard": -60.0, "moderate": -87.5,
                                   "high": -96.7}
    assert (e["moved_worse"], e["moved_better"], e["same"]) == (3, 92, 55)
    assert e["excluded"] == {"not_known": NOT_KNOWN_PEOPLE}


def test_number_of_types_used_with_wilcoxon(result):
    # drive-behaviours 1.1: the number of types used is not known while a type is not known
    # (the people with every behaviour not known at exit are left out) ...
    known = entry(result["all"], "numeric", "score:types_used")
    assert known["n"] == 150
    assert known["excluded"] == {"not_known": NOT_KNOWN_PEOPLE}
    # ... and its companion counts the types known to be used
    e = entry(result["all"], "numeric", "score:types_used_at_least")
    assert e["n"] == 156
    changes = []
    physical = _pairs_from_table(PHYSICAL)
    others = {k: _pairs_from_2x2(v) for k, v in OTHERS.items()}
    for n in range(150):
        pairs = [physical[n]] + [v[n] for v in others.values()]
        changes.append(sum(b != "none" for _, b in pairs) - sum(a != "none" for a, _ in pairs))
    changes += [-4] * NOT_KNOWN_PEOPLE
    assert e["mean_change"] == pytest.approx(sum(changes) / len(changes), abs=1e-4)
    nonzero = [d for d in changes if d]
    assert e["wilcoxon"]["p"] == pytest.approx(wilcoxon(nonzero).pvalue)


def test_group_difference_in_proportions(drive):
    result = paired(drive, "drive-closure", "closure", "closure",
                    group="drive-closure:direct_contact")
    assert set(result["groups"]) == {"yes", "no"}
    reduced_yes = entry(result["groups"]["yes"], "binary", "score:risk_reduced")
    reduced_no = entry(result["groups"]["no"], "binary", "score:risk_reduced")
    assert reduced_yes["second"]["percent_yes"] == 82.0
    assert reduced_no["second"]["percent_yes"] == 60.0
    diff = entry(result["differences"][0], "binary", "score:risk_reduced")["yes_at_second"]
    assert result["differences"][0]["groups"] == ["no", "yes"]
    assert diff["difference_points"] == -22.0  # "no" minus "yes"
    assert diff["p_fisher"] == pytest.approx(fisher_exact([[30, 20], [82, 18]]).pvalue)


def test_group_by_score_of_another_instrument(drive):
    result = paired(drive, "drive-behaviours", "intake", "closure",
                    group="drive-closure:direct_contact")
    assert result["people"]["excluded_no_group"] == NOT_KNOWN_PEOPLE
    sizes = {g: s["paired"] for g, s in result["groups"].items()}
    assert sizes == {"yes": 100, "no": 50}


def test_unknown_group_and_occasion_are_clear_errors(drive):
    with pytest.raises(FormsEngineError, match="has no item or score 'nothing'"):
        paired(drive, "drive-behaviours", "intake", "closure", group="drive-closure:nothing")
    with pytest.raises(FormsEngineError, match="not used at occasion 'week_12'"):
        paired(drive, "drive-behaviours", "intake", "week_12")


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "pdf"])
def test_cli_formats(drive, monkeypatch, tmp_path, fmt):
    db = drive.location
    out = tmp_path / f"paired.{fmt}"
    run = invoke_cli(monkeypatch, drive.engine, [
        "--db", db, "analyse", "paired", "--instrument", "drive-behaviours", "--from",
        "intake", "--to", "closure", "--format", fmt, "--out", str(out)])
    assert run.exit_code == 0, run.output
    if fmt == "json":
        data = json.loads(out.read_text())
        assert entry(data["all"], "binary", "score:using_physical")["mcnemar"]["yes_to_no"] == 85
    elif fmt == "csv":
        text = out.read_text()
        assert "all,binary,score:using_physical,Using physical abuse,percent_change_yes,,,-82.0" \
            in text
        assert "all,ordinal,drive_behaviours.physical" in text
    elif fmt == "html":
        assert "Paired comparison" in out.read_text()
    else:
        reader = PdfReader(out)
        text = "".join(p.extract_text() for p in reader.pages)
        assert "Paired comparison" in text and "-82.0" in text
    audit = look.last(drive, "audit", "details", action="analysis")
    assert json.loads(audit["details"])["paired"] == 156
