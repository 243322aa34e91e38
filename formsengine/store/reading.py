"""Reads of people, cases, assessments and their scores for the analyses, the change over
time of one person (``compare``), the printed reports and the FHIR representation.

"Latest score" means the score row with the highest ``seq`` of an assessment: rescoring
adds rows and keeps the earlier ones. Assessments are read in the order they were made:
their assessment date, or when it is missing the time the record was created, then id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import RESULT_CONFIGURATION, read_result

if TYPE_CHECKING:
    from . import Store

_IN_DATE_ORDER = " ORDER BY COALESCE(a.assessment_date, a.created_at), a.id"


# -- people and cases --------------------------------------------------------------------------
def person_by_id(store: Store, person_id: int) -> dict[str, Any] | None:
    """The person's ref, role and display_name, or None when there is no such person."""
    return store.one("SELECT ref, role, display_name FROM people WHERE id = ?", [person_id])


def assessment_id_by_uid(store: Store, uid: str) -> int | None:
    """The id of the assessment with this uid, or None."""
    row = store.one("SELECT id FROM assessments WHERE uid = ?", [uid])
    return None if row is None else int(row["id"])


def case_reference(store: Store, case_id: int) -> dict[str, Any] | None:
    """The case's uid and ref, or None when there is no such case."""
    return store.one("SELECT uid, ref FROM cases WHERE id = ?", [case_id])


def case_summary(store: Store, case_id: int) -> dict[str, Any] | None:
    """The case's id, uid, ref, opened_on, status, closed_on and schedule (JSON text, or
    None), or None when there is no such case."""
    return store.one("SELECT id, uid, ref, opened_on, status, closed_on, schedule FROM cases"
                     " WHERE id = ?", [case_id])


def case_people(store: Store, case_id: int) -> list[dict[str, Any]]:
    """The people of the case (id, ref, role, display_name), by role, then reference."""
    return store.all(
        "SELECT p.id, p.ref, p.role, p.display_name FROM case_people cp JOIN people p"
        " ON p.id = cp.person_id WHERE cp.case_id = ? ORDER BY p.role, p.ref", [case_id])


def person_final_instruments(store: Store, person_id: int) -> list[str]:
    """The ids of the instruments the person has a final assessment of, in order."""
    from .sql import no_index

    # by the person index: through the status index (what both planners chose, without
    # statistics) it read every final assessment of the database
    return [r["instrument_id"] for r in store.all(
        "SELECT DISTINCT instrument_id FROM assessments WHERE person_id = ?"  # nosec B608 (fixed SQL)
        f" AND {no_index(store.conn, 'status')} = 'final' ORDER BY instrument_id",
        [person_id])]


# -- one person's change over time ---------------------------------------------------------------
def final_history(store: Store, person_id: int, instrument_id: str) -> list[dict[str, Any]]:
    """The person's final assessments of the instrument with their latest score: id, uid,
    occasion, assessment_date, instrument_version and result (JSON text), by assessment
    date (those without one last), then creation time and id."""
    rows = store.all(
        "SELECT a.id, a.uid, a.occasion, a.assessment_date, a.instrument_version, s.result,"  # nosec B608: a code constant
        " s.config_name, sc.record FROM assessments a JOIN scores s ON s.assessment_id = a.id"
        " AND s.seq = (SELECT MAX(seq) FROM scores WHERE assessment_id = a.id) "
        + RESULT_CONFIGURATION
        + " WHERE a.person_id = ? AND a.instrument_id = ? AND a.status = 'final'"
        " ORDER BY a.assessment_date IS NULL, a.assessment_date, a.created_at, a.id",
        [person_id, instrument_id])
    for row in rows:
        name, record = row.pop("config_name"), row.pop("record")
        if record is not None:
            row["result"] = json.dumps(read_result(row["result"], name, record),
                                       ensure_ascii=False)
    return rows


# -- paired comparisons and grouping --------------------------------------------------------------
def final_assessments_at(store: Store, instrument_id: str,
                         occasion: str) -> list[dict[str, Any]]:
    """The final assessments (id, person_id) of the instrument at the occasion, in the order
    they were made: a person's latest comes last."""
    return store.all(
        "SELECT a.id, a.person_id FROM assessments a WHERE a.status = 'final'"  # nosec B608 (placeholders only)
        " AND a.instrument_id = ? AND a.occasion = ?" + _IN_DATE_ORDER,
        [instrument_id, occasion])


def final_answers_at(store: Store, instrument_id: str,
                     occasion: str) -> Iterator[tuple[int, str, str]]:
    """(assessment id, item id, answer as JSON text) of every final assessment of the
    instrument at the occasion, read as they are consumed."""
    yield from store.conn.execute(
        "SELECT ans.assessment_id, ans.item_id, ans.value FROM answers ans"
        " JOIN assessments a ON a.id = ans.assessment_id WHERE a.status = 'final'"
        " AND a.instrument_id = ? AND a.occasion = ?", [instrument_id, occasion])


def final_results_at(store: Store, instrument_id: str, occasion: str
                     ) -> Iterator[tuple[int, str, str, float | None, str | None]]:
    """(assessment id, kind, name, number, text) of the latest score of every final
    assessment of the instrument at the occasion, read as they are consumed."""
    yield from store.conn.execute(
        "SELECT s.assessment_id, sv.kind, sv.name, sv.value_num, sv.value_text"
        " FROM score_values sv JOIN scores s ON s.id = sv.score_id"
        " JOIN assessments a ON a.id = s.assessment_id AND s.seq = (SELECT MAX(seq)"
        " FROM scores s2 WHERE s2.assessment_id = a.id) WHERE a.status = 'final'"
        " AND a.instrument_id = ? AND a.occasion = ?", [instrument_id, occasion])


def final_answer_by_person(store: Store, instrument_id: str,
                           item_id: str) -> Iterator[tuple[int, str]]:
    """(person id, answer as JSON text) to one item in every final assessment of the
    instrument, in the order the assessments were made (a person's latest comes last)."""
    yield from store.conn.execute(
        "SELECT a.person_id, ans.value FROM assessments a JOIN answers ans"  # nosec B608 (placeholders only)
        " ON ans.assessment_id = a.id AND ans.item_id = ? WHERE a.status = 'final'"
        " AND a.instrument_id = ?" + _IN_DATE_ORDER, [item_id, instrument_id])


def final_score_by_person(store: Store, instrument_id: str,
                          score_id: str) -> Iterator[tuple[int, Any]]:
    """(person id, value) of one score in the latest score row of every final assessment
    of the instrument, the text when the score has one, otherwise the number, in the order
    the assessments were made (a person's latest comes last)."""
    for person_id, number, text in store.conn.execute(
        "SELECT a.person_id, sv.value_num, sv.value_text FROM assessments a"  # nosec B608 (placeholders only)
        " JOIN scores s ON s.assessment_id = a.id AND s.seq = (SELECT MAX(seq) FROM"
        " scores s2 WHERE s2.assessment_id = a.id) JOIN score_values sv ON"
        " sv.score_id = s.id AND sv.kind = 'score' AND sv.name = ?"
        " WHERE a.status = 'final' AND a.instrument_id = ?" + _IN_DATE_ORDER,
        [score_id, instrument_id]):
        yield person_id, number if text is None else text
