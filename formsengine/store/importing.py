"""Bulk import: the reads that check a chunk of imported lines against the database, and
the writes that store it.

The importer (``formsengine/importer.py``) reads, checks and scores the lines of a file and
calls these functions a chunk at a time, inside the one write transaction it holds for the
whole file (``with store.write():``): every function here that writes assumes it is called
inside that transaction and opens none of its own, so that a bad line anywhere still rolls
back every chunk written before it.

Reads are one statement per chunk (or per 500 references), never one per line. New rows get
their ids from the caller (who takes them with ``new_ids``), so that answers, scores and
score values can name their assessment and score without reading anything back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import ANSWER_COLUMNS, SCORE_VALUE_COLUMNS, insert_many
from . import add_configurations as keep_configurations
from .sql import chunks, in_list, new_ids_sql, no_index

if TYPE_CHECKING:
    from . import Store

ASSESSMENT_COLUMNS = (
    "id", "uid", "person_id", "case_id", "instrument_id", "instrument_version",
    "snapshot_id", "occasion", "assessment_date", "assessor", "status", "wording",
    "fields", "judgement", "created_at", "updated_at", "finalised_at", "draft_answers")
SCORE_COLUMNS = (
    "id", "assessment_id", "seq", "instrument_id", "instrument_version", "scorer_plugin",
    "scorer_version", "config_name", "config_hash", "complete", "level_final", "result",
    "created_at")

# The tables an import adds rows to with ids it chooses
_ID_TABLES = ("people", "cases", "assessments", "scores")


def new_ids(store: Store, table: str, n: int) -> list[int]:
    """``n`` new ids for rows of ``table`` (people, cases, assessments or scores), in
    increasing order: from the table's sequence on PostgreSQL (never given twice, even to
    concurrent imports), the ids after the largest on SQLite (inside the caller's write
    transaction, which keeps other writers out until the rows are written)."""
    if table not in _ID_TABLES:
        raise ValueError(f"no ids for {table!r}")
    if n <= 0:
        return []
    return [int(r[0]) for r in store.conn.execute(new_ids_sql(store.conn, table), [n])]


def known_people(store: Store, refs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The people among ``refs`` who are already stored: reference -> {id, role}."""
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(list(refs)):
        marks, params = in_list(part)
        for pid, ref, role in store.conn.execute(
                "SELECT id, ref, role FROM people WHERE ref IN " + marks, params):  # nosec B608 (placeholders and fixed column names only)
            found[ref] = {"id": pid, "role": role}
    return found


def case_ids(store: Store, refs: Sequence[str]) -> dict[str, int]:
    """The ids of the cases among ``refs`` that are already stored, by reference."""
    found: dict[str, int] = {}
    for part in chunks(list(refs)):
        marks, params = in_list(part)
        found.update((ref, cid) for cid, ref in store.conn.execute(
            "SELECT id, ref FROM cases WHERE ref IN " + marks, params))  # nosec B608 (placeholders and fixed column names only)
    return found


def final_occasions(store: Store, person_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """(person id, instrument id, occasion) of every final assessment of these people:
    what an imported final assessment may not repeat."""
    found: set[tuple[int, str, str]] = set()
    for part in chunks(sorted(set(person_ids))):
        marks, params = in_list(part)
        # by the person index: through the status index (what both planners chose, without
        # statistics) each chunk read every final assessment of the database
        found.update(store.conn.execute(
            "SELECT person_id, instrument_id, occasion FROM assessments"  # nosec B608 (placeholders and fixed column names only)
            f" WHERE {no_index(store.conn, 'status')} = 'final' AND person_id IN " + marks,
            params))
    return found


def add_people(store: Store, rows: Iterable[tuple[int, str, str | None, str]]
               ) -> dict[str, dict[str, Any]]:
    """Store new people: (id, ref, role, created_at) rows. Inside the caller's write.
    Returns the people among them that another writer stored meanwhile (reference ->
    {id, role} as stored): those rows are left out (``ON CONFLICT (ref) DO NOTHING``)."""
    rows = list(rows)
    insert_many(store.conn, "people", ("id", "ref", "role", "created_at"), rows,
                "ON CONFLICT (ref) DO NOTHING")
    stored = known_people(store, [r[1] for r in rows])
    return {r[1]: stored[r[1]] for r in rows if stored[r[1]]["id"] != r[0]}


def add_cases(store: Store, rows: Iterable[tuple[int, str, str, int | None, str, str]]
              ) -> dict[str, int]:
    """Store new cases: (id, uid, ref, team_id, schedule, created_at) rows. Inside the
    caller's write. Returns the cases among them that another writer stored meanwhile
    (reference -> stored id): those rows are left out."""
    rows = list(rows)
    insert_many(store.conn, "cases",
                ("id", "uid", "ref", "team_id", "schedule", "created_at"), rows,
                "ON CONFLICT (ref) DO NOTHING")
    stored = case_ids(store, [r[2] for r in rows])
    return {r[2]: stored[r[2]] for r in rows if stored[r[2]] != r[0]}


def link_case_people(store: Store, links: Iterable[tuple[int, int, str]]
                     ) -> list[tuple[int, int, str]]:
    """Link people to cases: (case_id, person_id, role) rows; a link that is already there
    stays as it is. Returns the links refused because the case has someone else in that
    role already (``UNIQUE (case_id, role)``). Inside the caller's write."""
    links = list(links)
    if not links:
        return []
    store.conn.executemany(
        "INSERT INTO case_people (case_id, person_id, role) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING", links)
    present: set[tuple[int, int]] = set()
    for part in chunks(sorted({case_id for case_id, _, _ in links})):
        marks, params = in_list(part)
        present.update(store.conn.execute(
            "SELECT case_id, person_id FROM case_people WHERE case_id IN " + marks,  # nosec B608 (placeholders and fixed column names only)
            params))
    return [link for link in links if (link[0], link[1]) not in present]


def add_assessments(store: Store, rows: Iterable[tuple]) -> None:
    """Store new assessments: rows in the order of ``ASSESSMENT_COLUMNS``. Inside the
    caller's write."""
    insert_many(store.conn, "assessments", ASSESSMENT_COLUMNS, rows)


def add_answers(store: Store, plain: list[tuple[int, str, str]],
                annotated: Iterable[tuple] = ()) -> None:
    """Store answer rows: ``plain`` (assessment_id, item_id, value) rows with no comment or
    source, in one ``executemany``, and ``annotated`` rows in the order of
    ``ANSWER_COLUMNS``. Inside the caller's write.

    Plain rows are the bulk of an import; taking them apart from the others spares a check
    of every row for missing columns."""
    if store.postgres and plain:
        insert_many(store.conn, "answers", ("assessment_id", "item_id", "value"), plain)
    elif plain:
        store.conn.executemany(
            "INSERT INTO answers (assessment_id, item_id, value) VALUES (?, ?, ?)", plain)
    insert_many(store.conn, "answers", ANSWER_COLUMNS, annotated)


def add_configurations(store: Store, records: dict[str, str]) -> None:
    """Keep the configuration records of a chunk's scores (hash -> record text), each
    once. Inside the caller's write."""
    keep_configurations(store.conn, records)


def add_scores(store: Store, rows: Iterable[tuple]) -> None:
    """Store new score rows in the order of ``SCORE_COLUMNS``. Inside the caller's write."""
    insert_many(store.conn, "scores", SCORE_COLUMNS, rows)


def add_score_values(store: Store, numbers: list[tuple], texts: list[tuple],
                     empty: list[tuple]) -> None:
    """Store score values as ``sort_score_values`` sorts them: (score_id, kind, name,
    number) rows, (score_id, kind, name, text) rows and (score_id, kind, name) rows, each
    list with one statement naming only its columns (no NULL bound). Inside the caller's
    write."""
    if store.postgres:
        insert_many(store.conn, "score_values", SCORE_VALUE_COLUMNS,
                    [*((*row, None) for row in numbers),
                     *((row[0], row[1], row[2], None, row[3]) for row in texts),
                     *((*row, None, None) for row in empty)])
        return
    names = ", ".join(SCORE_VALUE_COLUMNS[:3])
    if numbers:
        store.conn.executemany(
            "INSERT INTO score_values (" + names + ", value_num) VALUES (?, ?, ?, ?)", numbers)  # nosec B608 (placeholders and fixed column names only)
    if texts:
        store.conn.executemany(
            "INSERT INTO score_values (" + names + ", value_text) VALUES (?, ?, ?, ?)", texts)  # nosec B608 (placeholders and fixed column names only)
    if empty:
        store.conn.executemany(
            "INSERT INTO score_values (" + names + ") VALUES (?, ?, ?)", empty)  # nosec B608 (placeholders and fixed column names only)
