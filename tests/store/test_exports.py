"""What the research and item exports read (formsengine/store/exports.py)."""

from __future__ import annotations

import json

import pytest

from formsengine.store import exports

from ..conftest import answers
from ..test_store import save


def dated(date, **items):
    data = answers(**items)
    data["fields"]["assessment_date"] = date
    return data


def _temp_tables(store):
    if store.postgres:
        return [r["name"] for r in store.all(
            "SELECT relname AS name FROM pg_class WHERE relpersistence = 't'"
            " AND relkind = 'r' AND pg_table_is_visible(oid)")]
    return [r["name"] for r in store.all("SELECT name FROM temp.sqlite_master")]


@pytest.fixture
def saved(store):
    ids = [save(store, dated(f"2026-01-{day:02d}", a="yes"), person=f"P-{day}",
                occasion="intake") for day in range(1, 6)]
    ids.append(save(store, dated("2026-03-01", a="yes", b="yes"), person="P-1",
                    occasion="review"))
    save(store, dated("2026-04-01"), person="P-9", status="draft")
    return ids


def test_final_assessments_stream_in_chunks_of_the_size_asked(store, saved):
    chunks = list(exports.final_assessment_rows(store, ["toy-checklist"], None, size=2))
    assert [len(c) for c in chunks] == [2, 2, 2]
    rows = [r for c in chunks for r in c]
    assert sorted(r[0] for r in rows) == sorted(saved)  # the draft is not read
    first = next(r for r in rows if r[0] == saved[0])
    assert first[2:6] == ("toy-checklist", "1.0", "intake", "2026-01-01")
    assert first[7] == "en"  # the language it was completed in
    only_review = [r for c in exports.final_assessment_rows(
        store, ["toy-checklist"], ["review"]) for r in c]
    assert [r[0] for r in only_review] == [saved[-1]]
    assert list(exports.final_assessment_rows(store, ["other"], None)) == []


def _open_cursors(store):
    if store.postgres:
        return [r["name"] for r in store.all("SELECT name FROM pg_cursors")]
    return []


def test_postgresql_reads_come_through_a_server_side_cursor(store, saved):
    """On PostgreSQL the rows are fetched from a cursor on the server a chunk at a time (a
    plain query would bring the whole result into the client first); the cursor and the
    transaction it needs end when the rows are read, or when reading stops early."""
    if not store.postgres:
        pytest.skip("SQLite's cursor steps through the result itself")
    rows = exports.final_assessment_rows(store, ["toy-checklist"], None, size=2)
    assert len(next(rows)) == 2
    assert [n for n in _open_cursors(store) if n.startswith("fe_stream_")]
    assert store.conn.in_transaction
    assert sum(len(c) for c in rows) == 4  # the rest, from the same cursor
    assert _open_cursors(store) == [] and not store.conn.in_transaction
    stopped = exports.final_assessment_rows(store, ["toy-checklist"], None, size=1)
    next(stopped)
    stopped.close()
    assert _open_cursors(store) == [] and not store.conn.in_transaction
    with store.write():  # inside a transaction of the caller's: the cursor uses it
        assert sum(len(c) for c in exports.final_assessment_rows(
            store, ["toy-checklist"], None, size=4)) == 6
        assert store.conn.in_transaction


def test_coded_score_values_code_names_and_drop_their_table(store, saved):
    with exports.coded_score_values(store, ["toy-checklist"], ["review"], size=3) as coded:
        assert "fe_export_names" in _temp_tables(store)
        names = {code: (kind, name) for code, kind, name in coded.names}
        numbers = [r for c in coded.numbers() for r in c]
        texts = [r for c in coded.texts() for r in c]
    assert _temp_tables(store) == []
    score_ids = {r[0] for r in numbers + texts}
    assert len(score_ids) == 1  # one assessment at review, its latest score row
    values = {names[code]: value for _sid, code, value in numbers + texts}
    assert values[("score", "yes_count")] == 2
    assert values[("band", "risk_band")] == "medium"


def test_coded_tables_are_dropped_when_the_block_fails(store, saved):
    with pytest.raises(RuntimeError), exports.coded_answers(store, "toy-checklist",
                                                            ["toy.a"]):
        raise RuntimeError("stop")
    with pytest.raises(RuntimeError), exports.coded_score_values(store, ["toy-checklist"],
                                                                 None):
        raise RuntimeError("stop")
    assert _temp_tables(store) == []


def test_coded_answers_only_of_the_items_asked(store, saved):
    with exports.coded_answers(store, "toy-checklist", ["toy.a", "toy.b"], size=4) as coded:
        pairs = {code: (item, json.loads(value)) for code, item, value in coded.pairs}
        rows = [r for c in coded.rows() for r in c]
    assert set(pairs.values()) == {("toy.a", "yes"), ("toy.b", "no"), ("toy.b", "yes")}
    assert len(rows) == 2 * len(saved)
    review = sorted(pairs[code] for aid, code in rows if aid == saved[-1])
    assert review == [("toy.a", "yes"), ("toy.b", "yes")]
    with exports.coded_answers(store, "toy-checklist", []) as none:
        assert none.pairs == [] and [r for c in none.rows() for r in c] == []


def test_people_dates_fields_and_instruments(store, saved):
    store.conn.execute("UPDATE people SET display_name = 'Name', birth_year = 1990"
                       " WHERE ref = 'P-1'")
    people = {r[1]: r for r in exports.export_people(store, [
        store.get_person(f"P-{n}")["id"] for n in range(1, 6)])}
    assert sorted(people) == [f"P-{n}" for n in range(1, 6)]
    assert people["P-1"][2:] == ("victim_survivor", 1990)
    assert all(len(r) == 4 and "Name" not in r for r in people.values())
    first = exports.first_final_dates(store)
    assert first[store.get_person("P-1")["id"]] == "2026-01-01"
    assert store.get_person("P-9")["id"] not in first  # only a draft
    fields = dict(exports.assessment_fields(store, saved[:2]))
    assert json.loads(fields[saved[0]])["assessment_date"] == "2026-01-01"
    assert set(fields) == set(saved[:2])
    assert exports.exported_instruments(store) == ["toy-checklist"]


def test_many_ids_are_read_in_several_lists(store, saved, monkeypatch):
    monkeypatch.setattr(exports, "ID_CHUNK", 2)
    ids = [store.get_person(f"P-{n}")["id"] for n in range(1, 6)]
    assert sorted(r[0] for r in exports.export_people(store, ids)) == sorted(ids)
    assert sorted(a for a, _ in exports.assessment_fields(store, saved)) == sorted(saved)
