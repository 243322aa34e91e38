"""The audit table's rows as the store reads and appends them (``formsengine.store.auditlog``);
what the chain means is tested in tests/test_audit.py."""

from __future__ import annotations

import pytest

from formsengine import audit
from formsengine.store import auditlog
from formsengine.store_schema import AUDIT_TRIGGERS


def fill(store, n):
    for i in range(n):
        store.audit("view", actor=f"user{i}")


def next_row(store, prev_id, prev_hash, actor="next"):
    row = {"id": prev_id + 1, "at": audit.utcnow(), "actor": actor, "action": "view",
           "object_type": None, "object_id": None, "request_id": None, "details": "{}"}
    digest = audit.row_hash(row, prev_hash, audit.key_for(store.conn))
    return [row[f] for f in audit.FIELDS] + [prev_hash, digest]


def test_columns_are_the_hashed_fields_then_the_chain():
    assert auditlog.COLUMNS == (*audit.FIELDS, "prev_hash", "hash")


def test_head_last_row_count_and_first_id_agree(store):
    fill(store, 3)
    count, last_id, last_hash = auditlog.head(store.conn)
    assert auditlog.last_row(store.conn) == (last_id, last_hash)
    assert auditlog.row_count(store.conn) == count
    assert auditlog.first_id(store.conn) == 1 and last_id == count


def test_an_empty_table_has_no_head(engine, tmp_path):
    from sqlite_utils import Database

    from formsengine.store import connect
    from formsengine.store_schema import core_migrations

    db = Database(connect(tmp_path / "empty.db"))
    core_migrations.apply(db, stop_before="m005_keyed_audit")  # before any row is written
    try:
        assert auditlog.head(db.conn) is None and auditlog.last_row(db.conn) is None
        assert auditlog.first_id(db.conn) is None and auditlog.row_count(db.conn) == 0
    finally:
        db.conn.close()


def test_conditional_append_only_follows_the_row_it_was_told_of(store):
    fill(store, 2)
    last_id, last_hash = auditlog.last_row(store.conn)
    with store.write():
        assert auditlog.in_write_transaction(store.conn)
        # told of an older row: nothing inserted, no error
        assert not auditlog.append_row_after(store.conn, next_row(store, last_id, last_hash),
                                             "0" * 64)
        assert auditlog.last_row(store.conn) == (last_id, last_hash)
        values = next_row(store, last_id, last_hash)
        assert auditlog.append_row_after(store.conn, values, last_hash)
    assert not auditlog.in_write_transaction(store.conn)
    assert auditlog.last_row(store.conn) == (last_id + 1, values[-1])
    assert audit.verify(store.conn).ok


def test_appends_go_through_the_chain_trigger(store):
    """The store's inserts do not bypass the trigger: a row that does not continue the
    chain is refused, and a refused batch leaves nothing."""
    fill(store, 1)
    last_id, last_hash = auditlog.last_row(store.conn)
    with pytest.raises(Exception, match="only appended to the chain"), store.write():
        auditlog.append_row(store.conn, next_row(store, last_id + 1, last_hash))
    first = next_row(store, last_id, last_hash, actor="a")
    second = next_row(store, last_id + 1, "f" * 64, actor="b")  # does not follow the first
    with pytest.raises(Exception, match="only appended to the chain"), store.write():
        auditlog.append_rows(store.conn, [first, second])
    assert auditlog.last_row(store.conn) == (last_id, last_hash)
    second = next_row(store, last_id + 1, first[-1], actor="b")
    with store.write():
        auditlog.append_rows(store.conn, [first, second])
    assert [r["actor"] for r in store.all("SELECT actor FROM audit WHERE id > ? ORDER BY id",
                                          [last_id])] == ["a", "b"]
    assert audit.verify(store.conn).ok


def test_rows_in_order_whole_or_a_range_and_closed_after_the_block(store):
    fill(store, 5)
    with auditlog.rows_in_order(store.conn) as rows:
        ids = [r[0] for r in rows]
    assert ids == list(range(1, auditlog.row_count(store.conn) + 1))
    with auditlog.rows_in_order(store.conn, after=2, upto=4) as rows:
        picked = list(rows)
    assert [r[0] for r in picked] == [3, 4]
    assert all(len(r) == len(auditlog.COLUMNS) for r in picked)
    with auditlog.rows_in_order(store.conn) as rows:
        next(iter(rows))  # stopped after one row
    with pytest.raises(Exception, match="closed"):
        rows.fetchone()
    with pytest.raises(ValueError, match="both"), auditlog.rows_in_order(store.conn, after=2):
        pass


def test_trigger_names_and_database_file(store, tmp_path):
    assert set(AUDIT_TRIGGERS) <= auditlog.trigger_names(store.conn)
    # a database on a server has no file
    expected = None if store.postgres else str(tmp_path / "test.db")
    assert auditlog.database_file(store.conn) == expected


def test_a_database_in_memory_has_no_file(engine):
    from formsengine.store import Store

    with Store.open(":memory:", engine) as memory:
        assert auditlog.database_file(memory.conn) is None


def test_trigger_names_on_postgresql(pg_url):
    """The same three triggers, read from PostgreSQL's catalogue."""
    import secrets

    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, make_url, text

    from formsengine.store import tables
    from formsengine.store.triggers import create_postgres_triggers

    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        tables.metadata.create_all(engine)
        url = make_url(pg_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
            assert auditlog.trigger_names(conn) == set()
            with engine.begin() as c:
                create_postgres_triggers(c)
            assert auditlog.trigger_names(conn) == set(AUDIT_TRIGGERS)
        engine.dispose()
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
