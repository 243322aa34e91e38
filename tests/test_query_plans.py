"""Every list page reads cases, assessments and the audit trail through an index.

Each page is requested through the Flask test client against a database with some rows;
every SELECT it sends is captured from the connection (``set_trace_callback``) and run
again under ``EXPLAIN QUERY PLAN``. A full scan of ``cases``, ``assessments``, ``audit``,
the ``view_log`` or the stored schedule fails the test: its cost would grow with every row
stored, not with the rows shown.

One kind of scan is allowed: reading a table in its row-id order, newest first, up to a
``LIMIT``, with no condition at all (the audit page's first page, the audit chain's last
row). It stops after the rows it returns; the plan shows it as ``SCAN audit`` with no
sorting step. With a condition the same plan would read every row that does not match."""

from __future__ import annotations

import re
from typing import Any

import pytest

from formsengine.web import create_app

from .web.conftest import FAST_HASH, complete, create_case, login, make_user, post, start_assessment

WATCHED = ("cases", "assessments", "audit", "view_log", "schedule_entries")
# a table walked from end to end, by its rows or by an index's entries
FULL_SCAN = re.compile(r"^SCAN (\w+)\b")
NAMED = re.compile(r"\b(?:FROM|JOIN)\s+(cases|assessments|audit|view_log|schedule_entries)\b"
                   r"(?:\s+(?:AS\s+)?(\w+))?",
                   re.I)
NOT_ALIASES = {"where", "join", "left", "inner", "cross", "on", "order", "group", "limit",
               "using", "natural", "indexed", "not", "union", "having", "window"}
NEWEST_FIRST = re.compile(r"ORDER BY (?:\w+\.)?id DESC\s+LIMIT", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store

    from .web.conftest import DEFINITIONS

    engine = Engine(Settings(definitions_dir=DEFINITIONS), load_entrypoints=False)
    app = create_app({"TESTING": True,
                      "DATABASE": str(tmp_path_factory.mktemp("plans") / "web.db"),
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
                      "ENGINE": engine, "PASSWORD_HASH": FAST_HASH})
    store = Store.open(app.config["DATABASE"], engine)
    make_user(store, "alice", teams=("Team A",))
    make_user(store, "bob", teams=("Team B",))
    make_user(store, "sue", role="supervisor", teams=("Team A",))
    make_user(store, "admin", role="administrator", teams=())
    make_user(store, "rita", role="researcher", teams=())
    store.close()
    clients = {}
    for name in ("alice", "bob", "sue", "admin", "rita"):
        clients[name] = app.test_client()
        assert login(clients[name], name).status_code == 302
    for name in ("alice", "bob"):  # cases in two teams, final assessments and drafts
        for n in range(3):
            case = create_case(clients[name])
            complete(clients[name], start_assessment(clients[name], case))
            if n:
                start_assessment(clients[name], case, occasion="review_3m")
    return app, clients


def captured(app, client, method, path, data=None) -> list[str]:
    """The SELECTs one request sends to the application's connection."""
    with app.app_context():
        from formsengine.web.db import get_store

        conn = get_store().conn  # this thread's connection, kept by the application
    sent: list[str] = []
    conn.set_trace_callback(sent.append)
    try:
        if method == "GET":
            response = client.get(path)
        else:
            response = post(client, path, data, token_from=path)
    finally:
        conn.set_trace_callback(None)
    assert response.status_code == 200, (path, response.status_code)
    return [s for s in sent if re.match(r"\s*(SELECT|WITH)\b", s, re.I)], conn


def watched_names(sql: str) -> set[str]:
    """The watched tables as the plan may name them: by name or by the query's alias."""
    names = set(WATCHED)
    for _table, alias in NAMED.findall(sql):
        if alias and alias.lower() not in NOT_ALIASES:
            names.add(alias)
    return names


def full_scans(conn, sql: str, params: list | tuple = ()) -> list[str]:
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    names = watched_names(sql)
    scans = []
    for line in plan:
        match = FULL_SCAN.match(line.strip())
        if not match or match.group(1) not in names:
            continue
        newest_first = (NEWEST_FIRST.search(sql) and not re.search(r"\bWHERE\b", sql, re.I)
                        and not any("TEMP B-TREE" in p for p in plan))
        if not newest_first:
            scans.append(line)
    return scans


# who asks, how, and a piece of the list's own query (so that it is known to be among those
# checked; the statements are captured with their values in place)
PAGES = [
    ("alice", "GET", "/", None, "c.status = 'open'"),
    ("alice", "GET", "/?show=all", None, "FROM cases c"),
    ("alice", "GET", "/due", None, "ca.user_id = "),
    ("sue", "GET", "/due?scope=team", None, "FROM schedule_entries e"),
    ("sue", "GET", "/", None, "c.status = 'open'"),
    ("rita", "GET", "/research", None, "FROM final_counts"),
    ("admin", "GET", "/admin/audit", None, "FROM audit ORDER BY id DESC LIMIT"),
    ("admin", "GET", "/admin/audit", None, "FROM view_log ORDER BY id DESC LIMIT"),
    ("admin", "GET", "/admin/audit?before=20", None, "id < "),
    ("admin", "GET", "/admin/audit?views_before=20", None, "FROM view_log WHERE id < "),
    ("admin", "POST", "/admin/audit", {"actor": "alice", "action": "view"},
     "FROM view_log WHERE actor = 'alice' AND action = 'view'"),
    ("admin", "POST", "/admin/audit", {"action": "list"}, "FROM view_log WHERE action = 'list'"),
    ("admin", "POST", "/admin/audit", {"actor": "alice"}, "actor = 'alice'"),
    ("admin", "POST", "/admin/audit", {"action": "view"}, "action = 'view'"),
    ("admin", "POST", "/admin/audit", {"actor": "alice", "action": "update"},
     "actor = 'alice' AND action = 'update'"),
    ("sue", "GET", "/caseload", None, "FROM cases c"),
    ("sue", "GET", "/caseload?sort=level", None, "FROM cases c"),
    ("sue", "GET", "/caseload?sort=last&show=marac", None, "FROM cases c"),
    ("sue", "GET", "/caseload?show=mine", None, "FROM cases c"),
    ("sue", "GET", "/?show=mine", None, "FROM cases c"),
]


@pytest.mark.parametrize(("who", "method", "path", "data", "query"), PAGES,
                         ids=[f"{w} {m} {p} {d or ''}" for w, m, p, d, _ in PAGES])
def test_list_page_reads_through_indexes(site, who, method, path, data, query):
    app, clients = site
    statements, conn = captured(app, clients[who], method, path, data)
    assert any(query in sql for sql in statements), statements
    problems = {sql: scans for sql in statements if (scans := full_scans(conn, sql))}
    assert problems == {}


def test_the_check_sees_a_full_scan(site):
    """The check itself: an unindexed filter is reported, a newest-first page is not."""
    app, _ = site
    with app.app_context():
        from formsengine.web.db import get_store

        conn = get_store().conn
    assert full_scans(conn, "SELECT id FROM audit WHERE details = '{}'") == ["SCAN audit"]
    assert full_scans(conn, "SELECT c.id FROM cases c WHERE c.schedule = '[]'") == ["SCAN c"]
    assert full_scans(conn, "SELECT k.id FROM cases AS k JOIN teams t ON t.id = k.team_id"
                      " WHERE k.schedule = '[]'") == ["SCAN k"]
    assert full_scans(conn, "SELECT COUNT(*) FROM assessments INDEXED BY assessments_case"
                      " WHERE assessment_date IS NULL") == [
                          "SCAN assessments USING INDEX assessments_case"]
    assert full_scans(conn, "SELECT id FROM audit ORDER BY id DESC LIMIT 5") == []
    assert full_scans(conn, "SELECT id FROM audit ORDER BY at DESC LIMIT 5") == ["SCAN audit"]
    assert full_scans(conn, "SELECT id FROM audit WHERE details = '{}' ORDER BY id DESC"
                      " LIMIT 5") == ["SCAN audit"]


def test_the_team_due_page_reads_the_schedule_index_in_due_order(site):
    """The team due page is one range of ``schedule_due`` per team, read in the order the
    page shows (no sorting step, which would read every entry of the team first)."""
    app, clients = site
    statements, conn = captured(app, clients["sue"], "GET", "/due?scope=team")
    due = [sql for sql in statements if "FROM schedule_entries e" in sql]
    assert len(due) == 1  # sue is in one team
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + due[0])]
    assert any(re.match(r"SEARCH e USING (COVERING )?INDEX schedule_due", p) for p in plan), plan
    assert not any("TEMP B-TREE" in p for p in plan), plan


ORDERED_LISTS = [("/", "c.status = 'open'", "cases_list_open"),
                 ("/?show=all", "ORDER BY COALESCE(c.opened_on, '')", "cases_list_all"),
                 ("/caseload", "ORDER BY c.ref", "cases_by_ref"),
                 ("/caseload?sort=level", "ORDER BY c.risk_order", "cases_risk")]


@pytest.mark.parametrize(("path", "query", "index"), ORDERED_LISTS,
                         ids=[p for p, _, _ in ORDERED_LISTS])
def test_a_team_list_page_reads_its_cases_in_the_order_shown(site, path, query, index):
    """A one-team supervisor's case list and caseload read the team's cases from an index in
    the order the page shows them and stop after a page: no sorting step, which would read
    and sort every case of the team first (core_0004)."""
    app, clients = site
    statements, conn = captured(app, clients["sue"], "GET", path)
    listed = [sql for sql in statements if query in sql and "LIMIT" in sql]
    assert listed, statements
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + listed[0])]
    assert any(re.match(rf"SEARCH c USING (COVERING )?INDEX {index}\b", p) for p in plan), plan
    assert not any("TEMP B-TREE" in p for p in plan), plan


@pytest.mark.parametrize("path", ["/", "/caseload"])
def test_the_schedule_marks_of_a_page_read_its_cases_assessments_only(site, path):
    """Which entries of the page's cases are done is read through the case index: through
    the status index it would read every final assessment of the database (98 ms at 100,000
    of them, for a page of 50 cases)."""
    app, clients = site
    statements, conn = captured(app, clients["sue"], "GET", path)
    done = [sql for sql in statements if "SELECT DISTINCT case_id, instrument_id, occasion"
            in sql]
    assert done, statements
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + done[0])]
    assert any("INDEX assessments_case " in p for p in plan), plan


def test_the_research_page_reads_the_stored_counts_only(site):
    """The researcher's counts come from ``final_counts`` (one row per instrument and
    occasion, kept by triggers: core_0008), not from the assessments: counted there, even
    through an index, they cost a read of every final assessment of the database."""
    app, clients = site
    statements, conn = captured(app, clients["rita"], "GET", "/research")
    counted = [sql for sql in statements if "FROM final_counts" in sql]
    assert len(counted) == 1, statements
    assert not [sql for sql in statements if re.search(r"\bassessments\b", sql)], statements
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + counted[0])]
    assert plan == ["SCAN final_counts"], plan  # in key order: no sorting step


def test_the_research_counts_read_no_assessment_on_postgresql(pg_store):
    """On PostgreSQL too the research counts read ``final_counts`` alone, however many
    final assessments there are."""
    from formsengine.store.counts import stored

    store = pg_store
    with store.write():
        store.conn.execute(
            "INSERT INTO people (ref, role, created_at) SELECT 'P-' || n, 'victim_survivor',"
            " 'now' FROM generate_series(1, 2000) AS n")
        store.conn.execute(
            "INSERT INTO assessments (uid, person_id, instrument_id, instrument_version,"
            " occasion, status, created_at, updated_at) SELECT 'a' || p.id, p.id,"
            " 'toy-checklist', '1', CASE WHEN p.id % 2 = 0 THEN 'intake' ELSE 'exit' END,"
            " 'final', 'now', 'now' FROM people p")
    store.conn.execute("ANALYZE assessments")
    sent: list[str] = []
    reader = store.all

    def recording(sql, params=()):
        sent.append(sql)
        return reader(sql, params)

    store.all = recording  # type: ignore[method-assign]
    try:
        rows = stored(store)
    finally:
        del store.all
    assert [(r["occasion"], r["people"]) for r in rows] == [("exit", 1000), ("intake", 1000)]
    (sql,) = sent
    plan = "\n".join(r["QUERY PLAN"] for r in store.all("EXPLAIN " + sql))
    assert "final_counts" in plan and "assessments" not in plan, plan


def test_the_due_lists_read_the_schedule_index_on_postgresql(pg_store):
    """On PostgreSQL, with statistics over 40,000 entries in 40 teams: the team due list
    reads ``schedule_due`` and each case by its key (no sequential scan).
    (PostgreSQL may still sort the team's entries due by then rather than read the index
    in order: fewer rows than the team's cases, but not a fixed number.)"""
    import datetime as dt

    from formsengine.store.lists import due_entries

    store = pg_store
    with store.write():
        store.conn.execute(
            "INSERT INTO cases (uid, ref, opened_on, created_at) SELECT 'u' || n, 'C-' || n,"
            " '2025-01-01', 'now' FROM generate_series(1, 40000) AS n")
        store.conn.execute(
            "INSERT INTO schedule_entries (case_id, instrument_id, occasion, team_id, due,"
            " done) SELECT n, 'toy-checklist', 'intake', n % 40, to_char(DATE '2025-01-01'"
            " + (n % 700), 'YYYY-MM-DD'), CASE WHEN n % 3 = 0 THEN 1 ELSE 0 END"
            " FROM generate_series(1, 40000) AS n")
    store.conn.execute("ANALYZE schedule_entries")
    store.conn.execute("ANALYZE cases")
    sent: list[tuple[str, list]] = []
    reader = store.all

    def recording(sql, params=()):
        sent.append((sql, list(params)))
        return reader(sql, params)

    store.all = recording  # type: ignore[method-assign]
    try:
        due_entries(store, [7], until=dt.date(2026, 1, 1), limit=50)
    finally:
        del store.all
    (sql, params), = [(s, p) for s, p in sent if "FROM schedule_entries e" in s]
    plan = "\n".join(r["QUERY PLAN"] for r in store.all("EXPLAIN " + sql, params))
    assert "schedule_due" in plan, plan
    assert "Seq Scan" not in plan, plan


# -- the triggers' statements ----------------------------------------------------------------
# A trigger runs for one row; what it reads must be that row's record(s), found by a key. A
# search of a watched table (or of the scores) through an index must name one of these
# columns: through an index on other columns only (the status index, say) it reads every
# row sharing that value, as the schedule's triggers did (core_0011).
KEYS = ("rowid", "id", "case_id", "person_id", "assessment_id", "supersedes_id")
SEARCH = re.compile(r"^SEARCH (\w+)(?: USING (?:COVERING |INTEGER PRIMARY KEY |PRIMARY KEY )?"
                    r"(?:INDEX (\w+) )?\((.*)\))?")


def trigger_statements(sql: str) -> list[str]:
    """The statements of a trigger (its ``WHEN`` condition as a SELECT, then each statement
    of its body), with each ``NEW.x`` and ``OLD.x`` a parameter (as the planner sees it:
    a value it does not know). A statement that only raises an error reads nothing."""
    import sqlite3

    begin = re.search(r"\bBEGIN\b", sql, re.I)
    assert begin, sql
    head, body = sql[:begin.start()], re.sub(r"\bEND\s*$", "", sql[begin.end():].strip(),
                                             flags=re.I)
    out = []
    when = re.search(r"\bWHEN\b(.*)$", head, re.I | re.S)
    if when:
        out.append("SELECT " + when.group(1))
    pending = ""
    for part in body.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" ;\n") and "RAISE(" not in pending:
                out.append(pending.strip())
            pending = ""
    return [re.sub(r"\b(?:NEW|OLD)\.\w+", "?", s) for s in out]


def unkeyed_reads(conn, sql: str) -> list[str]:
    """The plan's lines that read a watched table by a scan, or through an index without
    one of its keys."""
    params = [None] * sql.count("?")
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    names = watched_names(sql) | {"scores", "s", "s2"}
    bad = full_scans(conn, sql, params)
    for line in plan:
        match = SEARCH.match(line.strip())
        if not match or match.group(1) not in names:
            continue
        used = match.group(3) or ""
        if not any(re.search(rf"\b{key}=", used) for key in KEYS) and not (
                match.group(1) == "audit" and not used):  # (MAX(id): the last row)
            bad.append(line)
    return bad


def _triggers(conn) -> list[tuple[str, str]]:
    return conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                        " ORDER BY name").fetchall()


def test_every_trigger_reads_its_rows_by_a_key(site):
    """Every statement of every trigger of the database (the schedule's, the research
    counts', the risk order's, the audit's and the view log's) reads the watched tables by a
    key: no scan, and no search through an index of shared values alone (the schedule's
    triggers read every final assessment of an occasion through ``assessments_counts``)."""
    app, _ = site
    with app.app_context():
        from formsengine.web.db import get_store

        conn = get_store().conn
    triggers = _triggers(conn)
    assert {name for name, _ in triggers} >= {
        "schedule_case_insert", "schedule_case_update", "schedule_assessment_insert",
        "schedule_assessment_update", "schedule_assessment_delete", "final_counts_insert",
        "case_risk_status", "audit_insert_in_chain", "view_log_no_update"}
    problems = {}
    for name, sql in triggers:
        for statement in trigger_statements(sql):
            if bad := unkeyed_reads(conn, statement):
                problems[f"{name}: {statement[:80]}"] = bad
    assert problems == {}


def test_the_trigger_check_sees_a_read_of_shared_values(site):
    """The check itself, on core_0003's schedule trigger (as it was before core_0011) and on
    plain statements."""
    import importlib

    app, _ = site
    with app.app_context():
        from formsengine.web.db import get_store

        conn = get_store().conn
    before = importlib.import_module("formsengine.migrations.versions.core_0003_schedule")
    (old,) = [s for s in before.TRIGGERS_SQLITE if "schedule_assessment_insert" in s]
    (statement,) = [s for s in trigger_statements(old) if s.startswith("UPDATE")]
    assert unkeyed_reads(conn, statement) == [
        "SEARCH a USING INDEX assessments_counts (status=? AND instrument_id=? AND"
        " occasion=?)"]
    assert unkeyed_reads(conn, "SELECT 1 FROM assessments WHERE status = ?") != []
    assert unkeyed_reads(conn, "SELECT 1 FROM assessments WHERE case_id = ?") == []
    assert unkeyed_reads(conn, "DELETE FROM assessments WHERE id = ?") == []
    assert unkeyed_reads(conn, "SELECT 1 FROM audit WHERE details = ?") == ["SCAN audit"]
    assert trigger_statements(
        "CREATE TRIGGER t AFTER UPDATE ON cases WHEN NEW.status = 'x' BEGIN"
        " UPDATE cases SET ref = OLD.ref WHERE id = NEW.id; SELECT RAISE(ABORT, 'no'); END") == [
        "SELECT  ? = 'x' ", "UPDATE cases SET ref = ? WHERE id = ?;"]


def test_the_trigger_functions_read_the_case_index_on_postgresql(pg_store):
    """On PostgreSQL, without statistics, over 4,000 final assessments of one occasion: the
    statements of the schedule's trigger functions and of the risk order, planned as the
    functions run them (generic plans: the case a parameter), look up the case's own
    assessments through the case index, for each row. Written as core_0003 had them they
    read ``assessments_counts`` (every final assessment of the occasion), or read every final
    assessment once into a hash; the risk order intersected the case index with the status
    index."""
    from formsengine.store.schedule import done_update, entries_select
    from formsengine.store.triggers import CASE_RISK_ORDER

    store = pg_store
    with store.write():
        store.conn.execute(
            "INSERT INTO people (ref, role, created_at) VALUES ('P-1', 'victim_survivor', 'now')")
        store.conn.execute(
            "INSERT INTO cases (uid, ref, instruments, opened_on, created_at) SELECT 'u' || n,"
            " 'C-' || n, '[\"toy-checklist\"]', '2025-01-01', 'now'"
            " FROM generate_series(1, 4000) AS n")
        store.conn.execute(
            "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
            " instrument_version, occasion, status, created_at, updated_at) SELECT 'a' || id,"
            " (SELECT MIN(id) FROM people), id, 'toy-checklist', '1', 'intake', 'final', 'now',"
            " 'now' FROM cases")
    risk = CASE_RISK_ORDER.split("$$")[1].replace("case_risk_order.case_id", "$1")
    prepared = {
        "entries": ("(integer)", entries_select("postgresql", "c.id = $1"), "(7)"),
        "done": ("(integer, text, text)", done_update("postgresql", "$1", "$2", "$3"),
                 "(7, 'toy-checklist', 'intake')"),
        "risk order": ("(integer)", risk, "(7)"),
    }
    store.conn.execute("SET plan_cache_mode = force_generic_plan")
    plans = {}
    for name, (types, sql, values) in prepared.items():
        label = name.replace(" ", "_")
        store.conn.execute(f"PREPARE {label} {types} AS {sql}")
        plans[name] = "\n".join(r["QUERY PLAN"] for r in store.all(
            f"EXPLAIN EXECUTE {label} {values}"))
    for name, plan in plans.items():
        assert "assessments_case" in plan, (name, plan)
        assert "assessments_counts" not in plan, (name, plan)
        assert "hashed SubPlan" not in plan, (name, plan)
        assert "Seq Scan on assessments" not in plan, (name, plan)


# -- one case's or person's final assessments -------------------------------------------------
def _sent_by(store, calls) -> list[tuple[str, Any]]:
    """The statements (with their parameters) that ``calls`` send to the store's connection:
    SQLite's trace callback (values in place), or PostgreSQL's connection's ``execute``."""
    sent: list[tuple[str, Any]] = []
    if store.postgres:
        execute = store.conn.execute

        def recording(sql, params=()):
            sent.append((sql, params))
            return execute(sql, params)

        store.conn.execute = recording
        try:
            calls()
        finally:
            del store.conn.execute
    else:
        store.conn.set_trace_callback(lambda sql: sent.append((sql, [])))
        try:
            calls()
        finally:
            store.conn.set_trace_callback(None)
    return [(sql, params) for sql, params in sent if re.search(r"\bassessments\b", sql)
            and re.match(r"\s*(SELECT|WITH)\b", sql, re.I)]


def test_one_cases_or_persons_final_assessments_are_read_by_its_key(any_store):
    """Without statistics, over 3,000 final assessments: the store's lookups of one case's
    or one person's final assessments (the caseload's latest assessment and its sort by
    date, the command line's case list, a carried-forward field, a person's instruments for
    the report, the import's check of final occasions) read them through the case or person
    index. Through ``assessments_counts`` (status first) they read every final assessment:
    SQLite chose it for a person's instruments and the import's check, PostgreSQL beside the
    case index for the others."""
    from formsengine.store.importing import final_occasions
    from formsengine.store.reading import person_final_instruments

    store = any_store
    team = store.ensure_team("T")
    with store.write():
        numbers = ("generate_series(1, 3000) AS n(i)" if store.postgres else
                   "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                   " WHERE i < 3000) SELECT i FROM n) AS n")
        store.conn.execute("INSERT INTO people (ref, role, created_at) SELECT 'P-' || i,"
                           f" 'victim_survivor', 'now' FROM {numbers}")
        store.conn.execute("INSERT INTO cases (uid, ref, team_id, created_at) SELECT"
                           f" 'u-' || i, 'C-' || i, ?, 'now' FROM {numbers}", [team])
        store.conn.execute(
            "INSERT INTO assessments (uid, person_id, case_id, instrument_id,"
            " instrument_version, occasion, status, assessment_date, created_at, updated_at)"
            " SELECT 'a-' || c.id, p.id, c.id, 'toy-checklist', '1', 'intake', 'final',"
            " '2025-01-01', 'now', 'now' FROM cases c JOIN people p ON p.ref = 'P-' ||"
            " substr(c.ref, 3)")
    case = store.one("SELECT id FROM cases WHERE ref = 'C-7'")["id"]
    person = store.one("SELECT id FROM people WHERE ref = 'P-7'")["id"]

    def calls() -> None:
        store.caseload([team], sort="last", limit=5)
        store.caseload([team], sort="reference", limit=5)
        store.list_cases(limit=5)
        store.carried_field(case, "toy.a", 0)
        person_final_instruments(store, person)
        final_occasions(store, [person, person + 1])

    statements = _sent_by(store, calls)
    assert len(statements) >= 6, statements
    problems = {}
    for sql, params in statements:
        if store.postgres:
            plan = [r["QUERY PLAN"] for r in store.all("EXPLAIN " + sql, params)]
            # (not a sequential scan: PostgreSQL weighs one against the table's real size,
            # and at 3,000 rows may rightly read them all for a page's join)
            bad = [p for p in plan if "assessments_counts" in p]
        else:
            plan = [r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
            bad = [p for p in plan if "assessments_counts" in p
                   or re.match(r"SCAN (assessments|a)\b", p)]
        if bad:
            problems[sql[:120]] = bad
    assert problems == {}
