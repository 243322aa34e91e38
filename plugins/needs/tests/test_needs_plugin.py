"""formsengine-needs: item ids, test vectors, and scoring through the real command line.

Engines under test load only this plugin (no installed entry points). The command-line tests
run the real ``formsengine`` command in a subprocess, which finds this plugin through its entry
point.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import formsengine_needs
import pytest

from formsengine.engine import Engine
from formsengine.testing import plugin_engine, require_entry_point, run_cli
from formsengine.vectors import run_vector

HERE = Path(__file__).parent
ANSWERS = HERE / "answers"
DEFINITIONS = Path(formsengine_needs.__file__).parent / "definitions"

SU_CORE = ["needs.substance_misuse", "needs.alcohol_misuse", "needs.housing",
           "needs.mental_health"]
SU_EXTENDED = ["needs.unemployment", "needs.financial", "needs.children_family",
               "needs.parenting_capacity", "needs.social_isolation", "needs.physical_health"]
VS_NEEDS = ["needs_vs.mental_health", "needs_vs.alcohol_misuse", "needs_vs.substance_misuse",
            "needs_vs.employment", "needs_vs.financial", "needs_vs.disability"]
SCORES = ["core_count", "core_unknown", "total_count", "unknown_count", "core_combination"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return plugin_engine(formsengine_needs)


def shipped_vectors() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DEFINITIONS.glob("*.json")):
        data = json.loads(path.read_text())
        out += [(data["id"], v["name"]) for v in data["test_vectors"]]
    return out


def need_ids(inst) -> list[str]:
    return [i for i in inst.items if not i.endswith(".support")]


# -- the definitions -----------------------------------------------------------------------------
def test_the_plugin_registers_its_two_instruments(engine):
    assert formsengine_needs.definition_files() == [
        "needs-su-1.1.json", "needs-su.json", "needs-vs-1.1.json", "needs-vs.json"]
    assert [i.key for i in engine.instruments] == [
        ("needs-su", "1.0"), ("needs-su", "1.1"), ("needs-vs", "1.0"), ("needs-vs", "1.1")]
    assert engine.instruments.get("needs-su").subject_role == "service_user"
    assert engine.instruments.get("needs-vs").subject_role == "victim_survivor"


def test_the_entry_point_is_installed():
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="formsengine")}
    assert found.get("needs") == "formsengine_needs"


def test_service_user_need_ids(engine):
    inst = engine.instruments.get("needs-su")
    assert need_ids(inst) == SU_CORE + SU_EXTENDED
    assert [i for i in inst.sections[0].item_ids if not i.endswith(".support")] == SU_CORE


def test_victim_survivor_need_ids(engine):
    assert need_ids(engine.instruments.get("needs-vs")) == VS_NEEDS


@pytest.mark.parametrize("instrument_id", ["needs-su", "needs-vs"])
def test_answers_and_support_status(engine, instrument_id):
    inst = engine.instruments.get(instrument_id)
    for need in need_ids(inst):
        item = inst.items[need]
        assert item.values == ("yes", "no", "dont_know", "not_asked")
        assert item.option("dont_know").missing == "dont_know"
        assert item.option("not_asked").incomplete is True
        support = inst.items[f"{need}.support"]
        assert support.values == ("not_needed", "referred", "engaged", "resolved")
        assert support.required is False
        assert support.show_when == {"item": need, "equals": "yes"}


@pytest.mark.parametrize("instrument_id", ["needs-su", "needs-vs"])
def test_score_ids(engine, instrument_id):
    scoring = engine.instruments.get(instrument_id).scoring
    assert [s["id"] for s in scoring["scores"]] == SCORES
    assert [f["id"] for f in scoring["flags"]] == ["three_or_more"]


def test_occasions(engine):
    drive = ["intake", "review_3m", "review_6m", "review_9m", "closure"]
    assert engine.instruments.get("needs-su").occasions == drive
    assert engine.instruments.get("needs-vs").occasions == drive + ["review", "exit"]


# -- the shipped test vectors, through the generic runner ---------------------------------------
@pytest.mark.parametrize(("instrument_id", "name"), shipped_vectors())
def test_shipped_vector(engine, instrument_id, name):
    inst = engine.instruments.get(instrument_id)
    vector = next(v for v in inst.test_vectors if v["name"] == name)
    outcome = run_vector(engine, inst, vector)
    assert outcome.passed, outcome.problems


@pytest.mark.parametrize("instrument_id", ["needs-su", "needs-vs"])
def test_nothing_unknown_is_ever_scored_as_no_need(engine, instrument_id):
    """Every need not known, one at a time: never 'none', always counted as unknown."""
    inst = engine.instruments.get(instrument_id)
    needs = need_ids(inst)
    for unknown in needs:
        for how in ("dont_know", "not_asked", None):
            answers = {n: "no" for n in needs}
            if how is None:
                del answers[unknown]
            else:
                answers[unknown] = how
            result = engine.score_data({"instrument": instrument_id, "answers": answers})
            scores = result["scores"]
            assert scores["unknown_count"] == 1
            # 1.1: a count with an unknown need is not known, never 0; the known ones are
            # the "at least" companion
            assert scores["total_count"] is None and scores["total_count_at_least"] == 0
            is_core = unknown in inst.sections[0].item_ids
            assert scores["core_count"] == (None if is_core else 0)
            assert scores["core_count_at_least"] == 0
            assert scores["core_unknown"] == (1 if is_core else 0)
            assert scores["core_combination"] == (None if is_core else "none")
            assert result["complete"] is (how == "dont_know")


# -- the real command line ---------------------------------------------------------------------
def score_file(instrument_id: str, name: str, cwd: Path) -> dict:
    require_entry_point("needs", "formsengine_needs")
    return run_cli("score", instrument_id, str(ANSWERS / name), cwd=cwd).json()


def test_cli_intake_with_unknown_not_asked_and_unanswered_needs(tmp_path):
    result = score_file("needs-su", "needs-su-intake.json", tmp_path)
    assert result["instrument"]["plugin"] == "needs"
    # housing is not known: the core count is not known (the needs known to be present are
    # its "at least" companion), the unknown one is reported beside it, and the combination
    # is not known rather than "none"
    assert result["scores"] == {"core_count": None, "core_count_at_least": 2,
                                "core_unknown": 1, "total_count": None,
                                "total_count_at_least": 3, "unknown_count": 3,
                                "core_combination": None}
    assert result["flags"] == {"three_or_more": True}
    assert result["complete"] is False
    assert result["incomplete_items"] == {"needs.financial": "not_asked"}
    assert result["unanswered_items"] == ["needs.parenting_capacity"]


def test_cli_review_with_every_need_known(tmp_path):
    result = score_file("needs-su", "needs-su-review.json", tmp_path)
    assert result["scores"] == {"core_count": 2, "core_count_at_least": 2, "core_unknown": 0,
                                "total_count": 2, "total_count_at_least": 2,
                                "unknown_count": 0, "core_combination": "alcohol+substance"}
    assert result["flags"] == {"three_or_more": False}
    assert result["complete"] is True


def test_cli_victim_survivor_screen(tmp_path):
    result = score_file("needs-vs", "needs-vs-exit.json", tmp_path)
    assert result["scores"] == {"core_count": 1, "core_count_at_least": 1, "core_unknown": 0,
                                "total_count": None, "total_count_at_least": 1,
                                "unknown_count": 1, "core_combination": "mental_health"}
    assert result["complete"] is True


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("needs-su-wrong-type.json", "$.answers.needs.housing"),
        ("needs-su-support-without-need.json",
         "item needs.housing.support is answered but is only asked when"),
    ],
)
def test_cli_refuses_a_malformed_answers_file(tmp_path, name, message):
    done = run_cli("score", "needs-su", str(ANSWERS / name), cwd=tmp_path)
    assert done.code == 2
    assert message in done.stderr
    assert done.stdout == ""
