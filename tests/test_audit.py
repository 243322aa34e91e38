"""The audit trail is append-only and hash-chained; verify names the first broken row."""

from __future__ import annotations

import sqlite3 as other_sqlite  # the system library, as an outside tool would use

import pytest

from formsengine.audit import verify


def fill(store, n=5):
    for i in range(n):
        store.audit("view", actor=f"user{i}", object_type="assessment", object_id=i)


def test_chain_verifies(store):
    fill(store)
    report = verify(store.conn)
    assert report.ok and report.rows >= 5


@pytest.mark.parametrize("sql", ["UPDATE audit SET actor = 'x' WHERE id = 2",
                                 "DELETE FROM audit WHERE id = 2"])
def test_update_and_delete_are_refused(store, sql):
    fill(store)
    with pytest.raises(Exception, match="append-only"):
        store.conn.execute(sql)


def tamper(path, *statements):
    conn = other_sqlite.connect(path)
    for s in statements:
        conn.execute(s)
    conn.commit()
    conn.close()


def test_edited_row_is_named(store, tmp_path):
    fill(store)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tamper(tmp_path / "test.db", "DROP TRIGGER audit_no_update",
           "UPDATE audit SET actor = 'someone else' WHERE id = 3")
    report = verify(store.conn)
    assert not report.ok
    assert report.first_broken_id == 3
    assert "row 3" in report.message() and "edited" in report.message()
    assert "audit_no_update" in report.message()


def test_removed_row_is_detected(store, tmp_path):
    fill(store)
    tamper(tmp_path / "test.db", "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id = 2")
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id == 3


def test_rewritten_hash_breaks_next_row(store, tmp_path):
    fill(store)
    tamper(tmp_path / "test.db", "DROP TRIGGER audit_no_update",
           "UPDATE audit SET hash = printf('%064d', 0) WHERE id = 2")
    report = verify(store.conn)
    assert report.first_broken_id == 2


def test_append_outside_transaction_is_refused(store):
    from formsengine import audit

    with pytest.raises(RuntimeError):
        audit.append(store.conn, "view", actor="x")


def statements(store, action):
    """The SQL statements that ``action`` sends on the store's connection."""
    sent = []
    store.conn.set_trace_callback(sent.append)
    try:
        action()
    finally:
        store.conn.set_trace_callback(None)
    return [s for s in sent if not s.startswith(("BEGIN", "COMMIT"))]


def test_chain_holds_when_writers_interleave_roll_back_and_write_elsewhere(store, tmp_path):
    """Appends remember the last row per database file; whatever else happened to the table
    (another connection, another process, a rolled-back append, a bulk append) must not
    fork or break the chain."""
    from formsengine import audit
    from formsengine.store import Store

    second = Store.open(tmp_path / "test.db", store.engine)
    try:
        fill(store, 2)
        # the next append is a single conditional insert
        sent = statements(store, lambda: store.audit("view", actor="a"))
        assert len(sent) == 1 and sent[0].startswith("INSERT INTO audit")
        second.audit("view", actor="second connection")
        store.audit("view", actor="first again")
        with pytest.raises(LookupError), store.write():  # appended, then rolled back:
            store.audit("view", actor="rolled back")       # the remembered row is gone
            raise LookupError("the request failed after its audit row")
        sent = statements(store, lambda: store.audit("view", actor="after the rollback"))
        assert len(sent) == 3  # the condition failed: the last row was read and used
        with second.write():  # as another process would append: nothing remembered
            audit.append(second.conn, "view", actor="another process")
        store.audit("view", actor="after the other process")
        with store.write():
            audit.append_many(store.conn, [{"action": "view"}] * 3, actor="bulk")
        store.audit("view", actor="after the bulk append")
        report = verify(store.conn)
        assert report.ok, report.message()
        actors = [r[0] for r in store.conn.execute("SELECT actor FROM audit ORDER BY id")]
        assert "rolled back" not in actors
        assert actors[-10:] == ["a", "second connection", "first again", "after the rollback",
                                "another process", "after the other process", "bulk", "bulk",
                                "bulk", "after the bulk append"]
    finally:
        second.close()
