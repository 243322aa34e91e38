"""The reads plugins make through the store (formsengine/store/plugin_tables.py)."""

from __future__ import annotations

from formsengine.store import plugin_tables

from ..conftest import answers
from ..test_store import save


def test_people_by_refs_in_several_lists(store, monkeypatch):
    monkeypatch.setattr(plugin_tables, "ID_CHUNK", 2)
    for n in range(5):
        store.ensure_person(f"P-{n}", "service_user" if n % 2 else "victim_survivor")
    found = plugin_tables.people_by_refs(store, [f"P-{n}" for n in range(7)])
    assert sorted(found) == [f"P-{n}" for n in range(5)]
    assert found["P-1"]["role"] == "service_user" and found["P-2"]["role"] == "victim_survivor"
    assert found["P-3"]["id"] == store.get_person("P-3")["id"]
    assert plugin_tables.people_by_refs(store, []) == {}


def test_refs_with_final_assessment(store, monkeypatch):
    monkeypatch.setattr(plugin_tables, "ID_CHUNK", 1)
    save(store, answers(), person="P-1", occasion="intake")
    save(store, answers(), person="P-2", occasion="review")
    save(store, answers(), person="P-3", occasion="intake", status="draft")
    ids = [store.get_person(f"P-{n}")["id"] for n in (1, 2, 3)]
    assert plugin_tables.refs_with_final_assessment(
        store, "toy-checklist", "intake", ids) == {"P-1"}
    assert plugin_tables.refs_with_final_assessment(
        store, "toy-checklist", "review", ids[:1]) == set()
    assert plugin_tables.refs_with_final_assessment(
        store, "other", "intake", ids) == set()
    assert plugin_tables.refs_with_final_assessment(store, "toy-checklist", "intake",
                                                    []) == set()
