"""The store's reads for analyses, compare, reports and FHIR (formsengine/store/reading.py)."""

from __future__ import annotations

import json

from formsengine.store import reading

from ..conftest import answers
from ..test_store import save


def dated(date, **items):
    data = answers(**items)
    data["fields"]["assessment_date"] = date
    return data


def test_people_cases_and_assessment_ids(store):
    aid = save(store, dated("2026-02-01", a="yes"))
    person = store.get_person("P-1")
    assert reading.person_by_id(store, person["id"]) == {
        "ref": "P-1", "role": "victim_survivor", "display_name": None}
    assert reading.person_by_id(store, person["id"] + 99) is None
    uid = store.get_assessment(aid)["uid"]
    assert reading.assessment_id_by_uid(store, uid) == aid
    assert reading.assessment_id_by_uid(store, "no-such-uid") is None
    case_id = store.create_case("C-1")
    store.add_case_person(case_id, person["id"], "victim_survivor")
    assert reading.case_reference(store, case_id)["ref"] == "C-1"
    assert reading.case_reference(store, case_id + 99) is None
    summary = reading.case_summary(store, case_id)
    assert summary["ref"] == "C-1" and summary["status"] == "open"
    assert [p["ref"] for p in reading.case_people(store, case_id)] == ["P-1"]
    assert reading.person_final_instruments(store, person["id"]) == ["toy-checklist"]


def test_history_is_final_only_latest_score_in_date_order(store):
    later = save(store, dated("2026-05-01", a="yes"), occasion="review")
    save(store, dated("2026-01-01"), occasion="intake")
    save(store, dated("2026-03-01", a="yes", b="yes"), occasion="exit", status="draft")
    _, sub = store.engine.check(dated("2026-05-01", a="yes", b="yes", c="yes"))
    store.amend(later, sub, reason="correction", actor="t")
    person = store.get_person("P-1")
    rows = reading.final_history(store, person["id"], "toy-checklist")
    assert [r["occasion"] for r in rows] == ["intake", "review"]
    assert [json.loads(r["result"])["scores"]["yes_count"] for r in rows] == [0, 3]
    assert reading.final_history(store, person["id"], "other") == []


def test_reads_at_an_occasion(store):
    first = save(store, dated("2026-01-01", a="yes"), person="P-1")
    second = save(store, dated("2026-01-02", a="yes", b="yes"), person="P-2")
    save(store, dated("2026-01-03"), person="P-3", status="draft")
    rows = reading.final_assessments_at(store, "toy-checklist", "intake")
    assert [r["id"] for r in rows] == [first, second]
    answers_read = {(a, i): json.loads(v)
                    for a, i, v in reading.final_answers_at(store, "toy-checklist", "intake")}
    assert answers_read[(first, "toy.a")] == "yes" and answers_read[(second, "toy.b")] == "yes"
    assert {a for a, _i in answers_read} == {first, second}
    results = {(a, k, n): (num, text) for a, k, n, num, text
               in reading.final_results_at(store, "toy-checklist", "intake")}
    assert results[(first, "score", "yes_count")] == (1, None)
    assert results[(second, "score", "yes_count")] == (2, None)
    assert results[(second, "band", "risk_band")] == (None, "medium")
    assert list(reading.final_results_at(store, "toy-checklist", "exit")) == []


def test_values_by_person_keep_the_order_made(store):
    save(store, dated("2026-06-01", a="yes", b="yes", c="yes"), person="P-1",
         occasion="review")
    save(store, dated("2026-01-01", a="no"), person="P-1")
    save(store, dated("2026-02-01", a="dont_know"), person="P-2")
    people = {r["ref"]: r["id"] for r in (store.get_person("P-1"), store.get_person("P-2"))}
    by_item = list(reading.final_answer_by_person(store, "toy-checklist", "toy.a"))
    assert by_item == [(people["P-1"], '"no"'), (people["P-2"], '"dont_know"'),
                       (people["P-1"], '"yes"')]
    counts = list(reading.final_score_by_person(store, "toy-checklist", "yes_count"))
    assert counts == [(people["P-1"], 0), (people["P-2"], 0), (people["P-1"], 3)]
    assert list(reading.final_score_by_person(store, "toy-checklist", "no_such")) == []
