"""The import's reads and writes in the data layer (``formsengine/store/importing.py``)."""

from __future__ import annotations

import pytest

from formsengine.store import importing as db
from formsengine.store import score_value_rows, sort_score_values

from ..conftest import answers


def _person(store, ref, role="victim_survivor"):
    return store.ensure_person(ref, role, actor="t")


def save_final(store, person_id, occasion):
    inst, sub = store.engine.check(answers())
    return store.create_assessment(inst, sub, person_id=person_id, occasion=occasion)


def _rows(store, sql, params=()):
    return [tuple(r.values()) for r in store.all(sql, params)]


def test_new_ids_are_not_given_again_and_ordinary_inserts_follow_them(store):
    with store.write():
        ids = db.new_ids(store, "people", 3)
        assert ids == sorted(ids) and len(set(ids)) == 3
        db.add_people(store, [(i, f"P-{i}", "victim_survivor", "2026-01-01T00:00:00Z")
                              for i in ids])
    # a person added the ordinary way after an import gets an id of its own (on
    # PostgreSQL the import's ids come from the table's sequence, which stays ahead)
    pid = _person(store, "P-later")
    assert pid not in ids
    with store.write():
        assert min(db.new_ids(store, "people", 2)) > max(ids + [pid])
    assert db.new_ids(store, "scores", 0) == []
    with pytest.raises(ValueError):  # only the tables the import adds to
        db.new_ids(store, "audit; DROP TABLE people", 1)


def test_known_people_and_case_ids_by_reference(store, monkeypatch):
    monkeypatch.setattr("formsengine.store.sql.chunks.__defaults__", (2,))  # several IN lists
    for ref in ("P-1", "P-2", "P-3"):
        _person(store, ref)
    with store.write():
        db.add_cases(store, [(1, "u1", "C-1", None, "[]", "2026-01-01T00:00:00Z")])
    found = db.known_people(store, ["P-1", "P-3", "P-9", "x' OR '1'='1"])
    assert sorted(found) == ["P-1", "P-3"]
    assert found["P-1"]["role"] == "victim_survivor" and isinstance(found["P-3"]["id"], int)
    assert db.known_people(store, []) == {}
    assert db.case_ids(store, ["C-1", "C-2"]) == {"C-1": 1}
    assert db.case_ids(store, []) == {}


def test_final_occasions_of_people(store):
    pid = _person(store, "P-1")
    other = _person(store, "P-2")
    save_final(store, pid, "intake")
    assert db.final_occasions(store, [pid, other, pid]) == {(pid, "toy-checklist", "intake")}
    assert db.final_occasions(store, []) == set()
    save_final(store, other, "review")
    assert db.final_occasions(store, [other]) == {(other, "toy-checklist", "review")}


def test_link_case_people_keeps_an_existing_link(store):
    pid = _person(store, "P-1")
    with store.write():
        db.add_cases(store, [(1, "u1", "C-1", None, "[]", "2026-01-01T00:00:00Z")])
        db.link_case_people(store, [(1, pid, "victim_survivor")])
        db.link_case_people(store, [(1, pid, "victim_survivor"), (1, pid, "other")])
    assert _rows(store, "SELECT case_id, person_id, role FROM case_people") == [
        (1, pid, "victim_survivor")]


def test_link_case_people_refuses_a_second_person_in_a_role(store):
    pid, other = _person(store, "P-1"), _person(store, "P-2")
    with store.write():
        db.add_cases(store, [(1, "u1", "C-1", None, "[]", "2026-01-01T00:00:00Z")])
        assert db.link_case_people(store, [(1, pid, "victim_survivor")]) == []
        assert db.link_case_people(store, [(1, other, "victim_survivor"),
                                           (1, pid, "victim_survivor")]) == [
            (1, other, "victim_survivor")]
    assert _rows(store, "SELECT case_id, person_id, role FROM case_people") == [
        (1, pid, "victim_survivor")]


def test_answers_plain_and_annotated(store):
    aid = save_final(store, _person(store, "P-1"), "intake")
    with store.write():
        store.conn.execute("DELETE FROM answers")
        db.add_answers(store, [(aid, "toy.a", '"yes"'), (aid, "toy.b", '"no"')],
                       [(aid, "toy.c", '"yes"', "from the referral", None)])
    assert _rows(store, "SELECT item_id, value, comment, source FROM answers ORDER BY 1") == [
        ("toy.a", '"yes"', None, None), ("toy.b", '"no"', None, None),
        ("toy.c", '"yes"', "from the referral", None)]


def test_score_values_numbers_texts_and_nothing(store):
    aid = save_final(store, _person(store, "P-1"), "intake")
    sid = store.one("SELECT id FROM scores WHERE assessment_id = ?", [aid])["id"]
    result = {"scores": {"total": 3, "known": True}, "bands": {"total": "low"},
              "level": {"computed": "standard", "judged": None, "final": "standard"},
              "flags": {"x": False}, "criteria": {}, "criteria_groups": {"g": {"met": True}}}
    rows = list(score_value_rows(sid, result))
    numbers, texts, empty = [], [], []
    sort_score_values(sid, result, numbers, texts, empty)
    with store.write():
        store.conn.execute("DELETE FROM score_values")
        db.add_score_values(store, numbers, texts, empty)
    stored = _rows(store, "SELECT score_id, kind, name, value_num, value_text"
                          " FROM score_values ORDER BY kind, name")
    assert stored == sorted(rows, key=lambda r: (r[1], r[2]))
    assert (sid, "level", "judged", None, None) in stored


@pytest.mark.parametrize("result", [
    {"scores": {"total": 3, "known": True, "ratio": 0.5, "missing": None},
     "bands": {"total": "low", "other": None},
     "level": {"computed": "standard", "judged": None, "final": "standard",
               "judgement": None},
     "flags": {"x": False, "y": True}, "criteria": {"c": False, "d": None},
     "criteria_groups": {"g": {"met": True, "met_criteria": ["c"]}, "h": {}}},
    {"scores": {"n": 1}, "level": None, "flags": {}, "bands": {}},
    {"level": {"computed": None, "judged": None, "final": None}},
    {},
])
def test_sorted_score_values_are_the_rows_of_the_result(result):
    """The import sorts a result's values by the column they fill; together they are
    every row ``score_value_rows`` gives (what every other write of a score stores), in its
    order within each column."""
    rows = list(score_value_rows(7, result))
    numbers, texts, empty = [], [], []
    sort_score_values(7, result, numbers, texts, empty)
    assert numbers == [r[:4] for r in rows if r[3] is not None]
    assert texts == [(*r[:3], r[4]) for r in rows if r[3] is None and r[4] is not None]
    assert empty == [r[:3] for r in rows if r[3] is None and r[4] is None]
    assert all(type(r[3]) is float for r in numbers)


def test_refused_rows_roll_back_with_the_write(store):
    with store.write():
        db.add_people(store, [(1, "P-1", "victim_survivor", "2026-01-01T00:00:00Z")])
    # a person stored meanwhile (by a concurrent import) is left as it is and reported
    with store.write():
        assert db.add_people(store, [(2, "P-1", "victim_survivor", "2026-01-01T00:00:00Z")]
                             ) == {"P-1": {"id": 1, "role": "victim_survivor"}}
        db.add_cases(store, [(1, "u1", "C-1", None, "[]", "2026-01-01T00:00:00Z")])
        assert db.add_cases(store, [(2, "u2", "C-1", None, "[]", "2026-01-01T00:00:00Z"),
                                    (3, "u3", "C-3", None, "[]", "2026-01-01T00:00:00Z")]
                            ) == {"C-1": 1}
    with pytest.raises(Exception, match="(?i)unique"), store.write():  # an id taken
        db.add_people(store, [(1, "P-2", "victim_survivor", "2026-01-01T00:00:00Z")])
    with pytest.raises(Exception, match="(?i)check"), store.write():
        db.add_people(store, [(3, "P-3", "perpetrator", "2026-01-01T00:00:00Z")])
    assert _rows(store, "SELECT id, ref FROM people") == [(1, "P-1")]


def test_score_values_kind_is_checked_by_comparisons(store):
    """An IN (...) check made SQLite build a list of the six kinds for every score value
    written (more than the rest of the row cost); the rule is the same written as
    comparisons (core_0009)."""
    aid = save_final(store, _person(store, "P-1"), "intake")
    sid = store.one("SELECT id FROM scores WHERE assessment_id = ?", [aid])["id"]
    if store.postgres:
        rule = store.one("SELECT pg_get_constraintdef(oid) AS rule FROM pg_constraint"
                         " WHERE conname = 'score_values_kind'")["rule"]
    else:
        rule = store.one("SELECT sql AS rule FROM sqlite_master WHERE name = 'score_values'"
                         )["rule"]
    assert "kind = 'score'" in rule.replace("'score'::text", "'score'")
    assert " IN (" not in rule.upper() and "ANY" not in rule.upper()
    with pytest.raises(Exception, match="(?i)check"), store.write():
        db.add_score_values(store, [(sid, "other", "x", 1.0)], [], [])
    with store.write():
        db.add_score_values(store, [], [(sid, kind, "extra", "t") for kind in
                                        ("score", "band", "level", "flag", "criterion",
                                         "group")], [])
    assert store.one("SELECT COUNT(*) AS n FROM score_values WHERE name = 'extra'")["n"] == 6
