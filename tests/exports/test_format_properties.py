"""Every built-in research format writes any column it may be given and reads back with
its values and labels: sparse columns, columns with nothing in them, columns that start
with a long run of empty or not-known cells, numbers mixed with not-known codes, and long
text. Each table is written as CSV, Parquet, SPSS and Stata and read back with pandas,
pyarrow and pyreadstat."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formsengine.exports.coding import CODE_TO_KIND, MISSING_CODES, STATA_MISSING, Variable
from formsengine.exports.formats import (
    spss_names,
    stata_names,
    write_csv,
    write_dta,
    write_parquet,
    write_sav,
)

CODES = sorted(MISSING_CODES.values())
TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd", "Po")),
               max_size=40)
LONG_TEXT = st.text(alphabet=st.sampled_from("abc ŵŷ éç-"), min_size=1500, max_size=3000)


def _runs(value_strategy, rows):
    """A column of ``rows`` cells built from runs of one kind: empty, not-known, or values,
    so long leading runs of empty or not-known cells are common."""
    run = st.tuples(st.sampled_from(["empty", "code", "value"]), st.integers(1, 160))

    @st.composite
    def build(draw):
        cells = []
        while len(cells) < rows:
            kind, length = draw(run)
            for _ in range(min(length, rows - len(cells))):
                if kind == "empty":
                    cells.append(None)
                elif kind == "code":
                    cells.append(draw(st.sampled_from(CODES)))
                else:
                    cells.append(draw(value_strategy))
        return cells

    return build()


@st.composite
def tables(draw):
    rows = draw(st.integers(1, 400))
    columns, variables = {}, []
    kinds = draw(st.lists(st.sampled_from(["coded", "number", "count", "text", "long", "empty",
                                           "empty_text"]), min_size=1, max_size=6))
    for i, kind in enumerate(kinds):
        name = f"v{i}_{kind}"
        if kind == "coded":  # an item: 0/1 with labels and not-known codes
            cells = draw(_runs(st.sampled_from([0, 1]), rows))
            variables.append(Variable(name, f"Item {i}", "integer", "item",
                                      value_labels={0: "no", 1: "yes"}, missing=True))
        elif kind == "number":  # a score that may not be known
            cells = draw(_runs(st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)),
                               rows))
            variables.append(Variable(name, f"Score {i}", "number", "score", missing=True))
        elif kind == "count":  # whole numbers, no missing codes
            cells = [None if c is None or c in CODES else c
                     for c in draw(_runs(st.integers(0, 10**6), rows))]
            variables.append(Variable(name, f"Count {i}", "integer", "field"))
        elif kind == "empty":  # nothing recorded at all
            cells = [None] * rows
            variables.append(Variable(name, f"Empty {i}", "integer", "item",
                                      value_labels={0: "no", 1: "yes"}, missing=True))
        else:
            values = LONG_TEXT if kind == "long" else TEXT
            cells = [None if c is None or c in CODES else c for c in draw(_runs(values, rows))]
            if kind == "empty_text":
                cells = [None] * rows
            variables.append(Variable(name, f"Text {i}", "string", "meta"))
        columns[name] = cells
    frame = pd.DataFrame({v.name: pd.Series(columns[v.name],
                                            dtype=object if v.type == "string" else "float64")
                          for v in variables})
    return frame, variables


def _numbers(cells) -> list[float | None]:
    return [None if c is None or (isinstance(c, float) and math.isnan(c)) else float(c)
            for c in cells]


def _texts(cells) -> list[str]:
    return ["" if c is None or (isinstance(c, float) and math.isnan(c)) else str(c)
            for c in cells]


def _expected(frame, var):
    return _texts(frame[var.name]) if var.type == "string" else _numbers(frame[var.name])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(table=tables())
def test_every_format_writes_and_reads_back(tmp_path_factory, table):
    frame, variables = table
    folder = tmp_path_factory.mktemp("formats")

    write_csv(frame, variables, folder / "t.csv", "Title")
    texts = [v.name for v in variables if v.type == "string"]
    back = pd.read_csv(folder / "t.csv", dtype=dict.fromkeys(texts, str),
                       keep_default_na=False, skip_blank_lines=False,
                       na_values={v.name: [""] for v in variables if v.name not in texts})
    for var in variables:
        got = _texts(back[var.name]) if var.type == "string" else _numbers(back[var.name])
        want = _expected(frame, var)
        if var.type == "string":  # cells a spreadsheet would run are neutralised with '
            want = ["'" + w if w[:1] in ("=", "+", "-", "@", "\t", "\r") else w for w in want]
        assert got == want, var.name

    write_parquet(frame, variables, folder / "t.parquet", "Title")
    table_back = pq.read_table(folder / "t.parquet")
    for var in variables:
        got = table_back.column(var.name).to_pylist()
        if var.type == "string":
            assert _texts(got) == _expected(frame, var), var.name
        else:
            assert _numbers(got) == _expected(frame, var), var.name
        meta = table_back.schema.field(var.name).metadata
        assert meta[b"label"].decode() == var.label

    write_sav(frame, variables, folder / "t.sav", "Title")
    data, meta = pyreadstat.read_sav(str(folder / "t.sav"), user_missing=True)
    names = spss_names(variables)
    for var in variables:
        got = data[names[var.name]]
        if var.type == "string":  # SPSS keeps text space-padded: trailing spaces do not last
            assert _texts(got) == [t.rstrip(" ") for t in _expected(frame, var)], var.name
        else:
            assert _numbers(got) == _expected(frame, var), var.name
        assert meta.column_names_to_labels[names[var.name]] == var.label
        if var.value_labels:
            labels = meta.variable_value_labels[names[var.name]]
            assert {k: labels[k] for k in var.value_labels} == var.value_labels
        if var.missing:
            assert meta.missing_ranges[names[var.name]] == [{"lo": -4.0, "hi": -1.0}]

    write_dta(frame, variables, folder / "t.dta", "Title")
    data, meta = pyreadstat.read_dta(str(folder / "t.dta"), user_missing=True)
    names = stata_names(variables)
    letter_to_code = {STATA_MISSING[kind]: code for code, kind in CODE_TO_KIND.items()}
    for var in variables:
        got = list(data[names[var.name]])
        if var.type == "string":
            assert _texts(got) == _expected(frame, var), var.name
            continue
        decoded = [letter_to_code[c] if isinstance(c, str) else c for c in got]
        assert _numbers(decoded) == _expected(frame, var), var.name
        assert meta.column_names_to_labels[names[var.name]] == var.label
        if var.value_labels and not frame[var.name].isna().all():
            labels = meta.variable_value_labels[names[var.name]]
            assert {k: labels[k] for k in var.value_labels} == var.value_labels
            if var.missing:
                assert labels["a"] == "dont_know: asked, not known"


@pytest.mark.parametrize("lead", [99, 100, 101, 250])
def test_stata_column_starting_with_empty_or_not_known_cells(tmp_path, lead):
    """The case that crashed the export: a not-known-coded column whose first hundred
    cells are empty (or all not-known codes), with values after them."""
    for filler in (None, -1.0):
        cells = [filler] * lead + [1.0, -4.0, 0.0, None]
        frame = pd.DataFrame({"x": pd.Series(cells, dtype="float64")})
        var = Variable("x", "Item", "integer", "item", value_labels={0: "no", 1: "yes"},
                       missing=True)
        write_dta(frame, [var], tmp_path / "x.dta", "Title")
        data, _ = pyreadstat.read_dta(str(tmp_path / "x.dta"), user_missing=True)
        tail = list(data["x"])[-4:]
        assert tail[0] == 1.0 and tail[1] == "d" and tail[2] == 0.0
        assert isinstance(tail[3], float) and np.isnan(tail[3])
        head = list(data["x"])[:lead]
        assert all((np.isnan(h) if filler is None else h == "a") for h in head)
