"""The view log: page views and lists inserted without the audit chain's lock, sealed into
the chain in batches, and checked by ``audit verify`` (``formsengine.store.viewlog`` and
``formsengine.audit.seal_views``). On SQLite and again on PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest

from formsengine import audit
from formsengine.audit import verify
from formsengine.store import Store, viewlog
from formsengine.store import inspection as look
from formsengine.store.maintenance import verify_audit


def views(store, n, actor="viewer"):
    return [store.log_view("view", actor=actor, object_type="case", object_id=i)
            for i in range(n)]


def seals(store):
    return [json.loads(d) for d in look.values(store, "audit", "details",
                                               action=audit.SEAL_ACTION)]


def test_a_view_is_one_row_of_the_view_log_and_none_of_the_chain(store):
    chained = look.count(store, "audit")
    [view_id] = views(store, 1)
    assert look.count(store, "audit") == chained
    row = look.only(store, "view_log", id=view_id)
    assert (row["actor"], row["action"], row["object_type"], row["object_id"]) == (
        "viewer", "view", "case", "0")
    assert look.audit_trail_count(store, action="view") == 1


@pytest.mark.parametrize("sql", ["UPDATE view_log SET actor = 'x' WHERE id = 2",
                                 "DELETE FROM view_log WHERE id = 2"])
def test_update_and_delete_are_refused(store, sql):
    views(store, 3)
    with pytest.raises(Exception, match="append-only"):
        store.conn.execute(sql)
    assert set(viewlog.TRIGGERS) <= viewlog.trigger_names(store.conn)


def test_views_not_sealed_are_counted_then_sealed_in_one_row(store):
    views(store, 4)
    report = verify(store.conn)
    assert report.ok and (report.views_sealed, report.views_unsealed) == (0, 4)
    assert "4 not yet sealed" in report.message()
    assert store.seal_views() == 4
    assert store.seal_views() == 0  # nothing new: no row appended
    assert seals(store) == [{"first_id": 1, "last_id": 4, "rows": 4,
                             "digest": seals(store)[0]["digest"]}]
    views(store, 2)
    assert store.seal_views() == 2
    assert [(s["first_id"], s["last_id"]) for s in seals(store)] == [(1, 4), (5, 6)]
    report = verify(store.conn)
    assert report.ok and (report.views_sealed, report.views_unsealed) == (6, 0)
    assert "6 view rows sealed" in report.message()


def test_a_batch_is_sealed_by_the_view_that_fills_it(store, monkeypatch):
    monkeypatch.setattr(audit, "VIEW_SEAL_ROWS", 5)
    views(store, 12)
    assert [(s["first_id"], s["last_id"], s["rows"]) for s in seals(store)] == [
        (1, 5, 5), (6, 10, 5)]
    report = verify(store.conn)
    assert report.ok and (report.views_sealed, report.views_unsealed) == (10, 2)


def test_verify_through_the_store_seals_first(store):
    views(store, 3)
    report = verify_audit(store)
    assert report.ok and (report.views_sealed, report.views_unsealed) == (3, 0)
    assert verify_audit(store, seal=False).views_unsealed == 0
    views(store, 1)
    assert verify_audit(store, seal=False).views_unsealed == 1


def test_a_view_inside_a_write_is_part_of_it(store):
    with pytest.raises(RuntimeError), store.write():
        store.log_view("view", actor="gone", object_type="case", object_id=1)
        raise RuntimeError("the write fails")
    assert look.count(store, "view_log") == 0
    with store.write():
        store.log_view("view", actor="kept", object_type="case", object_id=1)
        assert store.seal_views() == 1  # inside the write: sealed with it
    assert verify(store.conn).ok and verify(store.conn).views_sealed == 1


def _tamper(store, *statements):
    """Change the view log behind the application's back: its triggers off, the
    statements, the triggers back (as someone with the database's owner rights could)."""
    if store.postgres:
        with store.write():
            store.conn.execute("ALTER TABLE view_log DISABLE TRIGGER USER")
            for s in statements:
                store.conn.execute(s)
            store.conn.execute("ALTER TABLE view_log ENABLE TRIGGER USER")
        return
    saved = store.all("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                      " AND tbl_name = 'view_log'")
    with store.write():
        for t in saved:
            store.conn.execute(f"DROP TRIGGER {t['name']}")
        for s in statements:
            store.conn.execute(s)
        for t in saved:
            store.conn.execute(t["sql"])


@pytest.mark.parametrize(("statement", "found"), [
    ("UPDATE view_log SET actor = 'someone else' WHERE id = 3",
     "do not match their seal (a view row was changed or replaced)"),
    ("DELETE FROM view_log WHERE id = 3", "4 rows there, 5 sealed (view rows were removed)"),
    ("UPDATE view_log SET id = 8 WHERE id = 3", "view rows were removed"),
])
def test_a_sealed_view_row_changed_or_removed_is_named(store, statement, found):
    views(store, 5)
    store.seal_views()
    views(store, 2)  # a second batch, untouched
    store.seal_views()
    assert verify(store.conn).ok
    first_seal = look.first(store, "audit", "id", action=audit.SEAL_ACTION)["id"]
    _tamper(store, statement)
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id is None  # the chain itself is intact
    assert f"view rows 1 to 5 (sealed by audit row {first_seal}): " in report.message()
    assert found in report.message()


def test_a_sealed_row_replaced_by_a_forged_one_is_found(store):
    views(store, 3)
    store.seal_views()
    _tamper(store, "DELETE FROM view_log WHERE id = 2",
            "INSERT INTO view_log (id, at, actor, action) VALUES (2, '2026-01-01', 'forged',"
            " 'view')")
    report = verify(store.conn)
    assert not report.ok and "view rows 1 to 3" in report.message()
    assert "do not match their seal" in report.message()


def test_a_row_added_inside_a_sealed_batch_is_found(pg_store):
    """PostgreSQL leaves an id unused by a view whose transaction rolled back: a row forged
    into that gap after the batch was sealed is found."""
    views(pg_store, 1)
    with pytest.raises(RuntimeError), pg_store.write():
        pg_store.log_view("view", actor="gone", object_type="case", object_id=1)
        raise RuntimeError("the write fails")
    views(pg_store, 1)
    ids = look.values(pg_store, "view_log", "id")
    gap = next(i for i in range(1, ids[-1]) if i not in ids)
    assert pg_store.seal_views() == 2
    _tamper(pg_store, f"INSERT INTO view_log (id, at, actor, action) VALUES ({gap},"
                      " '2026-01-01', 'forged', 'view')")
    report = verify(pg_store.conn)
    assert not report.ok and "3 rows there, 2 sealed (view rows were added)" in (
        report.message())


def test_dropped_view_log_triggers_are_reported(store):
    views(store, 1)
    if store.postgres:
        with store.write():
            store.conn.execute("DROP TRIGGER view_log_no_delete ON view_log")
    else:
        with store.write():
            store.conn.execute("DROP TRIGGER view_log_no_delete")
    report = verify(store.conn)
    assert not report.ok and "view_log_no_delete" in report.message()


def test_the_audit_page_reads_both_tables_merged_by_time(store):
    store.audit("update", actor="a", object_type="case", object_id=1)
    store.log_view("view", actor="a", object_type="case", object_id=1)
    store.audit("lock", actor="a", object_type="case", object_id=1)
    page = store.audit_entries(actor="a", limit=2)
    assert [(r["action"], r["source"]) for r in page] == [("lock", "audit"), ("view", "view")]
    after = store.audit_page_after(page)
    rest = store.audit_entries(actor="a", limit=2, **after)
    assert [(r["action"], r["source"]) for r in rest] == [("update", "audit")]
    assert store.audit_entries(action="view", limit=5) == [page[1]]


def test_concurrent_views_all_land_and_are_sealed_with_no_gap(store, engine):
    """Writers log views at once (each its own connection) while another seals again and
    again: every view ends in exactly one sealed batch, the batches follow each other with
    no gap, and the chain verifies."""
    location = store.location or ""
    writers, per_writer = 6, 40
    errors: list[BaseException] = []
    done = threading.Event()
    start = threading.Barrier(writers + 1)

    def work(n: int) -> None:
        try:
            with Store.open(location, engine) as mine:
                start.wait()
                for i in range(per_writer):
                    mine.log_view("view", actor=f"w{n}", object_type="case", object_id=i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sealer() -> None:
        try:
            with Store.open(location, engine) as mine:
                start.wait()
                while not done.is_set():
                    mine.seal_views()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
    sealing = threading.Thread(target=sealer)
    for t in [*threads, sealing]:
        t.start()
    for t in threads:
        t.join()
    done.set()
    sealing.join()
    assert errors == []
    store.seal_views()
    report = verify(store.conn)
    assert report.ok, report.message()
    assert (report.views_sealed, report.views_unsealed) == (writers * per_writer, 0)
    batches = [(s["first_id"], s["last_id"]) for s in seals(store)]
    assert batches[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(batches, batches[1:]))
    assert sum(s["rows"] for s in seals(store)) == writers * per_writer


@pytest.mark.sqlite_only
def test_a_database_in_memory_needs_no_location(engine):
    with Store.open(":memory:", engine) as memory:
        views(memory, 2)
        assert memory.seal_views() == 2 and verify(memory.conn).ok


def test_the_anchoring_thread_checks_the_view_rows_behind_new_seals(store, tmp_path, caplog):
    """After its first anchor the thread checks only the chain's new rows; the view rows a new
    seal among them covers are checked too, so a sealed view row changed before the next
    anchor is not anchored over."""
    anchors = tmp_path / "anchors.jsonl"
    anchorer = audit.Anchorer(store.location or ":memory:", anchors)
    views(store, 3)
    assert anchorer.anchor_once(store.conn) is not None  # seals the three, checks them all
    views(store, 2)
    store.seal_views()
    views(store, 1)
    assert anchorer.anchor_once(store.conn) is not None  # untouched: anchored
    views(store, 2)
    store.seal_views()
    _tamper(store, "UPDATE view_log SET actor = 'someone else' WHERE id = 7")
    lines = anchors.read_text().count("\n")
    with caplog.at_level("ERROR", logger="formsengine.audit"):
        assert anchorer.anchor_once(store.conn) is None
    assert anchors.read_text().count("\n") == lines  # no anchor over the changed row
    assert "view rows 7 to 8" in caplog.text and "do not match their seal" in caplog.text
