"""The reads and set-up changes the checks use (formsengine/store/inspection.py)."""

from __future__ import annotations

import pytest

from formsengine.errors import StorageError
from formsengine.store import inspection as look

from ..conftest import answers
from ..test_store import save


@pytest.fixture
def saved(store):
    return [save(store, answers(a="yes"), person="P-1"),
            save(store, answers(), person="P-2", status="draft"),
            save(store, answers(b="yes"), person="P-3")]


def test_counts_and_rows_by_column_values(store, saved):
    assert look.count(store, "assessments") == 3
    assert look.count(store, "assessments", status="final") == 2
    assert look.count(store, "assessments", status="final", id=saved[1]) == 0
    assert look.values(store, "assessments", "id") == saved
    assert [r["id"] for r in look.rows(store, "assessments", "id", "status",
                                       order_by="id", descending=True)] == saved[::-1]
    assert look.rows(store, "assessments", "id", limit=1) == [{"id": saved[0]}]
    assert look.first(store, "assessments", "id", status="final") == {"id": saved[0]}
    assert look.last(store, "assessments", "id", status="final") == {"id": saved[2]}
    assert look.first(store, "assessments", "id", status="superseded") is None
    assert look.value(store, "assessments", "status", id=saved[1]) == "draft"
    whole = look.only(store, "assessments", id=saved[0])
    assert whole["status"] == "final" and "uid" in whole


def test_none_matches_a_missing_value(store, saved):
    assert look.count(store, "assessments", amendment_reason=None) == 3
    assert look.count(store, "assessments", finalised_at=None) == 1


def test_only_and_value_want_exactly_one_row(store, saved):
    with pytest.raises(look.NoSuchRowError, match="no row of assessments"):
        look.only(store, "assessments", status="superseded")
    with pytest.raises(look.NoSuchRowError, match="more than one row"):
        look.value(store, "assessments", "id", status="final")


@pytest.mark.parametrize("call", [
    lambda s: look.count(s, "sqlite_master"),
    lambda s: look.count(s, "assessments; DROP TABLE audit"),
    lambda s: look.rows(s, "assessments", "id FROM audit --"),
    lambda s: look.count(s, "assessments", **{"1=1 OR status": "x"}),
    lambda s: look.rows(s, "assessments", order_by="random()"),
    lambda s: look.change_rows(s, "assessments", {"status = 'final', uid": "x"}),
    lambda s: look.change_rows(s, "assessments", {}),
    lambda s: look.move_back(s, "web_sessions", "no_such", 10),
])
def test_unknown_names_are_refused_not_run(store, saved, call):
    with pytest.raises(StorageError):
        call(store)
    assert look.count(store, "assessments") == 3
    assert look.count(store, "audit") > 0


def test_changes_set_up_a_check(store, saved):
    assert look.change_rows(store, "assessments", {"updated_at": "2020-01-01T00:00:00Z"},
                            id=saved[0]) == 1
    assert look.value(store, "assessments", "updated_at", id=saved[0]) == "2020-01-01T00:00:00Z"
    assert look.delete_rows(store, "assessments", id=saved[1]) == 1
    assert look.values(store, "assessments", "id") == [saved[0], saved[2]]


def test_move_back_makes_times_earlier(store, saved):
    before = look.value(store, "assessments", "revision", id=saved[0])
    assert look.move_back(store, "assessments", "revision", 1, id=saved[2]) == 1
    assert look.value(store, "assessments", "revision", id=saved[2]) == before - 1
    assert look.value(store, "assessments", "revision", id=saved[0]) == before


@pytest.mark.sqlite_only
def test_the_database_checks(store, saved):
    assert look.integrity(store) == "ok"
    assert {"assessments", "audit"} <= set(look.schema_sql(store))
    assert look.schema_sql(store)["assessments"].upper().startswith("CREATE")
    assert look.migration_revisions(store)  # each branch's head
    assert "audit_no_update" in look.schema_sql(store)  # triggers too


def test_statements_sent_lists_what_the_block_runs_and_stops_after_it(store, saved):
    if store.postgres:
        with pytest.raises(StorageError, match="SQLite only"), look.statements_sent(store):
            pass
        return
    with look.statements_sent(store) as sent:
        assert look.count(store, "assessments") == len(saved)
    assert len(sent) == 1 and "FROM \"assessments\"" in sent[0]
    look.count(store, "people")  # after the block: not listed
    assert len(sent) == 1
