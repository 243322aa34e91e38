"""The score tables of a research export: long, wide and the aggregate summary.

* long: one row per person x instrument x occasion x result (score, band, level, flag,
  criterion, criteria group), for every final assessment;
* wide: one row per person, one column per instrument x result x occasion, named
  ``<instrument>__<result>__<occasion>``; when a person has more than one assessment at an
  occasion (ad-hoc re-assessments) the latest is used;
* aggregates: people per instrument x occasion x categorical result x value, with small
  counts suppressed.

Everything is computed on integer codes (numpy), not on text, so that 400,000 assessments
take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .coding import (
    NOT_KNOWN,
    YES_NO_LABELS,
    Variable,
    category_order,
    pid_variable,
    result_labels,
    result_var_part,
    safe_name,
)
from .privacy import AGE_BAND_CODES, AGE_BANDS, suppress_counts

if TYPE_CHECKING:
    from ..engine import Engine
    from .collect import Collected

KIND_ORDER = ["score", "band", "level", "flag", "criterion", "group"]
BOOLEAN_KINDS = {"flag", "criterion", "group"}
ROLE_CODES = {"victim_survivor": 0, "service_user": 1}


@dataclass
class ResultSpec:
    """How one instrument result (kind, name) is coded."""

    instrument: str
    kind: str
    name: str
    label: str
    type: str  # integer, number, category, string
    categories: list[str]
    missing_code: float  # code for a null value (NOT_KNOWN, or NaN: nothing recorded)

    @property
    def value_labels(self) -> dict[float, str]:
        if self.kind in BOOLEAN_KINDS:
            return dict(YES_NO_LABELS)
        return {i: c for i, c in enumerate(self.categories)}

    @property
    def categorical(self) -> bool:
        return self.type == "category" or self.kind in BOOLEAN_KINDS


@dataclass
class Coded:
    """Every score value in file order: the assessment row, the spec, the numeric value
    and the text (codes into ``text_categories``; -1 for none)."""

    rows: np.ndarray
    spec: np.ndarray
    value: np.ndarray
    text: np.ndarray
    text_categories: pd.Index
    specs: list[ResultSpec]


def _codes(series: pd.Series) -> np.ndarray:
    return series.cat.codes.to_numpy()


def sort_assessments(c: Collected, engine: Engine) -> pd.DataFrame:
    """Assessments in person, instrument, occasion, day order; ``keep`` marks the one used
    for each person x instrument x occasion in the wide file (the latest)."""
    a = c.assessments
    instruments = list(a["instrument"].cat.categories)
    occasions = list(a["occasion"].cat.categories)
    rank = np.full((len(instruments), len(occasions)), 100)
    for i, inst_id in enumerate(instruments):
        order = engine.instruments.get(inst_id).occasions
        for j, occ in enumerate(occasions):
            if occ in order:
                rank[i, j] = order.index(occ)
    a = a.assign(occ_rank=rank[_codes(a["instrument"]), _codes(a["occasion"])])
    a = a.sort_values(["person_pos", "instrument", "occ_rank", "day", "assessment_id"],
                      kind="stable", na_position="first").reset_index(drop=True)
    last = ~a.duplicated(["person_pos", "instrument", "occasion"], keep="last")
    return a.assign(keep=last.to_numpy(), row=np.arange(len(a)))


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Unique keys, the group of every element and the element indices of each group."""
    unique, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1]
    return unique, inverse, np.split(order, bounds)


def code_values(c: Collected, a: pd.DataFrame, engine: Engine) -> Coded:
    v = c.values
    lut = np.full(int(a["score_id"].max()) + 1, -1, dtype=np.int64)
    lut[a["score_id"].to_numpy()] = a["row"].to_numpy()
    rows = lut[v["score_id"].to_numpy()]
    inst_cats = list(a["instrument"].cat.categories)
    kinds, names = list(v["kind"].cat.categories), list(v["name"].cat.categories)
    inst = _codes(a["instrument"])[rows].astype(np.int64)
    kind, name = _codes(v["kind"]).astype(np.int64), _codes(v["name"]).astype(np.int64)
    text = _codes(v["value_text"]).astype(np.int64)
    text_categories = pd.Index(v["value_text"].cat.categories, dtype=object)
    num = v["value_num"].to_numpy(dtype=np.float64, na_value=np.nan)
    keys = (inst * len(kinds) + kind) * max(1, len(names)) + name
    unique, group, members = _groups(keys)
    specs: list[ResultSpec] = []
    for key, idx in zip(unique, members):
        rest, n = divmod(int(key), max(1, len(names)))
        i, k = divmod(rest, len(kinds))
        specs.append(_spec(engine, inst_cats[i], kinds[k], names[n], num[idx], text[idx],
                           text_categories))
    order = sorted(range(len(specs)), key=lambda s: _spec_sort_key(specs[s], engine))
    position = np.empty(len(specs), dtype=np.int64)
    position[order] = np.arange(len(specs))
    value = num.copy()
    out_text = np.full(len(rows), -1, dtype=np.int64)
    for s, idx in enumerate(members):
        spec = specs[s]
        if spec.type == "category":
            lookup = np.full(len(text_categories) + 1, spec.missing_code)
            for j, cat in enumerate(spec.categories):
                if cat in text_categories:
                    lookup[text_categories.get_loc(cat)] = j
            value[idx] = lookup[text[idx]]  # code -1 (no text) reads the last entry
            out_text[idx] = text[idx]
        elif spec.type == "string":
            value[idx] = np.nan
            out_text[idx] = text[idx]
        else:
            part = value[idx]
            part[np.isnan(part)] = spec.missing_code
            value[idx] = part
    spec_of_value = position[group]
    final = np.lexsort((spec_of_value, rows))
    return Coded(rows=rows[final], spec=spec_of_value[final], value=value[final],
                 text=out_text[final], text_categories=text_categories,
                 specs=[specs[s] for s in order])


def _spec(engine: Engine, inst_id: str, kind: str, name: str, num: np.ndarray,
          text: np.ndarray, text_categories: pd.Index) -> ResultSpec:
    inst = engine.instruments.get(inst_id)
    label = result_labels(inst).get((kind, name), name)
    missing = np.nan if (kind, name) == ("level", "judged") else NOT_KNOWN
    if kind in BOOLEAN_KINDS:
        return ResultSpec(inst_id, kind, name, label, "integer", [], missing)
    if not (text >= 0).any():
        finite = num[~np.isnan(num)]
        integral = bool(np.array_equal(finite, np.round(finite)))
        return ResultSpec(inst_id, kind, name, label, "integer" if integral else "number", [],
                          missing)
    order = category_order(inst, engine.parameters_for(inst)).get((kind, name))
    if order is None and kind == "score":
        return ResultSpec(inst_id, kind, name, label, "string", [], np.nan)
    seen = [text_categories[t] for t in np.unique(text[text >= 0])]
    cats = list(order or []) + sorted(t for t in seen if t not in (order or []))
    return ResultSpec(inst_id, kind, name, label, "category", cats, missing)


def _spec_sort_key(spec: ResultSpec, engine: Engine) -> tuple:
    inst = engine.instruments.get(spec.instrument)
    declared = [("score", s["id"]) for s in inst.score_specs]
    declared += [("band", b["id"]) for b in inst.scoring.get("bands", [])]
    declared += [("level", w) for w in ("computed", "judged", "final")]
    declared += [("flag", f["id"]) for f in inst.scoring.get("flags", [])]
    declared += [("criterion", f["id"]) for f in inst.scoring.get("criteria", [])]
    declared += [("group", g) for g in inst.scoring.get("criteria_groups", {})]
    key = (spec.kind, spec.name)
    position = declared.index(key) if key in declared else len(declared)
    kind_rank = KIND_ORDER.index(spec.kind) if spec.kind in KIND_ORDER else 99
    return (spec.instrument, position, kind_rank, spec.name)


def _from_codes(codes: np.ndarray, categories: Any) -> pd.Series:
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories,
                                                                          dtype=object)))


def build_long(c: Collected, a: pd.DataFrame, coded: Coded) -> tuple[pd.DataFrame,
                                                                       list[Variable]]:
    rows = coded.rows
    kinds = sorted({s.kind for s in coded.specs})
    names = sorted({s.name for s in coded.specs})
    spec_kind = np.array([kinds.index(s.kind) for s in coded.specs], dtype=np.int64)
    spec_name = np.array([names.index(s.name) for s in coded.specs], dtype=np.int64)
    long = pd.DataFrame({
        "pid": _from_codes(a["person_pos"].to_numpy()[rows], c.people["pid"]),
        "instrument": _from_codes(_codes(a["instrument"])[rows], a["instrument"].cat.categories),
        "instrument_version": _from_codes(_codes(a["instrument_version"])[rows],
                                          a["instrument_version"].cat.categories),
        "occasion": _from_codes(_codes(a["occasion"])[rows], a["occasion"].cat.categories),
        "day": a["day"].to_numpy(dtype=np.float64, na_value=np.nan)[rows],
        "kind": _from_codes(spec_kind[coded.spec], kinds),
        "name": _from_codes(spec_name[coded.spec], names),
        "value": coded.value,
        "value_text": _from_codes(coded.text, coded.text_categories),
    }, copy=False)
    variables = [
        pid_variable(),
        Variable("instrument", "Instrument id", "string", "meta", encode=True),
        Variable("instrument_version", "Version of the instrument definition", "string", "meta",
                 encode=True),
        Variable("occasion", "Occasion (timepoint) id", "string", "meta", encode=True),
        Variable("day", "Days from the person's first assessment to this one", "integer",
                 "meta"),
        Variable("kind", "Kind of result: score, band, level, flag, criterion or group",
                 "string", "meta", encode=True),
        Variable("name", "Result name within the instrument (see the results table)",
                 "string", "meta", encode=True),
        Variable("value", "Value: the number, 1/0 for flags and criteria, or the category "
                 "code of a band or level (see the results table)", "number", "value",
                 missing=True),
        Variable("value_text", "Category name of a band, level or text-valued score", "string",
                 "value", encode=True),
    ]
    return long, variables


def build_wide(c: Collected, a: pd.DataFrame, coded: Coded
               ) -> tuple[pd.DataFrame, list[Variable]]:
    people = c.people
    inst_cats = list(a["instrument"].cat.categories)
    occ_cats = list(a["occasion"].cat.categories)
    inst_code, occ_code = _codes(a["instrument"]), _codes(a["occasion"])
    keep = a["keep"].to_numpy()
    present = sorted({(inst_cats[i], int(r), occ_cats[o]) for i, o, r in
                      zip(inst_code[keep], occ_code[keep], a["occ_rank"].to_numpy()[keep])})
    day_col = np.full((len(inst_cats), len(occ_cats)), -1, dtype=np.int64)
    spec_col = np.full((len(coded.specs), len(occ_cats)), -1, dtype=np.int64)
    columns: list[tuple[str, str, str | None, str, int]] = []
    for inst_id, _rank, occ in present:
        i, o = inst_cats.index(inst_id), occ_cats.index(occ)
        day_col[i, o] = len(columns)
        columns.append((inst_id, occ, None, "day", -1))
        columns.append((inst_id, occ, None, "complete", -1))
        for s, spec in enumerate(coded.specs):
            if spec.instrument == inst_id:
                spec_col[s, o] = len(columns)
                columns.append((inst_id, occ, spec.kind, spec.name, s))
    matrix = np.full((len(people), len(columns)), np.nan)
    person = a["person_pos"].to_numpy()
    k = np.flatnonzero(keep)
    cols = day_col[inst_code[k], occ_code[k]]
    matrix[person[k], cols] = a["day"].to_numpy(dtype=np.float64, na_value=np.nan)[k]
    matrix[person[k], cols + 1] = a["complete"].to_numpy(dtype=np.float64)[k]
    sel = np.flatnonzero(keep[coded.rows])
    arow = coded.rows[sel]
    cols = spec_col[coded.spec[sel], occ_code[arow]]
    matrix[person[arow], cols] = coded.value[sel]
    data: dict[str, Any] = {
        "pid": _from_codes(np.arange(len(people)), people["pid"]),
        "role": people["role"].map(ROLE_CODES).to_numpy(dtype=np.float64),
        "age_band": people["age_band"].map(AGE_BAND_CODES).astype("float64")
                    .fillna(NOT_KNOWN).to_numpy(),
    }
    variables = [
        pid_variable(),
        Variable("role", "Whom the records are about", "integer", "person",
                 value_labels={v: k for k, v in ROLE_CODES.items()}),
        Variable("age_band", "Age band at the first assessment", "integer", "person",
                 value_labels={i: label for i, (_, _, label) in enumerate(AGE_BANDS)},
                 missing=True),
    ]
    for j, (inst_id, occ, kind, name, s) in enumerate(columns):
        part = result_var_part(kind, name) if kind else name
        col = f"{safe_name(inst_id)}__{part}__{safe_name(occ)}"
        if col in data:  # e.g. a band with the same id as its score: name the kind
            col = f"{safe_name(inst_id)}__{safe_name(f'{kind}_{name}')}__{safe_name(occ)}"
        if s >= 0 and coded.specs[s].type == "string":
            mask = sel[cols == j]
            text = np.full(len(people), None, dtype=object)
            codes = coded.text[mask]
            text[person[coded.rows[mask]]] = np.where(
                codes >= 0, coded.text_categories.to_numpy(dtype=object)[codes], None)
            data[col] = pd.Series(text, dtype=object)
        else:
            data[col] = matrix[:, j]
        variables.append(_wide_variable(col, inst_id, occ, kind, name,
                                        coded.specs[s] if s >= 0 else None))
    return pd.DataFrame(data, copy=False), variables


def _wide_variable(col: str, inst_id: str, occ: str, kind: str | None, name: str,
                   spec: ResultSpec | None) -> Variable:
    series = col[:-(len(safe_name(occ)) + 2)]
    if spec is None:
        label = ("days from the first assessment" if name == "day"
                 else "every item answered")
        return Variable(col, f"{inst_id} at {occ}: {label}", "integer", "meta",
                        instrument=inst_id, occasion=occ, series=series,
                        series_label=f"{inst_id}: {label}",
                        value_labels={} if name == "day" else dict(YES_NO_LABELS))
    vtype = {"category": "integer", "string": "string"}.get(spec.type, spec.type)
    assert kind is not None  # every column with a result's spec has the result's kind
    return Variable(col, f"{inst_id} at {occ}: {spec.label}", vtype, kind,
                    instrument=inst_id, occasion=occ, value_labels=spec.value_labels,
                    missing=spec.type != "string" and not np.isnan(spec.missing_code),
                    series=series, series_label=f"{inst_id}: {spec.label}")


def build_aggregates(a: pd.DataFrame, coded: Coded, threshold: int
                     ) -> tuple[pd.DataFrame, list[Variable], tuple[int, int]]:
    """People per instrument x occasion x categorical result x value (latest assessment at
    each occasion); counts from 1 to threshold-1 are suppressed, and further cells of the
    same result and occasion where needed (see ``privacy.suppress_counts``). Returns the
    table, its variables and (cells suppressed in all, of which secondary)."""
    occ_cats = list(a["occasion"].cat.categories)
    occ_code = _codes(a["occasion"]).astype(np.int64)
    occ_rank = dict(zip(zip(a["instrument"].astype(object), a["occasion"].astype(object)),
                        a["occ_rank"]))
    categorical = np.array([s.categorical for s in coded.specs], dtype=bool)
    sel = np.flatnonzero(a["keep"].to_numpy()[coded.rows] & categorical[coded.spec]
                         & ~np.isnan(coded.value))
    value = coded.value[sel].astype(np.int64) - NOT_KNOWN  # from 0
    span = int(value.max()) + 1 if len(value) else 1
    keys = (coded.spec[sel] * len(occ_cats) + occ_code[coded.rows[sel]]) * span + value
    unique, counts = np.unique(keys, return_counts=True)
    records = []
    for key, count in zip(unique, counts):
        rest, v = divmod(int(key), span)
        s, o = divmod(rest, len(occ_cats))
        spec, code = coded.specs[s], v + NOT_KNOWN
        label = spec.value_labels.get(code, "not_known" if code == NOT_KNOWN else None)
        records.append((spec.instrument, occ_cats[o], spec.kind, spec.name, code, label,
                        int(count), occ_rank[(spec.instrument, occ_cats[o])], s))
    counts_frame = pd.DataFrame.from_records(
        records, columns=["instrument", "occasion", "kind", "name", "value", "value_label",
                          "people", "occ_rank", "spec"])
    counts_frame = counts_frame.sort_values(["instrument", "occ_rank", "occasion", "spec",
                                             "value"], kind="stable").reset_index(drop=True)
    groups = (counts_frame["instrument"] + "\x1f" + counts_frame["occasion"] + "\x1f"
              + counts_frame["kind"] + "\x1f" + counts_frame["name"])
    shown, primary, secondary = suppress_counts(counts_frame["people"], threshold, groups)
    suppressed = primary | secondary
    counts_frame["people"] = shown
    counts_frame["suppressed"] = suppressed.astype("int64")
    counts_frame = counts_frame.drop(columns=["occ_rank", "spec"])
    variables = [
        Variable("instrument", "Instrument id", "string", "meta"),
        Variable("occasion", "Occasion id", "string", "meta"),
        Variable("kind", "Kind of result", "string", "meta"),
        Variable("name", "Result name", "string", "meta"),
        Variable("value", "Value code (see the results table)", "number", "value",
                 missing=True),
        Variable("value_label", "Value label", "string", "value"),
        Variable("people", f"People with this value; empty when suppressed (1 to "
                 f"{threshold - 1}, or a further cell blanked so that a suppressed count "
                 "cannot be worked out from the others)", "integer", "count"),
        Variable("suppressed", "The count was suppressed", "integer", "count",
                 value_labels=dict(YES_NO_LABELS)),
    ]
    return counts_frame, variables, (int(suppressed.sum()), int(secondary.sum()))
