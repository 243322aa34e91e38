"""What a research export needs from the database, as compact DataFrames.

The reads themselves are in ``formsengine.store.exports``: only final (current-version)
assessments, each with its latest score row; from ``people`` only the reference (for the
pseudonym), the role and the birth year (for the age band), never names. Comments, sources
and the answers to text items are never read either. (The non-item fields of an assessment
are stored together as one JSON record; ``items`` reads that record and keeps only fields
that are neither text nor marked identifying.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from ..store.exports import (
    coded_answers,
    coded_score_values,
    export_people,
    final_assessment_rows,
    first_final_dates,
)
from .keys import ProjectKey
from .privacy import age_band

if TYPE_CHECKING:
    from ..store import Store

@dataclass
class Collected:
    people: pd.DataFrame  # person_id, pid, role, age_band (index order = export order)
    assessments: pd.DataFrame  # one row per exported final assessment, sorted
    values: pd.DataFrame  # score_id, kind, name, value_num, value_text


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


def read_frame(row_chunks: Iterable[Sequence[tuple]], columns: list[str],
               categorical_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows, given in chunks, as a DataFrame: each chunk's columns become compact arrays
    (numbers, categoricals for the text columns named) as the chunk arrives, so that the
    rows as Python objects are held one chunk at a time, never all at once."""
    parts: list[list[Any]] = [[] for _ in columns]
    for rows in row_chunks:
        table = np.array(rows, dtype=object).reshape(len(rows), len(columns))
        for j, name in enumerate(columns):
            column = table[:, j]
            parts[j].append(categorical(column) if name in categorical_columns
                            else _numbers(column))
        del table
    data: dict[str, Any] = {}
    for j, name in enumerate(columns):
        if name in categorical_columns:
            data[name] = pd.Series(_joined_categoricals(parts[j]), copy=False)
        else:
            array = _joined_numbers(parts[j])
            data[name] = pd.Series(array, dtype=array.dtype, copy=False)
        parts[j] = []
    return pd.DataFrame(data, copy=False)


def _joined_numbers(arrays: list[np.ndarray]) -> np.ndarray:
    """One column from its chunks' arrays, typed as ``_numbers`` types a whole column."""
    if not arrays:
        return _numbers(np.empty(0, dtype=object))
    if len(arrays) == 1:
        return arrays[0]
    if any(a.dtype == object for a in arrays):  # text or mixed in some chunk: as a whole
        return _numbers(np.concatenate([a.astype(object) for a in arrays]))
    return np.concatenate(arrays)  # int64 throughout, or float64 (NULL as NaN) with any


def _joined_categoricals(parts: list[pd.Categorical]) -> pd.Categorical:
    """One categorical from its chunks', categories in order of first appearance (as
    ``categorical`` of the whole column)."""
    if not parts:
        return categorical(np.empty(0, dtype=object))
    if len(parts) == 1:
        return parts[0]
    from pandas.api.types import union_categoricals

    return union_categoricals(parts, sort_categories=False)


def collect(store: Store, key: ProjectKey, instruments: list[str], occasions: list[str] | None,
            progress: Callable[[str], None] = lambda _m: None) -> Collected:
    assessments = read_frame(
        final_assessment_rows(store, instruments, occasions),
        ["assessment_id", "person_id", "instrument", "instrument_version", "occasion", "date",
         "wording", "language", "score_id", "complete"],
        categorical_columns=("instrument", "instrument_version", "occasion", "wording",
                             "language"))
    progress(f"read {len(assessments)} final assessments")
    people = _people(store, key, assessments["person_id"].unique().tolist())
    assessments = _add_days(store, assessments, people)
    values = read_values(store, instruments, occasions)
    progress(f"read {len(values)} score values")
    return Collected(people=people, assessments=assessments, values=values)


def read_values(store: Store, instruments: list[str],
                occasions: list[str] | None) -> pd.DataFrame:
    """Score values of the latest score of each assessment. (kind, name) pairs are coded by
    the database, and text is read only where there is text: far fewer Python objects than
    reading every row's kind, name and text."""
    with coded_score_values(store, instruments, occasions) as coded:
        names = coded.names
        numbers = read_frame(coded.numbers(), ["score_id", "code", "value_num"])
        texts = read_frame(coded.texts(), ["score_id", "code", "value_text"],
                           categorical_columns=("value_text",))
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
    rows = export_people(store, person_ids)
    frame = pd.DataFrame.from_records(rows, columns=["person_id", "ref", "role", "birth_year"])
    frame["pid"] = [key.pseudonym(ref) for ref in frame["ref"]]
    frame = frame.drop(columns=["ref"]).sort_values("pid", kind="stable").reset_index(drop=True)
    return frame


def _add_days(store: Store, assessments: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Dates become days since the person's first final assessment (of any instrument); the
    age at that first assessment becomes an age band; the dates themselves are dropped."""
    first = first_final_dates(store)
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
    exported assessments, item and value as categoricals. The database codes each distinct
    (item, value) pair, so only the assessment id and a small code cross into Python per
    answer. Free-text items, comments and sources are not read."""
    with coded_answers(store, instrument, item_ids) as coded:
        pairs = coded.pairs
        frame = read_frame(coded.rows(), ["assessment_id", "code"])
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
