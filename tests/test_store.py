"""Storage on a real SQLite file: settings, versioned scores, drafts, locking, amendments and
concurrent writers."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from formsengine import store as store_mod
from formsengine.errors import BusyError, LockedError, StaleEditError, StorageError
from formsengine.store import Store
from formsengine.store import inspection as look

from .conftest import answers


@pytest.fixture
def store(any_store):
    """These tests run on SQLite and again on PostgreSQL."""
    return any_store


def save(store, data, person="P-1", occasion="intake", status="final"):
    inst, sub = store.engine.check(data)
    pid = store.ensure_person(person, "victim_survivor")
    return store.create_assessment(inst, sub, person_id=pid, occasion=occasion,
                                   assessor="tester", status=status)


@pytest.mark.sqlite_only
def test_connection_settings(store):
    c = store.conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA secure_delete").fetchone()[0] == 1
    version = tuple(int(x) for x in c.execute("SELECT sqlite_version()").fetchone()[0].split("."))
    assert version >= (3, 51, 3)


def test_old_sqlite_is_refused(monkeypatch):
    monkeypatch.setattr(store_mod.sqlite3, "sqlite_version", "3.40.1")
    with pytest.raises(StorageError, match="3.40.1 is too old"):
        store_mod.check_sqlite_version()


def test_missing_database_needs_init(engine, tmp_path):
    with pytest.raises(StorageError, match="db init"):
        Store.open(tmp_path / "none.db", engine)


@pytest.mark.sqlite_only
def test_migrations_are_recorded_and_idempotent(store):
    rows = store.all("SELECT version_num FROM alembic_version ORDER BY 1")
    # (web_0001 depends on core_0001, which core_0002 and core_0003 follow)
    assert rows == [{"version_num": "core_0012"}, {"version_num": "web_0001"}]
    columns = {r["name"] for r in store.all("PRAGMA table_info(assessments)")}
    assert {"draft_result", "draft_answers"} <= columns
    columns = {r["name"] for r in store.all("PRAGMA table_info(cases)")}
    assert {"closed_on", "closed_reason"} <= columns
    assert store.migrate() == []


def as_release_0_1(store, *, missing: str) -> None:
    """Make the store's database look as release 0.1 left it, with ``missing`` (one of its
    sqlite-utils migrations) not applied yet: no Alembic table, the old record instead."""
    from formsengine.migrations.versions import core_0009_score_values_check as values_check
    from formsengine.store_schema import core_migrations
    from formsengine.web.schema import web_migrations

    with store.write():
        store.conn.execute("DROP TABLE alembic_version")
        # (what later revisions added: core_0002; core_0003, the stored schedule;
        # core_0004, the team lists' indexes; core_0007, answers carried forward; core_0009,
        # score_values' check as comparisons; core_0005, the view log;
        # core_0008, the research counts; core_0010, the assessment's language;
        # core_0011, the index of amendments; core_0012, the configuration records kept
        # once, which has no score here to take them from)
        store.conn.execute("DROP INDEX assessments_supersedes")
        store.conn.execute("DROP TABLE score_configurations")
        store.conn.execute("ALTER TABLE assessments DROP COLUMN language")
        store.conn.execute("ALTER TABLE answers DROP COLUMN carried_from")
        for name in ("insert", "update_old", "update_new", "delete"):
            store.conn.execute(f"DROP TRIGGER final_counts_{name}")
        store.conn.execute("DROP TABLE final_counts")
        store.conn.execute("DROP TABLE final_people")
        for name in ("cases_list_open", "cases_list_all", "cases_by_ref"):
            store.conn.execute(f"DROP INDEX {name}")
        store.conn.execute(values_check._sqlite_table("score_values_0_1", values_check.OLD_CHECK))
        store.conn.execute("INSERT INTO score_values_0_1 SELECT * FROM score_values")
        store.conn.execute("DROP TABLE score_values")
        store.conn.execute("ALTER TABLE score_values_0_1 RENAME TO score_values")
        store.conn.execute("DROP TABLE view_log")
        store.conn.execute("DROP INDEX case_people_role")
        store.conn.execute("DROP TABLE case_people_set_aside")
        for name in ("case_insert", "case_update", "case_delete", "assessment_insert",
                     "assessment_update", "assessment_delete"):
            store.conn.execute(f"DROP TRIGGER schedule_{name}")
        store.conn.execute("DROP TABLE schedule_entries")
        store.conn.execute("DROP TABLE schedule_offsets")
        store.conn.execute("CREATE TABLE _sqlite_migrations (migration_set TEXT, name TEXT,"
                           " applied_at TEXT)")
        store.conn.executemany(
            "INSERT INTO _sqlite_migrations VALUES (?, ?, 'then')",
            [(legacy.name, m.name) for legacy in (core_migrations, web_migrations)
             for m in legacy._migrations if m.name != missing])


def test_final_assessment_is_stored_at_item_level_and_scored(store):
    data = answers(a="yes", b="dont_know", a__what=["one", "two"])
    data["comments"] = {"toy.a": "said twice"}
    aid = save(store, data)
    row = store.get_assessment(aid)
    assert row["answers"]["toy.b"] == "dont_know"  # not known is never stored as no
    assert row["answers"]["toy.a.what"] == ["one", "two"]
    assert row["comments"] == {"toy.a": "said twice"}
    assert row["result"]["scores"]["yes_count"] == 1
    assert row["status"] == "final" and row["assessment_date"] == "2026-01-10"
    values = {(r["kind"], r["name"]): r for r in store.all(
        "SELECT kind, name, value_num, value_text FROM score_values")}
    assert values[("score", "yes_count")]["value_num"] == 1
    assert values[("band", "risk_band")]["value_text"] == "low"
    assert values[("score", "strict_count")]["value_num"] is None


def test_rescoring_adds_rows(store):
    aid = save(store, answers(a="yes"))
    store.rescore(aid)
    rows = store.all("SELECT seq, config_hash FROM scores WHERE assessment_id = ? ORDER BY seq",
                     [aid])
    assert [r["seq"] for r in rows] == [1, 2]


def test_unknown_occasion_is_refused(store):
    with pytest.raises(StorageError, match="not used at occasion 'week_12'"):
        save(store, answers(), occasion="week_12")


def test_draft_edit_finalise_and_lock(store):
    aid = save(store, answers(), status="draft")
    assert store.all("SELECT * FROM scores") == []
    _, sub = store.engine.check(answers(a="yes", b="yes"))
    revision = store.update_draft(aid, sub, expected_revision=1, actor="u1")
    assert revision == 2
    audit = store.one("SELECT details FROM audit WHERE action = 'update'")
    assert json.loads(audit["details"]) == {"changed_items": ["toy.a", "toy.b"]}
    result = store.finalise(aid, expected_revision=2, actor="u1")
    assert result["scores"]["yes_count"] == 2
    with pytest.raises(LockedError):
        store.update_draft(aid, sub, expected_revision=3, actor="u1")


def test_second_stale_edit_fails_and_loses_nothing(store):
    aid = save(store, answers(), status="draft")
    _, first = store.engine.check(answers(a="yes"))
    _, second = store.engine.check(answers(c="yes"))
    store.update_draft(aid, first, expected_revision=1, actor="u1")
    with pytest.raises(StaleEditError, match="changed by someone else"):
        store.update_draft(aid, second, expected_revision=1, actor="u2")
    assert store.get_assessment(aid)["answers"]["toy.a"] == "yes"
    assert store.get_assessment(aid)["answers"]["toy.c"] == "no"


def test_amendment_keeps_old_version(store):
    aid = save(store, answers(a="yes"))
    _, sub = store.engine.check(answers(a="yes", b="yes", c="yes"))
    with pytest.raises(StorageError, match="needs a reason"):
        store.amend(aid, sub, reason="  ", actor="u1")
    new = store.amend(aid, sub, reason="victim disclosed more", actor="u1")
    old_row, new_row = store.get_assessment(aid), store.get_assessment(new)
    assert old_row["status"] == "superseded" and old_row["result"]["scores"]["yes_count"] == 1
    assert new_row["status"] == "final" and new_row["version_no"] == 2
    assert new_row["supersedes_id"] == aid
    assert new_row["amendment_reason"] == "victim disclosed more"
    with pytest.raises(StaleEditError):
        store.amend(aid, sub, reason="again", actor="u2")


def test_person_role_must_match(store):
    store.ensure_person("P-9", "service_user")
    with pytest.raises(StorageError, match="recorded as service_user"):
        store.ensure_person("P-9", "victim_survivor")
    with pytest.raises(StorageError, match="give their role"):
        store.ensure_person("P-10", None)


def test_concurrent_writers_lose_nothing(engine, tmp_path):
    path = tmp_path / "c.db"
    Store.open(path, engine, create=True).close()
    errors = []

    def worker(n):
        s = Store.open(path, engine)
        try:
            for k in range(15):
                inst, sub = engine.check(answers(a="yes"))
                pid = s.ensure_person(f"W{n}-{k}", "victim_survivor")
                s.create_assessment(inst, sub, person_id=pid, occasion="intake")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = Store.open(path, engine)
    assert s.one("SELECT COUNT(*) AS n FROM assessments")["n"] == 90
    assert s.one("SELECT COUNT(DISTINCT person_id) AS n FROM assessments")["n"] == 90
    from formsengine.audit import verify

    assert verify(s.conn).ok
    s.close()


def test_writers_in_one_process_queue_on_one_lock_per_file(engine, tmp_path, monkeypatch):
    """A writer waits for the one before it (no busy polling); one that waits too long gets
    a plain error and writes nothing."""
    path = tmp_path / "q.db"
    first, second = Store.open(path, engine, create=True), Store.open(path, engine)
    other = Store.open(tmp_path / "other.db", engine, create=True)
    assert first._write_lock is second._write_lock
    assert other._write_lock is not first._write_lock
    monkeypatch.setattr(store_mod, "WRITE_WAIT", 0.2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with first.write():
            first.audit("hold", actor="test")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with pytest.raises(BusyError, match="busy"):
            with second.write():
                second.audit("never", actor="test")
        with other.write():  # another file is not held up
            other.audit("elsewhere", actor="test")
    finally:
        release.set()
        holder.join()
    with second.write():
        second.audit("after", actor="test")
    actions = [r[0] for r in second.conn.execute("SELECT action FROM audit ORDER BY id")]
    assert "never" not in actions and actions[-2:] == ["hold", "after"]
    for s in (first, second, other):
        s.close()


def _try_write_lock(file: str, timeout: float, out) -> None:
    """In another process: whether this database's write lock can be had within ``timeout``."""
    from formsengine.store import WriteLock

    lock = WriteLock(file)
    got = lock.acquire(timeout=timeout)
    if got:
        lock.release()
    out.put(got)


def _other_process_gets_lock(file: str, timeout: float) -> bool:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_try_write_lock, args=(file, timeout, out))
    proc.start()
    try:
        return out.get(timeout=60)
    finally:
        proc.join(60)


def test_writers_in_two_processes_queue_on_the_lock_file(engine, tmp_path):
    """A write in one process holds the lock file: another process waits for it (and gives
    up after its timeout) instead of polling SQLite's busy handler. Nested writes keep it
    until the outermost one ends; it is free again after."""
    path = tmp_path / "p.db"
    s = Store.open(path, engine, create=True)
    assert s.file is not None
    with s.write():
        with s.write():  # nested: a savepoint, the lock still held
            s.audit("inner", actor="test")
        assert not _other_process_gets_lock(s.file, 0.3)
    assert _other_process_gets_lock(s.file, 5)
    lock_file = Path(s.file + store_mod.LOCK_SUFFIX)
    assert lock_file.exists() and lock_file.stat().st_mode & 0o077 == 0
    # beside the lock it holds only the audit chain's last id and hash (72 bytes)
    assert lock_file.stat().st_size == store_mod._HEAD.size
    s.close()


def _last_audit_row(s: Store) -> tuple[int, str]:
    row = s.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
    assert row is not None
    return row["id"], row["hash"]


def _append_in_another_process(file: str, out) -> None:
    from formsengine.config import Settings
    from formsengine.engine import Engine

    with Store.open(file, Engine(Settings(), load_entrypoints=False)) as other:
        other.audit("from_the_other_process", actor="test")
    out.put(True)


def test_the_lock_file_hands_the_chains_last_row_to_the_next_process(engine, tmp_path):
    """A row appended by another process is the one this process's next append follows,
    found in the lock file: one conditional insert, without reading the last row first."""
    import multiprocessing

    from formsengine import audit

    s = Store.open(tmp_path / "h.db", engine, create=True)
    assert s.file is not None
    s.audit("here", actor="test")
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_append_in_another_process, args=(s.file, out))
    proc.start()
    assert out.get(timeout=60) is True
    proc.join(60)
    appended = _last_audit_row(s)
    lock = store_mod._write_lock(s.file)
    assert lock is not None and lock.acquire()
    try:
        assert lock.head() == appended  # as the other process left it
    finally:
        lock.release()
    with look.statements_sent(s) as statements:
        s.audit("after_it", actor="test")
    assert not [q for q in statements if q.startswith("SELECT id, hash FROM audit")]
    assert _last_audit_row(s)[0] == appended[0] + 1
    assert audit.verify(s.conn).ok
    s.close()


@pytest.mark.parametrize("planted", [(1, "0" * 64), (10**9, "f" * 64), (-5, "x" * 64)])
def test_a_wrong_chain_head_in_the_lock_file_costs_only_the_long_way(engine, tmp_path,
                                                                       planted):
    """Whatever the lock file says (stale, another database's, written by hand), each row
    is appended after the chain's real last row and the chain verifies."""
    from formsengine import audit

    s = Store.open(tmp_path / "w.db", engine, create=True)
    assert s.file is not None
    s.audit("first", actor="test")
    lock = store_mod._write_lock(s.file)
    assert lock is not None and lock.acquire()
    try:
        assert lock.remember(planted)
    finally:
        lock.release()
    audit._HEADS.pop(s.file, None)
    before = _last_audit_row(s)
    s.audit("second", actor="test")
    s.audit("third", actor="test")
    assert _last_audit_row(s)[0] == before[0] + 2
    assert audit.verify(s.conn).ok
    s.close()


def test_a_forked_child_takes_the_write_lock_afresh(engine, tmp_path):
    """A process forked while its parent's thread holds the lock is not stuck behind it."""
    import multiprocessing

    path = tmp_path / "f.db"
    s = Store.open(path, engine, create=True)
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()

    def child():
        from formsengine.store import _write_lock

        lock = _write_lock(s.file)
        got = lock.acquire(timeout=0.3)  # the parent still holds the file lock
        out.put(got)

    with s.write():
        proc = ctx.Process(target=child)
        proc.start()
        assert out.get(timeout=60) is False
        proc.join(60)
    proc = ctx.Process(target=lambda: out.put(store_mod._write_lock(s.file).acquire(timeout=5)))
    proc.start()
    assert out.get(timeout=60) is True
    proc.join(60)
    s.close()


def test_final_assessment_needs_required_fields(store):
    from formsengine.errors import SubmissionError

    data = answers()
    del data["fields"]["assessment_date"]
    with pytest.raises(SubmissionError, match="assessment_date is required before"):
        save(store, data)
    aid = save(store, data, status="draft")
    with pytest.raises(SubmissionError, match="assessment_date is required before"):
        store.finalise(aid, expected_revision=1, actor="u")


def test_drafts_carry_their_provisional_result_until_finalised(store):
    aid = save(store, answers(), status="draft")
    assert store.get_assessment(aid)["draft_result"] is None
    _, sub = store.engine.check(answers(a="yes", b="yes", c="dont_know"))
    store.update_draft(aid, sub, expected_revision=1, actor="u1")
    draft = store.get_assessment(aid)["draft_result"]
    assert draft["scores"]["yes_count"] == 2
    assert draft["scores"]["not_known_count"] == 1  # "not known" kept, not counted as no
    assert draft["configuration"]["hash"].startswith("sha256:")
    assert store.all("SELECT * FROM scores") == []  # provisional: no score rows
    store.finalise(aid, expected_revision=2, actor="u1")
    row = store.get_assessment(aid)
    assert row["draft_result"] is None and row["result"]["scores"]["yes_count"] == 2


def test_previous_answers_give_the_same_audit_as_reading_them_again(store):
    details = []
    for previous in (False, True):
        aid = save(store, answers(a="yes", d="dont_know"), status="draft",
                   person=f"P-{previous}")
        row = store.get_assessment(aid)
        _, sub = store.engine.check(answers(a="no", b="yes", d="dont_know"))
        store.update_draft(aid, sub, expected_revision=row["revision"], actor="u1",
                           previous=row["answers"] if previous else None)
        details.append(json.loads(store.one(
            "SELECT details FROM audit WHERE action = 'update' AND object_id = ?",
            [str(aid)])["details"]))
    assert details[0] == details[1] == {"changed_items": ["toy.a", "toy.b"]}


@pytest.mark.parametrize("count", [3, store_mod.SMALL_INSERT, store_mod.SMALL_INSERT + 1, 250])
def test_insert_many_small_and_large_groups_with_nulls(store, count):
    store.conn.execute("CREATE TABLE t (a INTEGER, b TEXT, c TEXT)")
    rows = [(i, None if i % 3 == 0 else f"b{i}", None if i % 2 else "c'\"; --")
            for i in range(count)]
    with store.write():
        store_mod.insert_many(store.conn, "t", ("a", "b", "c"), rows)
    assert store.conn.execute("SELECT a, b, c FROM t ORDER BY a").fetchall() == rows


@pytest.mark.parametrize("status", ["final", "draft"])
def test_answers_text_survives_the_round_trip(store, status):
    comment = 'quoted "text", a backslash \\ , a newline\n, \u00e9\u4e2d\U0001f600 and \u0000?'
    data = answers(a="yes", a__what=["one", "two"])
    data["comments"] = {"toy.a": comment}
    data["sources"] = {"toy.a": "[1, 2]"}
    if store.postgres and status == "final":
        # PostgreSQL's text cannot hold NUL: refused with a plain message, nothing saved
        with pytest.raises(StorageError, match="NUL character"):
            save(store, data, status=status)
        assert store.all("SELECT id FROM assessments") == []
        data["comments"] = {"toy.a": comment.replace("\u0000", "")}
    aid = save(store, data, status=status)
    row = store.get_assessment(aid)
    inst, sub = store.engine.check(data)
    assert row["comments"] == sub.comments
    assert row["sources"] == {"toy.a": "[1, 2]"}
    assert row["answers"]["toy.a.what"] == ["one", "two"] and row["answers"]["toy.a"] == "yes"


def test_a_drafts_answers_are_one_document_until_it_is_final(store):
    data = answers(a="yes", b="dont_know", a__what=["one"])
    data["comments"] = {"toy.a": "said so at the second visit"}
    data["sources"] = {"toy.a": "police report"}
    aid = save(store, data, status="draft")
    assert store.one("SELECT COUNT(*) AS n FROM answers")["n"] == 0  # no rows for a draft
    row = store.get_assessment(aid)
    _, sub = store.engine.check(data)
    assert (row["answers"], row["comments"], row["sources"]) == (
        sub.answers, sub.comments, sub.sources)
    assert row["answers"]["toy.b"] == "dont_know"  # not known stays not known
    _, sub = store.engine.check(answers(a="no", c="yes"))
    store.update_draft(aid, sub, expected_revision=1, actor="u1", previous=row["answers"])
    assert store.one("SELECT COUNT(*) AS n FROM answers")["n"] == 0
    assert store.get_assessment(aid)["answers"] == sub.answers
    assert "draft_answers" not in store.get_assessment(aid)
    store.finalise(aid, expected_revision=2, actor="u1")
    stored = store.all("SELECT item_id, value FROM answers WHERE assessment_id = ?"
                       " ORDER BY item_id", [aid])
    assert {r["item_id"]: json.loads(r["value"]) for r in stored} == sub.answers
    assert store.one("SELECT draft_answers FROM assessments WHERE id = ?",
                     [aid])["draft_answers"] is None
    assert store.get_assessment(aid)["answers"] == sub.answers


def test_finalise_refuses_a_revision_it_did_not_read(store):
    aid = save(store, answers(a="yes"), status="draft")
    with pytest.raises(StaleEditError):
        store.finalise(aid, expected_revision=2, actor="u1")  # the draft is at revision 1
    assert store.get_assessment(aid)["status"] == "draft"
    assert store.all("SELECT * FROM scores") == []


@pytest.mark.sqlite_only
def test_migration_moves_the_answer_rows_of_drafts_into_their_documents(store):
    final = save(store, answers(a="yes"), person="P-1")
    draft = save(store, answers(), status="draft", person="P-2")
    # the layout before m003: a draft's answers as rows, no document column
    with store.write():
        store.conn.execute("ALTER TABLE assessments DROP COLUMN draft_answers")
        store.conn.executemany(
            "INSERT INTO answers (assessment_id, item_id, value, comment, source)"
            " VALUES (?, ?, ?, ?, ?)",
            [(draft, "toy.a", '"yes"', "a comment", None),
             (draft, "toy.a.what", '["one", "two"]', None, "a source"),
             (draft, "toy.b", '"dont_know"', None, None)])
    values = store.all("SELECT * FROM score_values ORDER BY score_id, kind, name")
    as_release_0_1(store, missing="m003_draft_answers")
    assert " IN (" in store.one("SELECT sql FROM sqlite_master WHERE name = 'score_values'"
                                )["sql"]
    assert store.migrate() == ["formsengine:m003_draft_answers", "core:core_0002",
                               "core:core_0003", "core:core_0004", "core:core_0007",
                               "core:core_0009", "core:core_0005",
                               "core:core_0008", "core:core_0010", "core:core_0011",
                               "core:core_0012"]
    assert store.all("SELECT version_num FROM alembic_version ORDER BY 1") == [
        {"version_num": "core_0012"}, {"version_num": "web_0001"}]
    row = store.get_assessment(draft)
    assert row["answers"] == {"toy.a": "yes", "toy.a.what": ["one", "two"],
                              "toy.b": "dont_know"}
    assert row["comments"] == {"toy.a": "a comment"}
    assert row["sources"] == {"toy.a.what": "a source"}
    assert store.one("SELECT COUNT(*) AS n FROM answers WHERE assessment_id = ?",
                     [draft])["n"] == 0
    assert store.get_assessment(final)["answers"]["toy.a"] == "yes"  # finals keep their rows
    # core_0009 rebuilt score_values with its check as comparisons, every row kept
    assert values and store.all("SELECT * FROM score_values ORDER BY score_id, kind, name"
                                ) == values
    assert " IN (" not in store.one("SELECT sql FROM sqlite_master WHERE name = 'score_values'"
                                    )["sql"]


def test_saving_a_missing_assessment_is_a_clear_error(store):
    _, sub = store.engine.check(answers(a="yes"))
    with pytest.raises(StorageError, match="no assessment 999"):
        store.update_draft(999, sub, expected_revision=1, actor="u1")
    assert store.one("SELECT COUNT(*) AS n FROM audit WHERE action = 'update'")["n"] == 0


def test_closing_and_reopening_a_case(store):
    case = store.create_case("C-CLOSE1", opened_on="2025-01-06")
    with pytest.raises(StorageError, match="unknown reason"):
        store.close_case(case, closed_on="2025-02-01", reason="free text about someone")
    with pytest.raises(StorageError, match="is not closed"):
        store.reopen_case(case)
    store.close_case(case, closed_on="2025-02-01", reason="declined", actor="alice")
    with pytest.raises(StorageError, match="is not open"):
        store.close_case(case, closed_on="2025-02-02", reason="moved")
    row = store.one("SELECT status, closed_on, closed_reason FROM cases WHERE id = ?", [case])
    assert row == {"status": "closed", "closed_on": "2025-02-01", "closed_reason": "declined"}
    store.reopen_case(case, actor="alice")
    row = store.one("SELECT status, closed_on, closed_reason FROM cases WHERE id = ?", [case])
    assert row == {"status": "open", "closed_on": None, "closed_reason": None}
    actions = [r["action"] for r in store.all(
        "SELECT action FROM audit WHERE object_type = 'case' ORDER BY id")]
    assert actions == ["create", "close", "reopen"]


def test_a_case_takes_one_person_per_role(store):
    first = store.ensure_person("VS-ROLE1", "victim_survivor")
    case = store.create_case("C-ROLE1", people=[(first, "victim_survivor")])
    second = store.ensure_person("VS-ROLE2", "victim_survivor")
    with pytest.raises(StorageError, match="already has a victim_survivor"):
        store.add_case_person(case, second, "victim_survivor")
    su = store.ensure_person("SU-ROLE1", "service_user")
    store.add_case_person(case, su, "service_user", actor="alice")
    roles = [r["role"] for r in store.all(
        "SELECT role FROM case_people WHERE case_id = ? ORDER BY role", [case])]
    assert roles == ["service_user", "victim_survivor"]


def test_moving_a_case_to_another_team(store):
    a, b = store.ensure_team("Team A"), store.ensure_team("Team B")
    case = store.create_case("C-MOVE1", team_id=a)
    for team, message in ((a, "already in team"), (9999, "no team 9999")):
        with pytest.raises(StorageError, match=message):
            store.move_case(case, team)
    with pytest.raises(StorageError, match="no case 9999"):
        store.move_case(9999, b)
    assert store.one("SELECT COUNT(*) AS n FROM audit WHERE action = 'move'")["n"] == 0
    assert store.move_case(case, b, actor="sam") == a
    assert store.one("SELECT team_id FROM cases WHERE id = ?", [case])["team_id"] == b
    row = store.one("SELECT actor, details FROM audit WHERE action = 'move'")
    assert row["actor"] == "sam"
    assert json.loads(row["details"]) == {"from_team": a, "to_team": b}


def test_finalise_locks_the_judgement_given_in_the_same_statement(store):
    aid = save(store, answers(a="yes"), status="draft")
    saved = {"level": "medium", "reason": "saved earlier", "by": "u1"}
    data = answers(a="yes")
    data["judgement"] = saved
    _, sub = store.engine.check(data)
    store.update_draft(aid, sub, expected_revision=1, actor="u1", judgement_before=None)
    update = json.loads(store.one("SELECT details FROM audit WHERE action = 'update'")["details"])
    assert update["judgement"] == {"from": None, "to": "medium", "reason_changed": True}
    given = {"level": "high", "reason": "typed at finalising", "by": "u2"}
    with pytest.raises(StaleEditError):  # not the revision checked: nothing of it stored
        store.finalise(aid, expected_revision=1, actor="u2", judgement=given)
    assert store.get_assessment(aid)["judgement"] == saved
    result = store.finalise(aid, expected_revision=2, actor="u2", judgement=given)
    assert result["level"]["judged"] == "high" and result["level"]["final"] == "high"
    row = store.get_assessment(aid)
    assert row["judgement"] == given and row["status"] == "final"
    lock = json.loads(store.one("SELECT details FROM audit WHERE action = 'lock'")["details"])
    assert lock == {"judgement": {"from": "medium", "to": "high", "reason_changed": True}}


def test_finalise_with_no_judgement_removes_a_saved_one(store):
    data = answers(a="yes")
    data["judgement"] = {"level": "high", "reason": "saved", "by": "u1"}
    aid = save(store, data, status="draft")
    result = store.finalise(aid, expected_revision=1, actor="u1", judgement=None)
    assert result["level"]["judged"] is None
    assert store.get_assessment(aid)["judgement"] is None


def test_uids_never_begin_with_a_dash_which_the_command_line_reads_as_an_option():
    from formsengine.store import new_uid

    uids = [new_uid() for _ in range(3000)]  # about 47 would begin with "-" by chance
    assert not [u for u in uids if u.startswith("-")]
    assert len(set(uids)) == len(uids) and all(len(u) == 16 for u in uids)


def test_uids_made_in_bulk_are_like_those_made_one_at_a_time():
    import re

    from formsengine.store import new_uids

    uids = new_uids(3000)  # about 47 would begin with "-" by chance
    assert len(uids) == 3000 and new_uids(0) == [] and len(new_uids(1)) == 1
    assert not [u for u in uids if u.startswith("-")]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", u) for u in uids)
    assert set(new_uids(3000)).isdisjoint(uids)


def _open_lock_files() -> set[str]:
    """The lock files this process has open (a mapped one shows twice: mmap keeps a copy of
    its descriptor)."""
    import os

    names = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            names.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # (the directory's own descriptor, closed meanwhile)
            continue
    return {n for n in names if n.endswith(store_mod.LOCK_SUFFIX)}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")
def test_a_closed_database_leaves_no_lock_file_open(engine, tmp_path):
    """The lock file stays open while a store of the process uses the database, and is
    closed with the last one: a process opening many databases in turn keeps none open."""
    before = _open_lock_files()
    for i in range(5):
        with Store.open(tmp_path / f"m{i}.db", engine, create=True) as s:
            s.audit("one", actor="test")
            with Store.open(tmp_path / f"m{i}.db", engine) as again:  # the same file
                again.audit("two", actor="test")
            assert _open_lock_files() - before == {s.file + store_mod.LOCK_SUFFIX}
            s.audit("three", actor="test")
    assert _open_lock_files() == before
