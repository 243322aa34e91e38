"""The store's side of erasure (``formsengine.store.erasing``): the rows it finds and deletes,
and what it says remains where after clearing what can be cleared."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from formsengine.store import erasing
from formsengine.store import inspection as look

from ..conftest import answers


def save(store, ref, *, status="final", occasion="intake"):
    inst, sub = store.engine.check(answers(a="yes"))
    pid = store.ensure_person(ref, "victim_survivor")
    case_id = store.create_case(f"case-{ref}-{occasion}", people=[(pid, "victim_survivor")])
    aid = store.create_assessment(inst, sub, person_id=pid, occasion=occasion, status=status,
                                  case_id=case_id)
    return pid, case_id, aid


def count(store, table):
    return store.one(f"SELECT COUNT(*) AS n FROM {table}")["n"]  # nosec B608


def test_erase_person_rows_removes_their_rows_and_only_emptied_cases(store):
    pid, own_case, _ = save(store, "GONE-1")
    other, shared_case, kept = save(store, "KEEP-1")
    store.add_case_person(shared_case, pid, "service_user", actor="t")
    with store.write():
        counts = erasing.erase_person_rows(store, pid)
    assert counts == {"assessments": 1, "cases_removed": 1}
    assert store.get_person("GONE-1") is None and store.get_person("KEEP-1") is not None
    assert store.one("SELECT id FROM cases WHERE id = ?", [own_case]) is None
    assert store.one("SELECT id FROM cases WHERE id = ?", [shared_case]) is not None
    assert store.get_assessment(kept) is not None
    assert store.all("SELECT person_id FROM case_people") == [{"person_id": other}]


def test_assessment_versions_follow_amendments_both_ways(store):
    _, _, first = save(store, "P-1")
    _, sub = store.engine.check(answers(a="yes", b="yes"))
    second = store.amend(first, sub, reason="more disclosed", actor="u")
    third = store.amend(second, sub, reason="corrected", actor="u")
    _, _, other = save(store, "P-1", occasion="review")
    for start in (first, second, third):
        assert erasing.assessment_versions(store, start) == {first, second, third}
    assert erasing.assessment_versions(store, other) == {other}
    assert erasing.assessment_versions(store, 999_999) == set()
    with store.write():
        erasing.delete_assessments(store, {first, second, third})  # newest first: no FK error
    assert store.get_assessment(second) is None and store.get_assessment(other) is not None
    assert count(store, "answers") > 0  # the other assessment's


def test_retention_reads_and_deleting_only_drafts(store):
    _, _, old_draft = save(store, "P-OLD", status="draft")
    _, _, final = save(store, "P-FINAL")
    with store.write():
        store.conn.execute("UPDATE assessments SET updated_at = '2020-01-01T00:00:00Z'"
                           " WHERE id IN (?, ?)", [old_draft, final])
    assert erasing.stale_drafts(store, "2021-01-01") == [old_draft]
    assert erasing.stale_drafts(store, "2019-01-01") == []
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert sorted(erasing.inactive_people(store, later)) == ["P-FINAL", "P-OLD"]
    assert erasing.inactive_people(store, "2000-01-01") == []  # recorded after it
    with store.write():
        assert not erasing.delete_draft(store, final)  # final: kept
        assert erasing.delete_draft(store, old_draft)
        assert not erasing.delete_draft(store, old_draft)  # already gone
    assert store.get_assessment(final) is not None and store.get_assessment(old_draft) is None


@pytest.mark.sqlite_only
def test_on_sqlite_vacuum_does_nothing_and_says_what_remains(store):
    assert erasing.backend(store) == "sqlite"
    _, _, aid = save(store, "P-1")
    with store.write():
        erasing.delete_assessments(store, [aid])
    with look.statements_sent(store) as sent:
        message = erasing.vacuum_erased(store, erasing.PERSON_TABLES)
        left = erasing.vacuum_erased(store, erasing.ASSESSMENT_TABLES, wal_emptied=False)
    assert sent == []  # nothing sent to the database
    assert message.startswith("On SQLite the erased rows were overwritten")
    assert "secure_delete" in message and "write-ahead log was emptied" in message
    assert "backups made before the erasure" in message
    assert "write-ahead log may still hold them until 'formsengine erase checkpoint'" in left
    assert store.one("PRAGMA secure_delete")["secure_delete"] == 1  # what the message says


def test_vacuum_refuses_a_table_an_erasure_does_not_change(store):
    with pytest.raises(ValueError, match="not a table an erasure changes: audit"):
        erasing.vacuum_erased(store, ["people", "audit"])
    with pytest.raises(ValueError, match="DROP TABLE x"):
        erasing.vacuum_erased(store, ['people"; DROP TABLE x; --'])


@pytest.mark.sqlite_only
def test_empty_write_ahead_log_on_sqlite(store, tmp_path):
    save(store, "P-1")
    assert (tmp_path / "test.db-wal").stat().st_size > 0
    assert erasing.empty_write_ahead_log(store)
    assert (tmp_path / "test.db-wal").stat().st_size == 0


# -- PostgreSQL --------------------------------------------------------------------------------
@pytest.fixture
def pg_conn(pg_url):
    """A psycopg connection to a fresh schema holding the described tables, dropped after."""
    import secrets

    psycopg = pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, make_url, text

    from formsengine.store import tables

    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    tables.metadata.create_all(engine)
    engine.dispose()
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(url, options=f"-csearch_path={schema}")
    try:
        yield conn
    finally:
        conn.close()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def vacuum_counts(conn):
    conn.rollback()  # a fresh transaction: statistics are read again
    rows = conn.execute("SELECT relname, vacuum_count, n_dead_tup FROM pg_stat_user_tables"
                        " WHERE schemaname = current_schema()").fetchall()
    conn.rollback()
    return {name: (vacuums, dead) for name, vacuums, dead in rows}


def test_on_postgresql_the_tables_an_erasure_touched_are_vacuumed(pg_conn):
    """The PostgreSQL path, on a real server. (No Store opens PostgreSQL yet: the function
    is given what it uses of one, the connection and the database's name.)"""
    pg_conn.execute("INSERT INTO people (ref, role, created_at) VALUES"
                    " ('GONE-1', 'victim_survivor', 'now'), ('KEEP-1', 'victim_survivor', 'now')")
    pg_conn.commit()
    pg_conn.execute("DELETE FROM people WHERE ref = 'GONE-1'")
    pg_conn.commit()
    store = SimpleNamespace(conn=pg_conn, dialect="postgresql")
    assert erasing.backend(store) == "postgresql"
    assert erasing.backend(SimpleNamespace(conn=pg_conn)) == "postgresql"  # by its driver
    before = vacuum_counts(pg_conn)
    message = erasing.vacuum_erased(store, erasing.PERSON_TABLES)
    assert pg_conn.autocommit is False  # as it was
    after = vacuum_counts(pg_conn)
    for table in erasing.PERSON_TABLES:
        assert after[table][0] == before.get(table, (0, 0))[0] + 1, table
    assert after["people"][1] == 0  # the erased row's dead version is gone
    assert after["audit"][0] == before.get("audit", (0, 0))[0]  # not touched
    assert message.startswith("On PostgreSQL VACUUM ran on assessments, answers, scores,")
    assert "archived WAL and base backups" in message
    assert erasing.empty_write_ahead_log(store)  # nothing to do there
    assert erasing.vacuum_erased(store, []) == erasing.POSTGRESQL_NOTHING
    assert vacuum_counts(pg_conn)["people"][0] == after["people"][0]
    pg_conn.rollback()
    assert pg_conn.execute("SELECT ref FROM people").fetchall() == [("KEEP-1",)]
