"""The store's SQL helpers."""

from formsengine.store.sql import chunks, in_list, marks


def test_marks_one_per_value_and_null_for_none():
    assert marks([1, 2, 3]) == "?, ?, ?"
    assert marks([]) == "NULL"


def test_in_list_matches_nothing_when_empty(store):
    store.ensure_team("North", actor="test")
    clause, params = in_list([])
    assert store.all(f"SELECT name FROM teams WHERE name IN {clause}", params) == []  # nosec B608
    clause, params = in_list(["North", "South"])
    assert [r["name"] for r in store.all(f"SELECT name FROM teams WHERE name IN {clause}",  # nosec B608
                                         params)] == ["North"]


def test_chunks_cover_every_value_once():
    values = list(range(1201))
    parts = list(chunks(values, 500))
    assert [len(p) for p in parts] == [500, 500, 201]
    assert [v for p in parts for v in p] == values
