"""What the research and item exports read, and nothing else.

Only final (current-version) assessments are read, each with its latest score row (the
highest ``seq``). From ``people`` only the reference (for the pseudonym), the role and the
birth year (for the age band) are read: names are never selected. Comments, sources and
free-text answers are not selected here either; ``assessment_fields`` reads the record of
an assessment's non-item fields, which the caller filters.

Large reads are streamed: the functions that may return millions of rows give them in
chunks of at most ``CHUNK`` rows as the caller consumes them (``sql.stream_rows``: on
PostgreSQL through a server-side cursor), so a caller can build compact arrays chunk by chunk
without holding every row as Python objects, and the database client never holds the whole
result either.

The coded reads (``coded_score_values``, ``coded_answers``) let the database give each
distinct text (kind and name of a result, item and value of an answer) a small number in a
temporary table, so that only numbers cross into Python per row (``sql.coded_temp_table``:
the same SQL on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .sql import chunks, coded_temp_table, drop_temp_table, marks, stream_rows

if TYPE_CHECKING:
    from . import Store

CHUNK = 250_000  # rows fetched at a time by the streaming reads (read when each starts)
ID_CHUNK = 900  # ids per IN (...) list
ASSESSMENT_DATE = "COALESCE(a.assessment_date, substr(a.created_at, 1, 10))"
LATEST_SCORE = ("s.assessment_id = a.id AND s.seq = "
                "(SELECT MAX(seq) FROM scores s2 WHERE s2.assessment_id = a.id)")
Rows = list[tuple[Any, ...]]


def _final_of(instruments: Sequence[str], occasions: Sequence[str] | None
              ) -> tuple[str, list[Any]]:
    """The condition (on ``a``) for the final assessments of these instruments (and these
    occasions, when given), with its parameters."""
    where = f"a.status = 'final' AND a.instrument_id IN ({marks(instruments)})"
    params: list[Any] = list(instruments)
    if occasions:
        where += f" AND a.occasion IN ({marks(occasions)})"
        params += list(occasions)
    return where, params


def exported_instruments(store: Store) -> list[str]:
    """The ids of the instruments that have at least one final assessment (in no order)."""
    return [r["instrument_id"] for r in store.all(
        "SELECT DISTINCT instrument_id FROM assessments WHERE status = 'final'")]


def final_assessment_rows(store: Store, instruments: Sequence[str],
                          occasions: Sequence[str] | None, size: int | None = None
                          ) -> Iterator[Rows]:
    """The final assessments of the instruments (at the occasions, when given) in chunks of
    rows: (assessment id, person id, instrument id, instrument version, occasion, date,
    wording, latest score id, complete). The date is the assessment date, or else the day
    the record was created."""
    where, params = _final_of(instruments, occasions)
    size = size or CHUNK
    yield from stream_rows(
        store.conn,
        "SELECT a.id, a.person_id, a.instrument_id, a.instrument_version, a.occasion,"  # nosec B608: constants and ? marks
        f" {ASSESSMENT_DATE}, a.wording, s.id, s.complete FROM assessments a"
        f" JOIN scores s ON {LATEST_SCORE} WHERE {where}", params, size)


@dataclass
class CodedScoreValues:
    """The latest score values of the chosen final assessments, (kind, name) coded."""

    store: Store
    where: str
    params: list[Any]
    size: int
    names: list[tuple[int, str, str]]  # (code, kind, name) of every (kind, name) stored

    def _read(self, column: str, text: bool) -> Iterator[Rows]:
        yield from stream_rows(
            self.store.conn,
            f"SELECT sv.score_id, n.code, sv.{column}"  # nosec B608: constants and ? marks
            " FROM score_values sv JOIN fe_export_names n ON n.kind = sv.kind"
            " AND n.name = sv.name JOIN scores s ON s.id = sv.score_id"
            f" JOIN assessments a ON {LATEST_SCORE} WHERE {self.where}"
            f" AND sv.value_text IS {'NOT ' if text else ''}NULL", self.params, self.size)

    def numbers(self) -> Iterator[Rows]:
        """Chunks of (score id, code, number) for the values that have no text."""
        return self._read("value_num", text=False)

    def texts(self) -> Iterator[Rows]:
        """Chunks of (score id, code, text) for the values that have text."""
        return self._read("value_text", text=True)


@contextmanager
def coded_score_values(store: Store, instruments: Sequence[str],
                       occasions: Sequence[str] | None,
                       size: int | None = None) -> Iterator[CodedScoreValues]:
    """The score values of the latest score of each final assessment of the instruments
    (at the occasions, when given), read inside the ``with`` block: every (kind, name) pair
    stored gets a code in a temporary table, dropped when the block ends."""
    where, params = _final_of(instruments, occasions)
    conn = store.conn
    coded_temp_table(conn, "fe_export_names", "SELECT DISTINCT kind, name FROM score_values")
    try:
        names = conn.execute("SELECT code, kind, name FROM fe_export_names").fetchall()
        yield CodedScoreValues(store, where, params, size or CHUNK, names)
    finally:
        drop_temp_table(conn, "fe_export_names")


def export_people(store: Store, person_ids: Sequence[int]) -> Rows:
    """(id, ref, role, birth_year) of each person named: never their names."""
    rows: Rows = []
    for part in chunks([int(x) for x in person_ids], ID_CHUNK):
        rows += store.conn.execute(
            f"SELECT id, ref, role, birth_year FROM people WHERE id IN ({marks(part)})",  # nosec B608: ? marks
            list(part)).fetchall()
    return rows


def first_final_dates(store: Store) -> dict[int, str]:
    """person id -> the date of the person's first final assessment of any instrument (the
    assessment date, or else the day the record was created)."""
    return dict(store.conn.execute(
        f"SELECT a.person_id, MIN({ASSESSMENT_DATE}) FROM assessments a"  # nosec B608: constant
        " WHERE a.status = 'final' GROUP BY a.person_id").fetchall())


@dataclass
class CodedAnswers:
    """The answers of one instrument's final assessments, (item, value) coded."""

    store: Store
    instrument: str
    size: int
    pairs: list[tuple[int, str, str]]  # (code, item id, value as JSON text)

    def rows(self) -> Iterator[Rows]:
        """Chunks of (assessment id, code) for the answers to the items asked for."""
        # (the join with the coded pairs keeps only the items asked for)
        yield from stream_rows(
            self.store.conn,
            "SELECT ans.assessment_id, v.code FROM answers ans"
            " JOIN assessments a ON a.id = ans.assessment_id"
            " JOIN fe_export_values v ON v.item_id = ans.item_id"
            " AND v.value = ans.value"
            " WHERE a.status = 'final' AND a.instrument_id = ?", [self.instrument], self.size)


@contextmanager
def coded_answers(store: Store, instrument: str, item_ids: Sequence[str],
                  size: int | None = None) -> Iterator[CodedAnswers]:
    """The answers to ``item_ids`` in the instrument's final assessments, read inside the
    ``with`` block: every distinct (item, value) pair gets a code in a temporary table,
    dropped when the block ends."""
    conn = store.conn
    coded_temp_table(conn, "fe_export_values",
                     "SELECT DISTINCT ans.item_id, ans.value"  # nosec B608: ? marks
                     " FROM answers ans JOIN assessments a ON a.id = ans.assessment_id"
                     " WHERE a.status = 'final' AND a.instrument_id = ?"
                     f" AND ans.item_id IN ({marks(item_ids)})", [instrument, *item_ids])
    try:
        pairs = conn.execute("SELECT code, item_id, value FROM fe_export_values").fetchall()
        yield CodedAnswers(store, instrument, size or CHUNK, pairs)
    finally:
        drop_temp_table(conn, "fe_export_values")


def carried_answers(store: Store, instrument: str, item_ids: Sequence[str]
                    ) -> list[tuple[int, str]]:
    """(assessment id, item id) of the answers to ``item_ids`` in the instrument's final
    assessments that were carried forward from an earlier assessment."""
    if not item_ids:
        return []
    return [(r[0], r[1]) for r in store.conn.execute(
        "SELECT ans.assessment_id, ans.item_id FROM answers ans"  # nosec B608: ? marks
        " JOIN assessments a ON a.id = ans.assessment_id"
        " WHERE a.status = 'final' AND a.instrument_id = ? AND ans.carried_from IS NOT NULL"
        f" AND ans.item_id IN ({marks(item_ids)})", [instrument, *item_ids]).fetchall()]


def assessment_fields(store: Store, assessment_ids: Sequence[int]
                      ) -> Iterator[tuple[int, str | None]]:
    """(assessment id, the record of its non-item fields as JSON text) for each id."""
    for part in chunks(list(assessment_ids), ID_CHUNK):
        yield from store.conn.execute(
            f"SELECT id, fields FROM assessments WHERE id IN ({marks(part)})",  # nosec B608: ? marks
            list(part))
