"""Read what a research export needs from the database, and nothing else.

Only final (current-version) assessments are read, each with its latest score row. From
``people`` only the reference (for the pseudonym), the role and the birth year (for the age
band) are read: names are never selected. Comments, sources and the answers to text items
are never selected either. (The non-item fields of an assessment are stored together as one
JSON record; ``items`` reads that record and keeps only fields that are neither text nor
marked identifying.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from .keys import ProjectKey
from .privacy import age_band

if TYPE_CHECKING:
    from ..store import Store

CHUNK = 250_000
ASSESSMENT_DATE = "COALESCE(a.assessment_date, substr(a.created_at, 1, 10))"
LATEST_SCORE = ("s.assessment_id = a.id AND s.seq = "
                "(SELECT MAX(seq) FROM scores s2 WHERE s2.assessment_id = a.id)")


@dataclass
class Collected:
    people: pd.DataFrame  # person_id, pid, role, age_band (index order = export order)
    assessments: pd.DataFrame  # one row per exported final assessment, sorted
    values: pd.DataFrame  # score_id, kind, name, value_num, value_text


def _placeholders(values: Iterable[Any]) -> str:
    return ", ".join("?" for _ in values)


def _numbers(values: np.ndarray) -> np.ndarray:
    """A fetched column: int64 when every value is a whole number, float64 when they are
    numbers (NULL as NaN), otherwise the objects themselves."""
    kind = infer_dtype(values, skipna=True)
    if kind == "integer" and not pd.isna(values).any():
        return values.astype(np.int64)
    if kind in ("integer", "floating", "mixed-integer-float", "empty"):
        return np.array(values.tolist(), dtype=np.float64)
    return values


def categorical(values: np.ndarray) -> pd.Categorical:
    """Text as a categorical whose categories stay plain Python objects (pandas would
    otherwise convert them to Arrow strings and back, element by element)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))


def read_frame(conn: Any, sql: str, params: list[Any], columns: list[str],
               categorical_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A query's rows as a DataFrame, fetched in chunks; the text columns named are stored
    as categoricals to keep memory small."""
    cursor = conn.execute(sql, params)
    chunks: list[np.ndarray] = []
    while True:
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            break
        chunks.append(np.array(rows, dtype=object).reshape(len(rows), len(columns)))
    table = (np.concatenate(chunks) if len(chunks) > 1 else chunks[0]) if chunks else \
        np.empty((0, len(columns)), dtype=object)
    data: dict[str, Any] = {}
    for j, name in enumerate(columns):
        column = table[:, j]
        if name in categorical_columns:
            data[name] = pd.Series(categorical(column), copy=False)
        else:
            array = _numbers(column)
            data[name] = pd.Series(array, dtype=array.dtype, copy=False)
    return pd.DataFrame(data, copy=False)


def collect(store: Store, key: ProjectKey, instruments: list[str], occasions: list[str] | None,
            progress: Callable[[str], None] = lambda _m: None) -> Collected:
    conn = store.conn
    params: list[Any] = list(instruments)
    where = f"a.status = 'final' AND a.instrument_id IN ({_placeholders(instruments)})"
    if occasions:
        where += f" AND a.occasion IN ({_placeholders(occasions)})"
        params += list(occasions)
    assessments = read_frame(
        conn,
        "SELECT a.id, a.person_id, a.instrument_id, a.instrument_version, a.occasion,"  # nosec B608: constants and ? marks
        f" {ASSESSMENT_DATE}, a.wording, s.id, s.complete FROM assessments a"
        f" JOIN scores s ON {LATEST_SCORE} WHERE {where}",
        params,
        ["assessment_id", "person_id", "instrument", "instrument_version", "occasion", "date",
         "wording", "score_id", "complete"],
        categorical_columns=("instrument", "instrument_version", "occasion", "wording"))
    progress(f"read {len(assessments)} final assessments")
    people = _people(store, key, assessments["person_id"].unique().tolist())
    assessments = _add_days(store, assessments, people)
    values = read_values(conn, where, params)
    progress(f"read {len(values)} score values")
    return Collected(people=people, assessments=assessments, values=values)


def read_values(conn: Any, where: str, params: list[Any]) -> pd.DataFrame:
    """Score values of the latest score of each assessment. (kind, name) pairs are coded by
    SQLite through a temporary table, and text is read only where there is text: far fewer
    Python objects than reading every row's kind, name and text."""
    conn.execute("DROP TABLE IF EXISTS temp.fe_export_names")
    conn.execute("CREATE TEMP TABLE fe_export_names AS SELECT DISTINCT kind, name"
                 " FROM score_values")
    try:
        names = conn.execute("SELECT rowid, kind, name FROM temp.fe_export_names").fetchall()
        join = ("FROM score_values sv JOIN temp.fe_export_names n ON n.kind = sv.kind"
                " AND n.name = sv.name JOIN scores s ON s.id = sv.score_id"
                f" JOIN assessments a ON {LATEST_SCORE} WHERE {where}")
        numbers = read_frame(conn, f"SELECT sv.score_id, n.rowid, sv.value_num {join}"
                             " AND sv.value_text IS NULL", params,
                             ["score_id", "code", "value_num"])
        texts = read_frame(conn, f"SELECT sv.score_id, n.rowid, sv.value_text {join}"
                           " AND sv.value_text IS NOT NULL", params,
                           ["score_id", "code", "value_text"], categorical_columns=("value_text",))
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.fe_export_names")
    rowids = np.array([r[0] for r in names] or [0], dtype=np.int64)
    position = np.zeros(int(rowids.max()) + 1, dtype=np.int64)
    position[rowids] = np.arange(len(rowids))
    code = position[np.concatenate([numbers["code"].to_numpy(dtype=np.int64),
                                    texts["code"].to_numpy(dtype=np.int64)])]
    kinds = sorted({r[1] for r in names})
    labels = sorted({r[2] for r in names})
    kind_of = np.array([kinds.index(r[1]) for r in names] or [0], dtype=np.int64)
    name_of = np.array([labels.index(r[2]) for r in names] or [0], dtype=np.int64)
    text_codes = np.concatenate([np.full(len(numbers), -1, dtype=np.int64),
                                 texts["value_text"].cat.codes.to_numpy(dtype=np.int64)])
    text_cats = pd.Index(texts["value_text"].cat.categories, dtype=object)
    return pd.DataFrame({
        "score_id": np.concatenate([numbers["score_id"].to_numpy(dtype=np.int64),
                                    texts["score_id"].to_numpy(dtype=np.int64)]),
        "kind": pd.Categorical.from_codes(kind_of[code], categories=pd.Index(kinds, dtype=object)),
        "name": pd.Categorical.from_codes(name_of[code],
                                          categories=pd.Index(labels, dtype=object)),
        "value_num": np.concatenate([numbers["value_num"].to_numpy(dtype=np.float64,
                                                                   na_value=np.nan),
                                     np.full(len(texts), np.nan)]),
        "value_text": pd.Categorical.from_codes(text_codes, categories=text_cats),
    }, copy=False)


def _people(store: Store, key: ProjectKey, person_ids: list[int]) -> pd.DataFrame:
    rows: list[tuple] = []
    for start in range(0, len(person_ids), 900):
        chunk = [int(x) for x in person_ids[start:start + 900]]
        rows += store.conn.execute(
            f"SELECT id, ref, role, birth_year FROM people WHERE id IN ({_placeholders(chunk)})",  # nosec B608
            chunk).fetchall()
    frame = pd.DataFrame.from_records(rows, columns=["person_id", "ref", "role", "birth_year"])
    frame["pid"] = [key.pseudonym(ref) for ref in frame["ref"]]
    frame = frame.drop(columns=["ref"]).sort_values("pid", kind="stable").reset_index(drop=True)
    return frame


def _add_days(store: Store, assessments: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Dates become days since the person's first final assessment (of any instrument); the
    age at that first assessment becomes an age band; the dates themselves are dropped."""
    first = dict(store.conn.execute(
        f"SELECT a.person_id, MIN({ASSESSMENT_DATE}) FROM assessments a"  # nosec B608: constant
        " WHERE a.status = 'final' GROUP BY a.person_id").fetchall())
    first_dates = pd.to_datetime(people["person_id"].map(first), errors="coerce")
    ages = [None if pd.isna(d) or pd.isna(b) else int(d.year - b)
            for d, b in zip(first_dates, people["birth_year"])]
    people["age_band"] = [age_band(a) for a in ages]
    del people["birth_year"]
    dates = pd.to_datetime(assessments["date"], errors="coerce")
    origin = pd.to_datetime(assessments["person_id"].map(first), errors="coerce")
    assessments["day"] = (dates - origin).dt.days.astype("Float64")
    assessments["origin"] = origin
    del assessments["date"]
    order = {pid: i for i, pid in enumerate(people["person_id"])}
    assessments["person_pos"] = assessments["person_id"].map(order).astype(np.int64)
    return assessments


def read_answers(store: Store, instrument: str, item_ids: list[str],
                 assessment_ids: np.ndarray) -> pd.DataFrame:
    """(assessment_id, item_id, raw JSON value) of the given items in one instrument's
    exported assessments, item and value as categoricals. SQLite codes each distinct
    (item, value) pair through a temporary table, so only the assessment id and a small code
    cross into Python per answer. Free-text items, comments and sources are not read."""
    conn = store.conn
    where = ("FROM answers ans JOIN assessments a ON a.id = ans.assessment_id"
             " WHERE a.status = 'final' AND a.instrument_id = ?"
             f" AND ans.item_id IN ({_placeholders(item_ids)})")
    conn.execute("DROP TABLE IF EXISTS temp.fe_export_values")
    conn.execute("CREATE TEMP TABLE fe_export_values AS"
                 f" SELECT DISTINCT ans.item_id, ans.value {where}",  # nosec B608: ? marks
                 [instrument, *item_ids])
    try:
        pairs = conn.execute("SELECT rowid, item_id, value FROM temp.fe_export_values"
                             ).fetchall()
        frame = read_frame(conn, "SELECT ans.assessment_id, v.rowid FROM answers ans"
                           " JOIN assessments a ON a.id = ans.assessment_id"
                           " JOIN temp.fe_export_values v ON v.item_id = ans.item_id"
                           " AND v.value = ans.value"
                           " WHERE a.status = 'final' AND a.instrument_id = ?",
                           [instrument], ["assessment_id", "code"])
        # (the join with the coded pairs keeps only the items asked for)
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.fe_export_values")
    rowids = np.array([p[0] for p in pairs] or [0], dtype=np.int64)
    position = np.zeros(int(rowids.max()) + 1, dtype=np.int64)
    position[rowids] = np.arange(len(rowids))
    code = position[frame["code"].to_numpy(dtype=np.int64)]
    items = sorted({p[1] for p in pairs})
    values = sorted({p[2] for p in pairs})
    item_rank = {v: i for i, v in enumerate(items)}
    value_rank = {v: i for i, v in enumerate(values)}
    item_of = np.array([item_rank[p[1]] for p in pairs] or [0], dtype=np.int64)
    value_of = np.array([value_rank[p[2]] for p in pairs] or [0], dtype=np.int64)
    out = pd.DataFrame({
        "assessment_id": frame["assessment_id"].to_numpy(dtype=np.int64),
        "item_id": pd.Categorical.from_codes(item_of[code],
                                             categories=pd.Index(items, dtype=object)),
        "value": pd.Categorical.from_codes(value_of[code],
                                           categories=pd.Index(values, dtype=object)),
    }, copy=False)
    return out[out["assessment_id"].isin(assessment_ids)]


def days_since(values: pd.Series, origin: pd.Series) -> pd.Series:
    """ISO dates as days since ``origin`` (the person's first assessment)."""
    dates = pd.to_datetime(values.where(values.map(lambda v: isinstance(v, str))),
                           errors="coerce", format="%Y-%m-%d")
    return (dates - origin).dt.days.astype("Float64")
