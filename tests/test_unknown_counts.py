"""One rule for counts and sums over unknown answers: ``"when_unknown": "not_known"`` makes
the score not known when any of its items is, with an ``<id>_at_least`` companion over the
known answers; the shipped needs, Drive and DVIP definitions (version 1.1) use it, exports
give the not-known code, and ``assessments rescore --to-version`` moves stored assessments."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.errors import DefinitionError
from formsengine.exports.coding import NOT_KNOWN
from formsengine.exports.keys import create_key_file
from formsengine.exports.research import ResearchOptions, export_research
from formsengine.importer import import_file
from formsengine.instruments import build_instrument
from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.store.reading import person_by_id

from .conftest import DefinitionsPlugin, make_engine

CORE = ("needs.substance_misuse", "needs.alcohol_misuse", "needs.housing",
        "needs.mental_health")
FURTHER = ("needs.unemployment", "needs.financial", "needs.children_family",
           "needs.parenting_capacity", "needs.social_isolation", "needs.physical_health")


def _toy_with(toy: dict, **score) -> dict:
    data = copy.deepcopy(toy)
    data["scoring"]["scores"].append(score)
    data["test_vectors"] = []
    return data


def _score(engine: Engine, answers: dict) -> dict:
    return engine.score_data({"instrument": "toy-checklist", "answers": answers,
                              "fields": {"assessment_date": "2026-01-10"}})["scores"]


def test_count_not_known_with_at_least_companion(toy):
    data = _toy_with(toy, id="present", type="count", items=["toy.a", "toy.b", "toy.c"],
                     values=["yes"], when_unknown="not_known")
    engine = make_engine(DefinitionsPlugin(data))
    scores = _score(engine, {"toy.a": "yes", "toy.b": "no", "toy.c": "no", "toy.d": "no"})
    assert (scores["present"], scores["present_at_least"]) == (1, 1)
    scores = _score(engine, {"toy.a": "yes", "toy.b": "dont_know", "toy.c": "no",
                             "toy.d": "no"})
    assert (scores["present"], scores["present_at_least"]) == (None, 1)
    scores = _score(engine, {"toy.a": "no", "toy.c": "no", "toy.d": "no"})  # b unanswered
    assert (scores["present"], scores["present_at_least"]) == (None, 0)
    # the default (ignore) counts the known answers, with no companion
    plain = _toy_with(toy, id="present", type="count", items=["toy.a", "toy.b"],
                      values=["yes"])
    scores = _score(make_engine(DefinitionsPlugin(plain)),
                    {"toy.a": "yes", "toy.b": "dont_know", "toy.c": "no", "toy.d": "no"})
    assert scores["present"] == 1 and "present_at_least" not in scores


def test_sum_not_known_with_at_least_companion(toy):
    data = _toy_with(toy, id="weighted", type="sum", items=["toy.a", "toy.b"],
                     weights={"yes": 2, "no": 0}, when_unknown="not_known")
    engine = make_engine(DefinitionsPlugin(data))
    scores = _score(engine, {"toy.a": "yes", "toy.b": "yes", "toy.c": "no", "toy.d": "no"})
    assert (scores["weighted"], scores["weighted_at_least"]) == (4, 4)
    scores = _score(engine, {"toy.a": "yes", "toy.b": "dont_know", "toy.c": "no",
                             "toy.d": "no"})
    assert (scores["weighted"], scores["weighted_at_least"]) == (None, 2)


def test_companion_can_be_banded_and_tested(toy):
    data = _toy_with(toy, id="present", type="count", items=["toy.a", "toy.b"],
                     values=["yes"], when_unknown="not_known")
    data["scoring"]["flags"].append({"id": "some_present", "label": "Some present",
                                     "when": {"score": "present_at_least", "gte": 1}})
    engine = make_engine(DefinitionsPlugin(data))
    result = engine.score_data({"instrument": "toy-checklist",
                                "answers": {"toy.a": "yes", "toy.b": "dont_know"},
                                "fields": {"assessment_date": "2026-01-10"}})
    assert result["flags"]["some_present"] is True


@pytest.mark.parametrize(("score", "message"), [
    ({"id": "m", "type": "max", "items": ["toy.a"], "order": ["no", "yes"],
      "when_unknown": "not_known"}, "only a count of values or a sum"),
    ({"id": "m", "type": "count", "items": ["toy.a"], "missing": "not_known",
      "when_unknown": "not_known"}, "only a count of values or a sum"),
    ({"id": "m", "type": "count", "items": ["toy.a"], "values": ["yes"],
      "when_unknown": "not_known", "unknown_if_missing": True}, "not both"),
    ({"id": "yes_count", "type": "count", "items": ["toy.a"], "values": ["yes"],
      "when_unknown": "maybe"}, "when_unknown"),
])
def test_validator_refuses_misuse(toy, score, message):
    data = _toy_with(toy, **score)
    if score["id"] == "yes_count":
        data["scoring"]["scores"] = [s for s in data["scoring"]["scores"][:-1]
                                     if s["id"] != "yes_count"] + [score]
    with pytest.raises(DefinitionError, match=message):
        build_instrument(data, plugin="t", plugin_version="1", source=None)


def test_companion_id_may_not_clash(toy):
    data = _toy_with(toy, id="present", type="count", items=["toy.a"], values=["yes"],
                     when_unknown="not_known")
    data["scoring"]["scores"].append({"id": "present_at_least", "type": "count",
                                      "items": ["toy.b"], "values": ["yes"]})
    with pytest.raises(DefinitionError, match="is the companion of 'present'"):
        build_instrument(data, plugin="t", plugin_version="1", source=None)


@pytest.fixture(scope="module")
def shipped() -> Engine:
    return Engine(Settings())


@pytest.mark.parametrize(("instrument_id", "scores"), [
    ("needs-su", ("core_count", "total_count")),
    ("needs-vs", ("core_count", "total_count")),
    ("drive-behaviours", ("types_used",)),
    ("dvip-inventory", ("disclosed_incidents", "behaviour_types_disclosed")),
    ("dvip-risk-factors", ("dynamic_present", "dynamic_partly_present")),
])
def test_shipped_definitions_use_the_same_rule(shipped, instrument_id, scores):
    inst = shipped.instruments.get(instrument_id)
    assert inst.version == "1.1"
    declared = {s["id"]: s for s in inst.scoring["scores"]}
    for score_id in scores:
        assert declared[score_id]["when_unknown"] == "not_known"
        assert "unknown_if_missing" not in declared[score_id]
    # the vectors cover the not-known case: a vector with the score null and its companion
    covered = {s for v in inst.test_vectors for s in scores
               if (v.get("expect", {}).get("scores") or {}).get(s, 0) is None
               and (v["expect"]["scores"].get(f"{s}_at_least") is not None)}
    assert covered == set(scores)
    # no count or sum of values anywhere in these instruments ignores unknowns silently
    for spec in inst.scoring["scores"]:
        if spec["type"] in ("count", "sum") and "missing" not in spec:
            assert spec.get("when_unknown") == "not_known", spec["id"]


def _needs_line(person: str, answers: dict, version: str | None = None) -> dict:
    line = {"person": person, "role": "service_user", "occasion": "intake",
            "instrument": "needs-su", "answers": answers,
            "fields": {"assessment_date": "2026-01-05"}}
    if version:
        line["version"] = version
    return line


def _one_core_not_known() -> dict:
    answers = {n: "no" for n in CORE + FURTHER}
    answers["needs.housing"] = "dont_know"
    return answers


def test_research_export_gives_the_not_known_code(shipped, tmp_path):
    store = Store.open(tmp_path / "x.db", shipped, create=True)
    lines = [_needs_line(f"SU-{n}", _one_core_not_known()) for n in range(5)]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    import_file(store, tmp_path / "in.jsonl", actor="test")
    key = tmp_path / "k.key"
    create_key_file(key, "p")
    out = tmp_path / "out"
    export_research(store, ResearchOptions(project="p", out=out, key_file=key,
                                           purpose="counts over unknown needs",
                                           codebook_pdf=False, formats=["csv"]))
    with (out / "scores_wide.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5
    for row in rows:
        assert row["needs_su__core_count__intake"] == str(NOT_KNOWN)  # never 0
        assert row["needs_su__core_count_at_least__intake"] == "0"
    store.close()


def _cli(tmp_path, *args):
    env = {**os.environ, "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    for name in ("FORMSENGINE_CONFIG", "FORMSENGINE_DEFINITIONS"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env=env, timeout=180)


def test_rescore_to_version_moves_stored_assessments(tmp_path):
    assert _cli(tmp_path, "db", "init").returncode == 0
    lines = [_needs_line("SU-1", _one_core_not_known(), version="1.0"),
             _needs_line("SU-2", {n: "no" for n in CORE + FURTHER}, version="1.0")]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = _cli(tmp_path, "assessments", "import", str(tmp_path / "in.jsonl"))
    assert out.returncode == 0, out.stderr
    out = _cli(tmp_path, "assessments", "rescore", "--to-version", "1.1")
    assert out.returncode == 2 and "--to-version needs --instrument" in out.stderr
    out = _cli(tmp_path, "assessments", "rescore", "--instrument", "needs-su",
               "--to-version", "1.1")
    assert out.returncode == 0, out.stderr
    assert "moved 2 assessments of needs-su to version 1.1" in out.stdout
    store = Store.open(tmp_path / "cli.db", Engine(Settings()))
    rows = [{**r, "ref": person_by_id(store, r["person_id"])["ref"]} for r in look.rows(
        store, "assessments", "id", "status", "instrument_version", "amendment_reason",
        "person_id")]
    assert [(r["ref"], r["status"], r["instrument_version"]) for r in rows] == [
        ("SU-1", "superseded", "1.0"), ("SU-2", "superseded", "1.0"),
        ("SU-1", "final", "1.1"), ("SU-2", "final", "1.1")]
    assert rows[2]["amendment_reason"] == "moved to version 1.1 of the definition"
    first = store.get_assessment(rows[2]["id"])["result"]["scores"]
    assert (first["core_count"], first["core_count_at_least"]) == (None, 0)
    second = store.get_assessment(rows[3]["id"])["result"]["scores"]
    assert (second["core_count"], second["core_count_at_least"]) == (0, 0)
    old = store.get_assessment(rows[0]["id"])["result"]["scores"]
    assert old["core_count"] == 0  # the 1.0 result is kept as it was
    store.close()
    # nothing left to move
    out = _cli(tmp_path, "assessments", "rescore", "--instrument", "needs-su",
               "--to-version", "1.1")
    assert "moved 0 assessments" in out.stdout


def _doc_block(after: str) -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "definitions.md").read_text()
    start = text.index("```json", text.index(after)) + len("```json")
    return text[start:text.index("```", start)]


def test_the_guide_example_is_the_shipped_score(shipped):
    """docs/definitions.md's when_unknown example is needs-su 1.1's core count, and scores
    the published method's case as the guide says."""
    example = json.loads(_doc_block("#### Counts and sums over unknown answers"))
    inst = shipped.instruments.get("needs-su", "1.1")
    declared = next(s for s in inst.scoring["scores"] if s["id"] == "core_count")
    assert {k: v for k, v in declared.items() if k != "label"} == {
        k: v for k, v in example.items() if k != "label"}
    scores = shipped.score_data({"instrument": "needs-su",
                                 "answers": _one_core_not_known()})["scores"]
    assert (scores["core_count"], scores["core_count_at_least"]) == (None, 0)


def test_the_guide_date_field_example_is_the_shipped_one(shipped):
    example = json.loads(_doc_block("### The assessment's date"))
    inst = shipped.instruments.get(example["id"], example["version"])
    assert inst.assessment_date_field == example["assessment_date_field"]
    assert example["fields"][0] in inst.definition["fields"]
