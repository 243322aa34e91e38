"""The stored schedule: one row in ``schedule_entries`` for each scheduled occasion of each
instrument an open case follows, with the team the case is in, the date it falls due and
whether an assessment of that instrument at that occasion is final.

The rows are kept by the database itself (triggers on SQLite, PL/pgSQL on PostgreSQL): a
case created, moved, closed, reopened, erased, or given other instruments or another
opening date rewrites its rows; an assessment finalised, amended, superseded, deleted or
erased sets its entry's ``done`` again. The due date is worked out in SQL from the offsets
in ``schedule_offsets`` (``sql.offset_date``: the month-end rule of ``add_months``, as
``Occasion.due_date`` has it).

``schedule_offsets`` holds the organisation's offsets as they were when the entries were
written. Opening the store compares them with the configuration's (``sync``); when they
differ, it replaces them and rebuilds every entry in one transaction. ``formsengine
schedule rebuild`` rebuilds them on demand (audited).

Only open cases with an opening date have entries (an entry of a case without one would
never fall due); an instrument that is not installed has no offsets, so no entries.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from .sql import offset_date

if TYPE_CHECKING:
    from ..engine import Engine
    from . import Store

# (instrument id, occasion id, unit "months" or "weeks", number)
Offset = tuple[str, str, str, int]

REBUILD_ACTION = "schedule_rebuild"


def configured_offsets(engine: Engine) -> list[Offset]:
    """Every scheduled occasion of every installed instrument (newest version: cases
    follow the newest), with the organisation's offset, sorted."""
    from ..occasions import AD_HOC

    out = []
    for inst in engine.instruments:
        if inst is not engine.instruments.get(inst.id):
            continue
        for occ in engine.occasions_for(inst):
            if occ.due is not None and occ.id != AD_HOC:
                out.append((inst.id, occ.id, occ.due[0], int(occ.due[1])))
    return sorted(set(out))


def offsets_hash(offsets: list[Offset]) -> str:
    """A short hash of a set of offsets (for the audit and the command line)."""
    text = json.dumps(sorted(offsets), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the SQL the triggers and the rebuild share ------------------------------------------------
def entries_select(dialect: str, case_filter: str) -> str:
    """The schedule entries of the cases matching ``case_filter`` (a condition on ``c``),
    as the columns of ``schedule_entries`` in order."""
    from .sql import json_array_items

    due = offset_date(dialect, "c.opened_on", "o.unit", "o.n")
    return (
        "SELECT case_id, instrument_id, occasion, team_id, due, done FROM ("  # nosec B608 (fixed SQL: names written here)
        "SELECT DISTINCT c.id AS case_id, o.instrument_id, o.occasion, c.team_id,"
        f" {due} AS due,"
        " CASE WHEN EXISTS (SELECT 1 FROM assessments a WHERE a.case_id = c.id"
        " AND a.instrument_id = o.instrument_id AND a.occasion = o.occasion"
        " AND a.status = 'final') THEN 1 ELSE 0 END AS done"
        f" FROM cases c JOIN {json_array_items(dialect, 'c.instruments', 'ji')} ON 1 = 1"
        " JOIN schedule_offsets o ON o.instrument_id = ji.value"
        f" WHERE c.status = 'open' AND c.opened_on IS NOT NULL AND {case_filter}) e"
        " WHERE due IS NOT NULL")


def done_update(case_id: str, instrument_id: str, occasion: str) -> str:
    """Set ``done`` again for one entry (given as expressions, e.g. ``NEW.case_id``)."""
    return (
        "UPDATE schedule_entries SET done = CASE WHEN EXISTS (SELECT 1 FROM assessments a"  # nosec B608 (fixed SQL: names written here)
        " WHERE a.case_id = schedule_entries.case_id"
        " AND a.instrument_id = schedule_entries.instrument_id"
        " AND a.occasion = schedule_entries.occasion AND a.status = 'final')"
        f" THEN 1 ELSE 0 END WHERE case_id = {case_id} AND instrument_id = {instrument_id}"
        f" AND occasion = {occasion}")


INSERT = ("INSERT INTO schedule_entries (case_id, instrument_id, occasion, team_id, due, done) ")


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep ``schedule_entries``."""
    rows = INSERT + entries_select("sqlite", "c.id = NEW.id")
    return [
        f"CREATE TRIGGER schedule_case_insert AFTER INSERT ON cases BEGIN {rows}; END",
        "CREATE TRIGGER schedule_case_update AFTER UPDATE OF instruments, opened_on, status,"  # nosec B608 (fixed SQL: names written here)
        " team_id ON cases BEGIN DELETE FROM schedule_entries WHERE case_id = OLD.id;"
        f" {rows}; END",
        "CREATE TRIGGER schedule_case_delete AFTER DELETE ON cases BEGIN"
        " DELETE FROM schedule_entries WHERE case_id = OLD.id; END",
        "CREATE TRIGGER schedule_assessment_insert AFTER INSERT ON assessments"
        " WHEN NEW.case_id IS NOT NULL AND NEW.status = 'final' BEGIN"
        f" {done_update('NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')}; END",
        "CREATE TRIGGER schedule_assessment_update AFTER UPDATE OF status, case_id,"
        " instrument_id, occasion ON assessments BEGIN"
        f" {done_update('OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')};"
        f" {done_update('NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')}; END",
        "CREATE TRIGGER schedule_assessment_delete AFTER DELETE ON assessments BEGIN"
        f" {done_update('OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')}; END",
    ]


def postgres_triggers() -> list[str]:
    """The same rules in PL/pgSQL."""
    rows = INSERT + entries_select("postgresql", "c.id = NEW.id")
    return [
        "CREATE FUNCTION schedule_case() RETURNS trigger LANGUAGE plpgsql AS $$\n"  # nosec B608 (fixed SQL)
        "    BEGIN\n"
        "      IF TG_OP <> 'INSERT' THEN\n"
        "        DELETE FROM schedule_entries WHERE case_id = OLD.id;\n"
        "      END IF;\n"
        "      IF TG_OP <> 'DELETE' THEN\n"
        f"        {rows};\n"
        "      END IF;\n"
        "      RETURN NULL;\n"
        "    END $$",
        """CREATE TRIGGER schedule_case AFTER INSERT OR DELETE
    OR UPDATE OF instruments, opened_on, status, team_id ON cases
    FOR EACH ROW EXECUTE FUNCTION schedule_case()""",
        f"""CREATE FUNCTION schedule_assessment() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' THEN
        {done_update('OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')};
      END IF;
      IF TG_OP <> 'DELETE' THEN
        {done_update('NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')};
      END IF;
      RETURN NULL;
    END $$""",
        """CREATE TRIGGER schedule_assessment AFTER INSERT OR DELETE
    OR UPDATE OF status, case_id, instrument_id, occasion ON assessments
    FOR EACH ROW EXECUTE FUNCTION schedule_assessment()""",
    ]


# -- keeping the offsets -----------------------------------------------------------------------
def stored_offsets(store: Store) -> list[Offset]:
    return sorted((r["instrument_id"], r["occasion"], r["unit"], int(r["n"])) for r in store.all(
        "SELECT instrument_id, occasion, unit, n FROM schedule_offsets"))


def has_schedule(store: Store) -> bool:
    from .sql import table_exists_sql

    return store.one(table_exists_sql(store.conn), ["schedule_offsets"]) is not None


def rebuild(store: Store, offsets: list[Offset] | None = None, *, actor: str | None = None,
            reason: str = "requested") -> int:
    """Replace the stored offsets (by default with the configuration's) and write every
    case's entries again, in one transaction; audited when ``actor`` is given. Returns the
    number of entries."""
    from .sql import serialise_on

    wanted = sorted(set(offsets if offsets is not None else configured_offsets(store.engine)))
    for _inst, _occ, unit, n in wanted:
        if unit not in ("months", "weeks") or not isinstance(n, int) or n < 0:
            raise ValueError(f"not an offset: {unit} {n!r}")
    with store.write():
        serialise_on(store.conn, "schedule")
        before = stored_offsets(store)
        store.conn.execute("DELETE FROM schedule_offsets")
        for row in wanted:
            store.conn.execute("INSERT INTO schedule_offsets (instrument_id, occasion, unit, n)"
                               " VALUES (?, ?, ?, ?)", list(row))
        store.conn.execute("DELETE FROM schedule_entries")
        store.conn.execute(INSERT + entries_select(store.dialect, "1 = 1"))  # nosec B608 (fixed SQL)
        count = store.one("SELECT COUNT(*) AS n FROM schedule_entries")
        total = int(count["n"]) if count else 0
        if actor is not None:
            store.audit(REBUILD_ACTION, actor=actor, object_type="schedule",
                        details={"reason": reason, "entries": total,
                                 "offsets_before": offsets_hash(before),
                                 "offsets": offsets_hash(wanted)})
    return total


def sync(store: Store) -> bool:
    """Rebuild the entries when the configuration's offsets are not the stored ones (on
    opening the store); True if it did. The first fill of a new database is not audited;
    a change of offsets is."""
    if not has_schedule(store):
        return False
    wanted = configured_offsets(store.engine)
    before = stored_offsets(store)
    if before == wanted:
        return False
    rebuild(store, wanted, actor="system" if before else None,
            reason="the configured occasion offsets changed")
    return True


def entries_of(store: Store, case_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The stored entries (of some cases, or all), sorted: for checks and tests."""
    from .sql import in_list

    where, params = "", []  # type: tuple[str, list[Any]]
    if case_ids is not None:
        marks, params = in_list(case_ids)
        where = f" WHERE case_id IN {marks}"
    return store.all("SELECT case_id, instrument_id, occasion, team_id, due, done"  # nosec B608
                     f" FROM schedule_entries{where}"
                     " ORDER BY case_id, instrument_id, occasion", params)
