"""The stored counts of final assessments the researcher's page shows: for each instrument and
occasion, the number of people with at least one final assessment.

Counting them at each request read every final assessment of the database. Two tables keep
the answer instead, written by the database itself (triggers on SQLite, PL/pgSQL on
PostgreSQL) whenever an assessment is stored, finalised, amended, superseded, deleted or
erased, or changes person, instrument or occasion:

* ``final_people``: one row per person, instrument and occasion with a final assessment,
  with how many final assessments that is (``assessments``);
* ``final_counts``: one row per instrument and occasion with a final assessment, with the
  number of such people (``people``: the rows of ``final_people`` for it).

Every change is a step of one up or one down on a row's counter, whatever other rows the
same statement changes, so the rule holds on PostgreSQL too, where a statement's row
triggers run after all of its rows are written. A row whose counter reaches 0 is deleted.

A bulk path that writes assessments without these triggers calls ``refresh_counts_for``
for the instruments it wrote, in its own transaction: it counts those instruments' rows
again set-wise. ``formsengine counts rebuild`` does it for every instrument (audited).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .sql import in_list

if TYPE_CHECKING:
    from . import Store

REBUILD_ACTION = "counts_rebuild"

# the person, instrument and occasion of the old row (``OLD``) or the new one (``NEW``)
_PERSON = ("final_people.instrument_id = {r}.instrument_id AND final_people.occasion ="
           " {r}.occasion AND final_people.person_id = {r}.person_id")
_KEY = "final_counts.instrument_id = {r}.instrument_id AND final_counts.occasion = {r}.occasion"


def added(row: str = "NEW") -> list[str]:
    """The statements that count one more final assessment, ``row`` (``NEW``)."""
    return [
        "INSERT INTO final_people (instrument_id, occasion, person_id, assessments)"  # nosec B608 (fixed SQL: names written here)
        f" VALUES ({row}.instrument_id, {row}.occasion, {row}.person_id, 1)"
        " ON CONFLICT (instrument_id, occasion, person_id)"
        " DO UPDATE SET assessments = final_people.assessments + 1",
        # the person's first: one more person
        "INSERT INTO final_counts (instrument_id, occasion, people)"  # nosec B608 (fixed SQL: names written here)
        f" SELECT {row}.instrument_id, {row}.occasion, 1 WHERE (SELECT assessments"
        f" FROM final_people WHERE {_PERSON.format(r=row)}) = 1"
        " ON CONFLICT (instrument_id, occasion)"
        " DO UPDATE SET people = final_counts.people + 1",
    ]


def removed(row: str = "OLD") -> list[str]:
    """The statements that count one final assessment fewer, ``row`` (``OLD``)."""
    person, key = _PERSON.format(r=row), _KEY.format(r=row)
    return [
        f"UPDATE final_people SET assessments = assessments - 1 WHERE {person}",  # nosec B608 (fixed SQL)
        # the person's last: one person fewer
        f"UPDATE final_counts SET people = people - 1 WHERE {key} AND EXISTS"  # nosec B608 (fixed SQL)
        f" (SELECT 1 FROM final_people WHERE {person} AND assessments = 0)",
        f"DELETE FROM final_people WHERE {person} AND assessments = 0",  # nosec B608 (fixed SQL)
        f"DELETE FROM final_counts WHERE {key} AND people = 0",  # nosec B608 (fixed SQL)
    ]


# the columns whose change can move an assessment in or out of the counts
WATCHED = "status, person_id, instrument_id, occasion"


def sqlite_triggers() -> list[str]:
    """The SQLite triggers that keep ``final_people`` and ``final_counts``. (The two update
    triggers may run in either order: each is a step of one on a counter.)"""
    def body(statements: list[str]) -> str:
        return " ".join(s + ";" for s in statements)

    return [
        "CREATE TRIGGER final_counts_insert AFTER INSERT ON assessments"
        f" WHEN NEW.status = 'final' BEGIN {body(added())} END",
        f"CREATE TRIGGER final_counts_update_old AFTER UPDATE OF {WATCHED} ON assessments"
        f" WHEN OLD.status = 'final' BEGIN {body(removed())} END",
        f"CREATE TRIGGER final_counts_update_new AFTER UPDATE OF {WATCHED} ON assessments"
        f" WHEN NEW.status = 'final' BEGIN {body(added())} END",
        "CREATE TRIGGER final_counts_delete AFTER DELETE ON assessments"
        f" WHEN OLD.status = 'final' BEGIN {body(removed())} END",
    ]


def postgres_triggers() -> list[str]:
    """The same rules in PL/pgSQL: one row trigger for inserts, updates and deletes."""
    def body(statements: list[str]) -> str:
        return "".join(f"\n          {s};" for s in statements)

    return [
        "CREATE FUNCTION final_counts_assessment() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "    BEGIN\n"
        "      IF TG_OP <> 'INSERT' THEN\n"
        "        IF OLD.status = 'final' THEN"
        f"{body(removed())}\n"
        "        END IF;\n"
        "      END IF;\n"
        "      IF TG_OP <> 'DELETE' THEN\n"
        "        IF NEW.status = 'final' THEN"
        f"{body(added())}\n"
        "        END IF;\n"
        "      END IF;\n"
        "      RETURN NULL;\n"
        "    END $$",
        "CREATE TRIGGER final_counts_assessment AFTER INSERT OR DELETE\n"
        f"    OR UPDATE OF {WATCHED} ON assessments\n"
        "    FOR EACH ROW EXECUTE FUNCTION final_counts_assessment()",
    ]


def refresh_statements(instrument_filter: str) -> list[str]:
    """Count the final assessments of the instruments matching ``instrument_filter`` (a
    condition on ``instrument_id``) again, set-wise: the statements in order."""
    return [
        f"DELETE FROM final_people WHERE {instrument_filter}",  # nosec B608 (fixed SQL)
        "INSERT INTO final_people (instrument_id, occasion, person_id, assessments)"  # nosec B608 (fixed SQL)
        " SELECT instrument_id, occasion, person_id, COUNT(*) FROM assessments"
        f" WHERE status = 'final' AND {instrument_filter}"
        " GROUP BY instrument_id, occasion, person_id",
        f"DELETE FROM final_counts WHERE {instrument_filter}",  # nosec B608 (fixed SQL)
        "INSERT INTO final_counts (instrument_id, occasion, people)"  # nosec B608 (fixed SQL)
        " SELECT instrument_id, occasion, COUNT(*) FROM final_people"
        f" WHERE {instrument_filter} GROUP BY instrument_id, occasion",
    ]


def refresh_counts_for(store: Store, instrument_ids: Iterable[str] | None = None) -> None:
    """Count the final assessments of these instruments (or of all, with None) again from
    ``assessments``, in the caller's write transaction: for a bulk path that wrote rows
    without the triggers. The cost is that of the instruments' final assessments."""
    if instrument_ids is None:
        where, params = "1 = 1", []  # type: tuple[str, list[Any]]
    else:
        marks, params = in_list(sorted(set(instrument_ids)))
        where = f"instrument_id IN {marks}"
    for statement in refresh_statements(where):
        store.conn.execute(statement, params)


def rebuild(store: Store, *, actor: str | None = None) -> dict[str, int]:
    """Count every final assessment again, in one transaction; audited when ``actor`` is
    given. Returns the number of rows written (``counts``) and how many of them differed
    from the stored ones, or were missing or left over (``corrected``)."""
    with store.write():
        before = {(r["instrument_id"], r["occasion"]): r["people"] for r in stored(store)}
        refresh_counts_for(store, None)
        after = {(r["instrument_id"], r["occasion"]): r["people"] for r in stored(store)}
        corrected = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        if actor is not None:
            store.audit(REBUILD_ACTION, actor=actor, object_type="final_counts",
                        details={"counts": len(after), "corrected": corrected})
    return {"counts": len(after), "corrected": corrected}


def stored(store: Store) -> list[dict[str, Any]]:
    """The stored counts: instrument_id, occasion and ``people``, sorted."""
    return store.all("SELECT instrument_id, occasion, people FROM final_counts"
                     " ORDER BY instrument_id, occasion")


def counted(store: Store) -> list[dict[str, Any]]:
    """The same counted from ``assessments`` (reads every final assessment: for checks)."""
    return store.all(
        "SELECT instrument_id, occasion, COUNT(DISTINCT person_id) AS people FROM assessments"
        " WHERE status = 'final' GROUP BY instrument_id, occasion"
        " ORDER BY instrument_id, occasion")
