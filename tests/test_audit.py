"""The audit trail is append-only and hash-chained; verify names the first broken row."""

from __future__ import annotations

import json
import os
import sqlite3 as other_sqlite  # the system library, as an outside tool would use

import pytest

from formsengine.audit import verify
from formsengine.store import inspection as look


@pytest.fixture
def store(any_store):
    """These tests run on SQLite and again on PostgreSQL."""
    return any_store


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


@pytest.mark.sqlite_only
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


@pytest.mark.sqlite_only
def test_removed_row_is_detected(store, tmp_path):
    fill(store)
    tamper(tmp_path / "test.db", "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE id = 2")
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id == 3


@pytest.mark.sqlite_only
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
    with look.statements_sent(store) as sent:
        action()
    # (the insert trigger's run is traced as the same statement again: not one more sent)
    sent = [s for i, s in enumerate(sent) if i == 0 or s != sent[i - 1]]
    return [s for s in sent if not s.startswith(("BEGIN", "COMMIT"))]


@pytest.mark.sqlite_only
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
        actors = look.values(store, "audit", "actor")
        assert "rolled back" not in actors
        assert actors[-10:] == ["a", "second connection", "first again", "after the rollback",
                                "another process", "after the other process", "bulk", "bulk",
                                "bulk", "after the bulk append"]
    finally:
        second.close()


# -- a keyed, anchored chain: rewriting it is found ------------------------------------------
def rewrite(path, change, *, start=None, key=None):
    """Tamper as an outside tool on the database file would, covering its tracks: drop the
    triggers, ``change`` the rows, recompute every hash from row ``start`` on (plain SHA-256
    without the key, as anyone can; or under the stolen ``key``), put the triggers back.

    (With the SQLite library the store uses: the system one, 3.40, has the WAL-reset bug,
    which can leave the store's connection reading an old snapshot after a second rewrite.)
    """
    from sqlite_utils.utils import sqlite3

    from formsengine.audit import FIELDS, GENESIS, row_hash

    conn = sqlite3.connect(path)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                            " AND tbl_name = 'audit'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    change(conn)
    rows = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
    names = [c[0] for c in conn.execute("SELECT * FROM audit LIMIT 0").description]
    prev = GENESIS
    for values in rows:
        row = dict(zip(names, values))
        if start is not None and row["id"] >= start:
            digest = row_hash({f: row[f] for f in FIELDS}, prev, key)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?",
                         [prev, digest, row["id"]])
            row["hash"] = digest
        prev = row["hash"]
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.fixture
def trail(store, tmp_path):
    """A store with rows, its file and an anchor of its head."""
    from formsengine.audit import head

    fill(store, 8)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store, tmp_path / "test.db", head(store.conn)


def key_of(store):
    from formsengine.audit import key_for

    return key_for(store.conn)


@pytest.mark.sqlite_only
def test_removing_the_last_rows_is_found_by_the_anchor(trail):
    store, path, anchor = trail
    rewrite(path, lambda c: c.execute("DELETE FROM audit WHERE id > ?", [anchor.last_id - 3]))
    assert verify(store.conn).ok  # what is left is a whole chain: only an anchor shows it
    report = verify(store.conn, [anchor])
    assert not report.ok
    assert f"row {anchor.last_id} is gone (rows removed from the end)" in report.message()


@pytest.mark.sqlite_only
def test_removing_every_row_is_found(trail):
    store, path, anchor = trail
    rewrite(path, lambda c: c.execute("DELETE FROM audit"))
    report = verify(store.conn)
    assert not report.ok and "every row was removed" in report.message()
    assert "is gone" in verify(store.conn, [anchor]).message()


@pytest.mark.sqlite_only
def test_edited_and_rehashed_row_is_found(trail):
    store, path, anchor = trail
    rewrite(path, lambda c: c.execute("UPDATE audit SET actor = 'someone else' WHERE id = 4"),
            start=4)
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id == 4
    assert "written without the audit key" in report.message()


@pytest.mark.sqlite_only
def test_rehashed_under_a_stolen_key_is_found_by_the_anchor(trail):
    store, path, anchor = trail
    rewrite(path, lambda c: c.execute("UPDATE audit SET actor = 'someone else' WHERE id = 4"),
            start=4, key=key_of(store))
    assert verify(store.conn).ok  # whoever has the key can make a chain that holds ...
    report = verify(store.conn, [anchor])  # ... but not one that ends where the anchor says
    assert not report.ok
    assert f"row {anchor.last_id} no longer has the hash anchored" in report.message()


def renumber_after_removing(row_id):
    def change(conn):
        conn.execute("DELETE FROM audit WHERE id = ?", [row_id])
        for (old,) in conn.execute("SELECT id FROM audit WHERE id > ? ORDER BY id",
                                   [row_id]).fetchall():
            conn.execute("UPDATE audit SET id = ? WHERE id = ?", [old - 1, old])
    return change


@pytest.mark.sqlite_only
def test_removed_renumbered_and_rehashed_row_is_found(trail):
    store, path, anchor = trail
    rewrite(path, renumber_after_removing(3), start=3)
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id == 3
    assert "written without the audit key" in report.message()


@pytest.mark.sqlite_only
def test_removed_renumbered_and_rehashed_under_a_stolen_key_is_found_by_the_anchor(trail):
    store, path, anchor = trail
    rewrite(path, renumber_after_removing(3), start=3, key=key_of(store))
    assert verify(store.conn).ok
    assert "is gone" in verify(store.conn, [anchor]).message()
    # an older anchor, whose row is still there, finds it too: a row fewer up to it
    older = type(anchor)(rows=anchor.rows - 2, last_id=anchor.last_id - 2, hash="0" * 64,
                         at="earlier")
    assert "no longer has the hash anchored" in verify(store.conn, [older]).message()


@pytest.mark.sqlite_only
def test_forged_row_appended_is_found(trail):
    from formsengine.audit import FIELDS, row_hash

    store, path, _ = trail
    conn = other_sqlite.connect(path)
    last_id, last_hash = conn.execute(
        "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    forged = {"id": last_id + 1, "at": "2026-01-01T00:00:00.000000Z", "actor": "admin",
              "action": "view", "object_type": None, "object_id": None, "request_id": None,
              "details": "{}"}
    insert = ("INSERT INTO audit (id, at, actor, action, object_type, object_id, request_id,"
              " details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    # a row that does not continue the chain is refused by the trigger ...
    with pytest.raises(other_sqlite.DatabaseError, match="only appended to the chain"):
        conn.execute(insert, [forged[f] for f in FIELDS] + ["0" * 64, "0" * 64])
    with pytest.raises(other_sqlite.DatabaseError, match="only appended to the chain"):
        conn.execute(insert, [last_id + 5, *[forged[f] for f in FIELDS][1:], last_hash,
                              "0" * 64])
    # ... one that does, hashed without the key, is found by verify
    conn.execute(insert, [forged[f] for f in FIELDS] + [last_hash, row_hash(forged, last_hash)])
    conn.commit()
    conn.close()
    report = verify(store.conn)
    assert not report.ok and report.first_broken_id == last_id + 1
    assert "written without the audit key" in report.message()


@pytest.mark.sqlite_only
def test_dropped_insert_trigger_is_reported(trail):
    store, path, _ = trail
    tamper(path, "DROP TRIGGER audit_insert_in_chain")
    report = verify(store.conn)
    assert not report.ok and "audit_insert_in_chain" in report.message()


def test_an_unkeyed_chain_from_before_the_key_still_verifies_and_the_keyed_one_follows(
        engine, tmp_path):
    """A database made before the key: its rows keep their plain chain, the migration appends
    the marked row that starts the keyed chain, and rewriting the old rows is still found."""
    from sqlite_utils import Database

    from formsengine import audit
    from formsengine.store import Store, connect
    from formsengine.store_schema import core_migrations

    path = tmp_path / "old.db"
    db = Database(connect(path))
    core_migrations.apply(db, stop_before="m005_keyed_audit")
    with db.atomic():
        prev = audit.GENESIS
        for i in range(1, 4):
            row = {"id": i, "at": "2026-01-01T00:00:00.000000Z", "actor": "old", "action": "view",
                   "object_type": None, "object_id": None, "request_id": None, "details": "{}"}
            digest = audit.row_hash(row, prev)  # as written before the key
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [row[f] for f in audit.FIELDS] + [prev, digest])
            prev = digest
    db.conn.close()
    assert not audit.key_path(path).exists()

    store = Store.open(path, engine, upgrade=True)
    try:
        assert (audit.key_path(path).stat().st_mode & 0o777) == 0o600
        marker = look.only(store, "audit", action=audit.KEYED_MARKER)
        assert marker["id"] == 4 and json.loads(marker["details"])["unkeyed_rows"] == 3
        store.audit("view", actor="new")
        report = verify(store.conn)
        assert report.ok and report.rows == 5 and report.unkeyed_rows == 3
        assert "the first 3 from before the audit key" in report.message()
        # an old row rewritten with its plain chain recomputed no longer leads to the marker
        rewrite(path, lambda c: c.execute("UPDATE audit SET actor = 'x' WHERE id = 2"), start=2)
        report = verify(store.conn)
        assert not report.ok and report.first_broken_id == 4
        # and the keyed rows removed, leaving only the plain chain, is found too
        rewrite(path, lambda c: c.execute("DELETE FROM audit WHERE id >= 3"))
        assert "no row starts the keyed chain" in verify(store.conn).message()
    finally:
        store.close()


@pytest.mark.sqlite_only
def test_key_file_is_private_and_the_environment_overrides_it(store, tmp_path, monkeypatch):
    from formsengine import audit
    from formsengine.errors import StorageError

    path = audit.key_path(tmp_path / "test.db")
    assert (path.stat().st_mode & 0o777) == 0o600
    fill(store, 2)
    assert verify(store.conn).ok
    # another key (from the environment) does not verify rows made under the file's
    monkeypatch.setenv(audit.KEY_ENV, "k" * 40)
    assert not verify(store.conn).ok
    monkeypatch.setenv(audit.KEY_ENV, "short")
    with pytest.raises(StorageError, match="at least 32 characters"):
        verify(store.conn)
    monkeypatch.delenv(audit.KEY_ENV)
    # a key file others can read is refused; a missing one is never silently replaced
    audit.forget_keys()
    path.chmod(0o644)
    with pytest.raises(StorageError, match="can be read by other users"):
        store.audit("view", actor="x")
    path.unlink()
    with pytest.raises(StorageError, match="audit key .* is missing"):
        store.audit("view", actor="x")
    audit.forget_keys()


@pytest.mark.sqlite_only
def test_anchor_file_is_appended_and_checked(trail, tmp_path):
    from formsengine import audit
    from formsengine.errors import StorageError

    store, path, first = trail
    anchors = tmp_path / "anchors.jsonl"
    audit.write_anchor(anchors, first)
    fill(store, 2)
    audit.write_anchor(anchors, audit.head(store.conn))
    assert (anchors.stat().st_mode & 0o777) == 0o600
    read = audit.read_anchors(anchors)
    assert [a.last_id for a in read] == [first.last_id, first.last_id + 2]
    assert [a.line for a in read] == [1, 2]
    report = verify(store.conn, read)
    assert report.ok and "agrees with 2 anchor(s)" in report.message()
    with anchors.open("a") as fh:
        fh.write('{"rows": "many"}\n')
    with pytest.raises(StorageError, match="line 3 is not an anchor"):
        audit.read_anchors(anchors)


@pytest.mark.sqlite_only
def test_server_anchors_periodically_and_stops_on_a_broken_chain(trail, tmp_path, caplog):
    import time

    from formsengine import audit

    store, path, _ = trail
    anchors = tmp_path / "anchors.jsonl"
    anchorer = audit.Anchorer(path, anchors, interval=0.05).start()
    try:
        def wait_for(n):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if anchors.exists() and len(anchors.read_text().splitlines()) >= n:
                    return
                time.sleep(0.02)
            raise AssertionError(f"{n} anchors not written")

        wait_for(1)
        time.sleep(0.2)  # nothing new: no new anchor
        assert len(anchors.read_text().splitlines()) == 1
        fill(store, 3)
        last = look.last(store, "audit", "id")["id"]
        deadline = time.monotonic() + 10  # the rows may be anchored in one step or several
        while json.loads(anchors.read_text().splitlines()[-1])["last_id"] != last:
            assert time.monotonic() < deadline, "the new rows were not anchored"
            time.sleep(0.02)
        anchored = len(anchors.read_text().splitlines())
        assert anchored >= 2
        assert verify(store.conn, audit.read_anchors(anchors)).ok
        # a row forged after the last anchor: reported, not anchored
        rewrite(path, lambda c: c.execute(
            "INSERT INTO audit SELECT id + 1, at, 'forged', action, object_type, object_id,"
            " request_id, details, hash, hash FROM audit ORDER BY id DESC LIMIT 1"))
        time.sleep(0.3)
    finally:
        anchorer.stop()
    assert not anchorer.thread.is_alive()
    assert len(anchors.read_text().splitlines()) == anchored
    assert "audit chain not anchored" in caplog.text


def test_anchoring_starts_only_when_an_anchor_file_is_configured(monkeypatch, tmp_path):
    from formsengine import audit
    from formsengine.errors import StorageError

    monkeypatch.delenv(audit.ANCHOR_ENV, raising=False)
    assert audit.start_anchoring(tmp_path / "x.db") is None
    monkeypatch.setenv(audit.ANCHOR_ENV, str(tmp_path / "a.jsonl"))
    monkeypatch.setenv(audit.ANCHOR_MINUTES_ENV, "0")
    with pytest.raises(StorageError, match="more than 0"):
        audit.start_anchoring(tmp_path / "x.db")
    monkeypatch.delenv(audit.ANCHOR_MINUTES_ENV)
    assert audit.anchor_settings() == (str(tmp_path / "a.jsonl"), 300)


def test_command_line_anchors_and_verifies_against_anchors(tmp_path):
    """`audit anchor` appends the head to a file (or prints it); `audit verify --anchor`
    finds rows removed from the end that the chain alone cannot show."""
    from .test_cli import run

    assert run(tmp_path, "db", "init").returncode == 0
    anchors = tmp_path / "anchors.jsonl"
    out = run(tmp_path, "audit", "anchor", str(anchors))
    assert out.returncode == 0, out.stderr
    printed = json.loads(run(tmp_path, "audit", "anchor").stdout)
    assert set(printed) == {"rows", "last_id", "hash", "at"}
    assert json.loads(anchors.read_text()).keys() == printed.keys()
    out = run(tmp_path, "audit", "verify", "--anchor", str(anchors))
    assert out.returncode == 0 and "agrees with 1 anchor(s)" in out.stdout
    rewrite(tmp_path / "cli.db", lambda c: c.execute(
        "DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)"))
    assert run(tmp_path, "audit", "verify").returncode == 0
    out = run(tmp_path, "audit", "verify", "--anchor", str(anchors))
    assert out.returncode == 1 and "rows removed from the end" in out.stderr
    # the configured anchor file is the default, for anchoring and for verifying
    out = run(tmp_path, "audit", "verify", env={"FORMSENGINE_AUDIT_ANCHOR": str(anchors)})
    assert out.returncode == 1 and "rows removed from the end" in out.stderr
    out = run(tmp_path, "audit", "anchor", env={"FORMSENGINE_AUDIT_ANCHOR": str(anchors)})
    assert out.returncode == 1 and "not anchored" in out.stderr
    assert len(anchors.read_text().splitlines()) == 1
    out = run(tmp_path, "audit", "verify", "--anchor", str(tmp_path / "none.jsonl"))
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_command_line_records_the_operating_system_account_beside_the_actor(tmp_path, store):
    """--actor is whatever name was typed: each row the command appends also names the
    account the process runs as, by its user id (USER and LOGNAME can say anything)."""
    import pwd

    from formsengine.store import Store

    from .conftest import DefinitionsPlugin, answers, make_engine, toy_definition
    from .test_cli import run

    me = pwd.getpwuid(os.getuid()).pw_name
    assert run(tmp_path, "db", "init").returncode == 0
    record = {**answers(a="yes"), "person": "VS-1", "role": "victim_survivor",
              "occasion": "intake"}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n")
    out = run(tmp_path, "assessments", "import", str(tmp_path / "in.jsonl"), "--actor",
              "the director", env={"USER": "someone-else", "LOGNAME": "someone-else"})
    assert out.returncode == 0, out.stderr
    with Store.open(tmp_path / "cli.db", make_engine(DefinitionsPlugin(toy_definition()))
                    ) as cli_store:
        details = [json.loads(d) for d in look.values(cli_store, "audit", "details",
                                                      actor="the director")]
    assert len(details) == 1  # the import: one row for the whole file
    assert {d["os_user"] for d in details} == {me}
    assert details[0]["rows"] == 1 and details[0]["people_created"] == 1
    # rows appended by the web application (this process) name no operating-system account
    store.audit("view", actor="practitioner")
    last = look.last(store, "audit", "details")
    assert "os_user" not in json.loads(last["details"])


def test_command_line_seals_views_and_verify_seals_them_first(tmp_path):
    """`audit seal` seals the views not sealed yet; `audit verify` seals before it reads,
    so that it covers every view, and says how many it checked."""
    from formsengine.store import Store

    from .conftest import DefinitionsPlugin, make_engine, toy_definition
    from .test_cli import run

    assert run(tmp_path, "db", "init").returncode == 0
    engine = make_engine(DefinitionsPlugin(toy_definition()))
    with Store.open(tmp_path / "cli.db", engine) as cli_store:
        for i in range(3):
            cli_store.log_view("view", actor="alice", object_type="case", object_id=i)
    out = run(tmp_path, "audit", "seal")
    assert out.returncode == 0 and "3 view rows sealed" in out.stdout, out.stderr
    assert "no view rows to seal" in run(tmp_path, "audit", "seal").stdout
    with Store.open(tmp_path / "cli.db", engine) as cli_store:
        cli_store.log_view("list", actor="alice", object_type="case_list")
        assert verify(cli_store.conn).views_unsealed == 1
        rows = look.count(cli_store, "audit")
    out = run(tmp_path, "audit", "verify", "--no-seal")  # only reads: a copy, a backup
    assert out.returncode == 0 and "3 view rows sealed, 1 not yet sealed" in out.stdout
    with Store.open(tmp_path / "cli.db", engine) as cli_store:
        assert look.count(cli_store, "audit") == rows
    out = run(tmp_path, "audit", "verify")
    assert out.returncode == 0 and "4 view rows sealed" in out.stdout, out.stderr
    assert "not yet sealed" not in out.stdout
    tamper(tmp_path / "cli.db", "DROP TRIGGER view_log_no_update",
           "UPDATE view_log SET actor = 'bob' WHERE id = 2")
    out = run(tmp_path, "audit", "verify")
    assert out.returncode == 1 and "view rows 1 to 3 (sealed by audit row" in out.stderr
    assert "do not match their seal" in out.stderr and "view_log_no_update" in out.stderr


@pytest.mark.sqlite_only
def test_the_server_seals_views_before_each_anchor(trail, tmp_path):
    from formsengine import audit

    store, path, _ = trail
    store.log_view("view", actor="alice", object_type="case", object_id=1)
    anchors = tmp_path / "anchors.jsonl"
    anchor = audit.Anchorer(path, anchors).anchor_once(store.conn)
    assert anchor is not None
    seal = look.last(store, "audit", "id", "details", action=audit.SEAL_ACTION)
    assert anchor.last_id == seal["id"] and json.loads(seal["details"])["rows"] == 1
    report = verify(store.conn, audit.read_anchors(anchors))
    assert report.ok and report.views_sealed == 1 and report.views_unsealed == 0
