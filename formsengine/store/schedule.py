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
written. Opening the store compares them with the configuration's (``sync``), instrument by
instrument: the offsets and entries of an installed instrument whose offsets differ are
replaced, in one transaction; those of instruments this process has not installed are
kept as stored (another process with other plugins wrote them). ``formsengine schedule
rebuild`` rebuilds every entry on demand (audited).

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
def final_exists(dialect: str, case_id: str, instrument_id: str, occasion: str, *,
                 each: bool = True) -> str:
    """Whether the case has a final assessment of the instrument at the occasion (each given
    as an expression), looked up through the case index: a case has a few assessments. The
    databases have no statistics, and by the number of equalities alone both planners would
    rather take ``assessments_counts`` (status, instrument, occasion), reading every final
    assessment of that occasion in the database for each case: setting the opening date of
    each case of 100,000 assessments did not finish in 25 minutes (core_0011).

    ``each``: looked up for each row even where PostgreSQL expects many (a trigger's rows of
    one case); without it PostgreSQL may read every final assessment once, into a hash (the
    better plan for a rebuild of every case's entries)."""
    from .sql import no_index, read_through, row_by_row

    source = read_through(dialect, "assessments a", "assessments_case")
    return (f"EXISTS (SELECT 1 FROM {source} WHERE a.case_id = {case_id}"  # nosec B608 (fixed SQL: names written here)
            f" AND a.instrument_id = {instrument_id} AND a.occasion = {occasion}"
            f" AND {no_index(dialect, 'a.status')} = 'final'"
            f"{row_by_row(dialect) if each else ''})")


def entries_select(dialect: str, case_filter: str, *, one_case: bool = True) -> str:
    """The schedule entries of the cases matching ``case_filter`` (a condition on ``c``),
    as the columns of ``schedule_entries`` in order. ``one_case``: the filter picks one case
    (the triggers'); False for many (a rebuild: see ``final_exists``)."""
    from .sql import json_array_items

    due = offset_date(dialect, "c.opened_on", "o.unit", "o.n")
    done = final_exists(dialect, "c.id", "o.instrument_id", "o.occasion", each=one_case)
    return (
        "SELECT case_id, instrument_id, occasion, team_id, due, done FROM ("  # nosec B608 (fixed SQL: names written here)
        "SELECT DISTINCT c.id AS case_id, o.instrument_id, o.occasion, c.team_id,"
        f" {due} AS due,"
        f" CASE WHEN {done}"
        " THEN 1 ELSE 0 END AS done"
        f" FROM cases c JOIN {json_array_items(dialect, 'c.instruments', 'ji')} ON 1 = 1"
        " JOIN schedule_offsets o ON o.instrument_id = ji.value"
        f" WHERE c.status = 'open' AND c.opened_on IS NOT NULL AND {case_filter}) e"
        " WHERE due IS NOT NULL")


def done_update(dialect: str, case_id: str, instrument_id: str, occasion: str) -> str:
    """Set ``done`` again for one entry (given as expressions, e.g. ``NEW.case_id``)."""
    final = final_exists(dialect, "schedule_entries.case_id", "schedule_entries.instrument_id",
                         "schedule_entries.occasion")
    return (
        f"UPDATE schedule_entries SET done = CASE WHEN {final}"  # nosec B608 (fixed SQL: names written here)
        f" THEN 1 ELSE 0 END WHERE case_id = {case_id} AND instrument_id = {instrument_id}"
        f" AND occasion = {occasion}")


INSERT = ("INSERT INTO schedule_entries (case_id, instrument_id, occasion, team_id, due, done) ")


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep ``schedule_entries``."""
    d = "sqlite"
    rows = INSERT + entries_select(d, "c.id = NEW.id")
    return [
        f"CREATE TRIGGER schedule_case_insert AFTER INSERT ON cases BEGIN {rows}; END",
        "CREATE TRIGGER schedule_case_update AFTER UPDATE OF instruments, opened_on, status,"  # nosec B608 (fixed SQL: names written here)
        " team_id ON cases BEGIN DELETE FROM schedule_entries WHERE case_id = OLD.id;"
        f" {rows}; END",
        "CREATE TRIGGER schedule_case_delete AFTER DELETE ON cases BEGIN"
        " DELETE FROM schedule_entries WHERE case_id = OLD.id; END",
        "CREATE TRIGGER schedule_assessment_insert AFTER INSERT ON assessments"
        " WHEN NEW.case_id IS NOT NULL AND NEW.status = 'final' BEGIN"
        f" {done_update(d, 'NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')}; END",
        "CREATE TRIGGER schedule_assessment_update AFTER UPDATE OF status, case_id,"
        " instrument_id, occasion ON assessments BEGIN"
        f" {done_update(d, 'OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')};"
        f" {done_update(d, 'NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')}; END",
        "CREATE TRIGGER schedule_assessment_delete AFTER DELETE ON assessments BEGIN"
        f" {done_update(d, 'OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')}; END",
    ]


def postgres_triggers() -> list[str]:
    """The same rules in PL/pgSQL."""
    d = "postgresql"
    rows = INSERT + entries_select(d, "c.id = NEW.id")
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
        {done_update(d, 'OLD.case_id', 'OLD.instrument_id', 'OLD.occasion')};
      END IF;
      IF TG_OP <> 'DELETE' THEN
        {done_update(d, 'NEW.case_id', 'NEW.instrument_id', 'NEW.occasion')};
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


def installed_instruments(engine: Engine) -> set[str]:
    """The ids of the instruments this process has installed (whether scheduled or not)."""
    return {inst.id for inst in engine.instruments if not inst.retired}


def _of(offsets: list[Offset], instruments: set[str]) -> list[Offset]:
    return sorted(o for o in offsets if o[0] in instruments)


def rebuild(store: Store, offsets: list[Offset] | None = None, *, actor: str | None = None,
            reason: str = "requested", instruments: set[str] | None = None,
            keep_not_installed: bool = True) -> int:
    """Replace the stored offsets and write the entries again, in one transaction; audited
    when ``actor`` is given. Returns the number of entries written.

    ``instruments``: only these instruments' offsets and entries are replaced (the others'
    are left as they are); by default all of them. ``offsets`` by default are the
    configuration's; with ``keep_not_installed`` (the default) the stored offsets of
    instruments this process has not installed are kept, with their entries, so that a
    process with fewer plugins does not take away the schedule of another's instruments."""
    from .sql import in_list, serialise_on

    wanted = sorted(set(offsets if offsets is not None else configured_offsets(store.engine)))
    for _inst, _occ, unit, n in wanted:
        if unit not in ("months", "weeks") or not isinstance(n, int) or n < 0:
            raise ValueError(f"not an offset: {unit} {n!r}")
    with store.write():
        serialise_on(store.conn, "schedule")
        before = stored_offsets(store)
        if instruments is None and offsets is None and keep_not_installed:
            kept = {o[0] for o in before} - installed_instruments(store.engine)
            wanted = sorted(set(wanted) | set(_of(before, kept)))
        if instruments is None:
            store.conn.execute("DELETE FROM schedule_offsets")
            store.conn.execute("DELETE FROM schedule_entries")
            which, params = "1 = 1", []  # type: tuple[str, list[Any]]
        else:
            wanted = _of(wanted, instruments)
            marks, params = in_list(sorted(instruments))
            store.conn.execute(f"DELETE FROM schedule_offsets WHERE instrument_id IN {marks}",  # nosec B608 (placeholders only)
                               params)
            store.conn.execute(f"DELETE FROM schedule_entries WHERE instrument_id IN {marks}",  # nosec B608 (placeholders only)
                               params)
            which = f"o.instrument_id IN {marks}"
        for row in wanted:
            store.conn.execute("INSERT INTO schedule_offsets (instrument_id, occasion, unit, n)"
                               " VALUES (?, ?, ?, ?)", list(row))
        written = int(store.conn.execute(  # nosec B608 (fixed SQL and placeholders)
            INSERT + entries_select(store.dialect, which, one_case=False), params).rowcount)
        if actor is not None:
            details: dict[str, Any] = {
                "reason": reason, "entries": written,
                "offsets_before": offsets_hash(before),
                "offsets": offsets_hash(stored_offsets(store))}
            if instruments is not None:
                details["instruments"] = sorted(instruments)
            store.audit(REBUILD_ACTION, actor=actor, object_type="schedule", details=details)
    return written


def stale_instruments(store: Store) -> tuple[set[str], set[str]]:
    """(installed instruments whose configured offsets are not the stored ones, stored
    instruments this process has not installed)."""
    installed = installed_instruments(store.engine)
    wanted = configured_offsets(store.engine)
    before = stored_offsets(store)
    changed = {i for i in installed if _of(wanted, {i}) != _of(before, {i})}
    return changed, {o[0] for o in before} - installed


def sync(store: Store) -> bool:
    """On opening the store: rewrite the offsets and entries of the installed instruments
    whose configured offsets are not the stored ones (only theirs); True if it did. The
    offsets and entries of instruments this process has not installed are left as another
    process wrote them (two processes with different plugins would otherwise rebuild every
    entry in turn, each taking away the other's instruments), with a warning. The first fill
    of a new database is not audited; a change of offsets is."""
    from ..plugins import warn_once

    if not has_schedule(store):
        return False
    changed, foreign = stale_instruments(store)
    if foreign:
        warn_once("warning: the stored schedule has entries of instrument(s) not installed "
                  f"here: {', '.join(sorted(foreign))}; kept as stored (formsengine schedule "
                  "rebuild --drop-not-installed removes them)")
    if not changed:
        return False
    from .sql import serialise_on

    # Looked at again inside the write, one process at a time: another process opening a
    # new database at the same moment may have filled the schedule meanwhile (its first
    # fill is then not this one's change of offsets).
    with store.write():
        serialise_on(store.conn, "schedule")
        changed, _foreign = stale_instruments(store)
        if not changed:
            return False
        first = not stored_offsets(store)
        if not first:
            warn_once("warning: the configured occasion offsets of "
                      f"{', '.join(sorted(changed))} are not the stored ones: their schedule "
                      "entries are written again")
        rebuild(store, configured_offsets(store.engine), instruments=changed,
                actor=None if first else "system",
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
