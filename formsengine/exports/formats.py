"""File formats for research tables.

Formats are pluggable: the built-in ones (CSV, Parquet, SPSS ``.sav``, Stata ``.dta``) are
registered through the ``register_export_formats`` hook exactly like a plugin's own. Each
writer receives the table, the description of every column (``Variable``) and the path to
write, and must keep every variable's label, value labels and labelled missing values as
far as the format allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import FormsEngineError
from .coding import CODE_TO_KIND, MISSING_CODES, STATA_MISSING, Variable, short_name
from .privacy import neutralise_frame

if TYPE_CHECKING:
    import pluggy

SPSS_NAME_LIMIT = 64
# Stata allows 32 characters, but pyreadstat names each value-label set after its variable
# plus a running number, and that name has the same limit.
STATA_NAME_LIMIT = 27
STATA_LABEL_LIMIT = 80
MEASURES = {"string": "nominal", "integer": "nominal", "number": "scale"}

Writer = Callable[[pd.DataFrame, list[Variable], Path, str], None]


@dataclass(frozen=True)
class ExportFormat:
    """A research file format: ``write(frame, variables, path, title)`` writes one table.
    ``parallel``: the writer may run in a worker process (``write`` must then be a
    module-level function, so that it can be sent there)."""

    id: str
    suffix: str
    description: str
    write: Writer
    parallel: bool = False


def format_registry(pm: pluggy.PluginManager) -> dict[str, ExportFormat]:
    """Every format registered through the ``register_export_formats`` hook, by id."""
    formats: dict[str, ExportFormat] = {}

    def register(fmt: ExportFormat) -> None:
        if not isinstance(fmt, ExportFormat):
            raise FormsEngineError("register_export_formats: register() takes an ExportFormat")
        if fmt.id in formats:
            raise FormsEngineError(f"export format {fmt.id!r} is registered twice")
        formats[fmt.id] = fmt

    pm.hook.register_export_formats(register=register)
    return formats


def _integral(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return bool(np.array_equal(finite, np.round(finite)))


def arrow_table(frame: pd.DataFrame, variables: list[Variable], *, metadata: bool) -> pa.Table:
    """The frame as an Arrow table: whole numbers as int64, text as strings; with
    ``metadata``, each field carries its label, value labels and missing codes."""
    arrays, fields = [], []
    for var in variables:
        series = frame[var.name]
        if var.type == "string":
            array = pa.array(series, from_pandas=True)
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            if not pa.types.is_string(array.type):
                array = array.cast(pa.string())
        else:
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            mask = np.isnan(values)
            if var.type == "integer" or _integral(values):
                array = pa.array(np.where(mask, 0, values).astype(np.int64), mask=mask)
            else:
                array = pa.array(values, mask=mask)
        meta = None
        if metadata:
            meta = {"label": var.label}
            if var.value_labels:
                meta["value_labels"] = json.dumps({str(_num(k)): v
                                                   for k, v in var.value_labels.items()})
            if var.missing:
                meta["missing_codes"] = json.dumps({str(v): k for k, v in MISSING_CODES.items()})
        arrays.append(array)
        fields.append(pa.field(var.name, array.type, metadata=meta))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def write_csv(frame: pd.DataFrame, variables: list[Variable], path: Path, title: str) -> None:
    import pyarrow.csv as pcsv

    strings = [v.name for v in variables if v.type == "string"]
    table = arrow_table(neutralise_frame(frame, strings), variables, metadata=False)
    pcsv.write_csv(table, path, pcsv.WriteOptions(quoting_style="needed"))


def write_parquet(frame: pd.DataFrame, variables: list[Variable], path: Path,
                  title: str) -> None:
    import pyarrow.parquet as pq

    table = arrow_table(frame, variables, metadata=True)
    table = table.replace_schema_metadata({"title": title, "missing_codes": json.dumps(
        {str(v): k for k, v in MISSING_CODES.items()})})
    pq.write_table(table, path, compression="zstd")


def _renamed(variables: list[Variable], limit: int) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: set[str] = set()
    for var in variables:
        new = short_name(var.name, limit)
        if new.lower() in taken:
            raise FormsEngineError(f"two variables shorten to {new!r}; rename one")
        taken.add(new.lower())
        names[var.name] = new
    return names


def spss_names(variables: list[Variable]) -> dict[str, str]:
    return _renamed(variables, SPSS_NAME_LIMIT)


def stata_names(variables: list[Variable]) -> dict[str, str]:
    return _renamed(variables, STATA_NAME_LIMIT)


def _encoded(series: pd.Series, var: Variable) -> tuple[np.ndarray, Variable]:
    """A text column as whole-number codes 1..n (sorted text) with the text as value
    labels; nothing recorded stays system-missing."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = pd.Series(pd.Categorical(series.to_numpy(dtype=object)))
    raw = series.cat.codes.to_numpy()
    names = list(series.cat.categories)
    categories = sorted(names)
    rank = {name: i + 1 for i, name in enumerate(categories)}
    lookup = np.array([rank[n] for n in names] + [np.nan], dtype=float)
    codes = lookup[raw]  # code -1 (nothing recorded) reads the NaN at the end
    labels: dict[float, str] = {i + 1: str(c)[:120] for i, c in enumerate(categories)}
    return codes, replace(var, type="integer", value_labels=labels)


def _plain_frame(frame: pd.DataFrame, variables: list[Variable]
                 ) -> tuple[pd.DataFrame, list[Variable]]:
    """Text as plain Python objects ("" for nothing) and numbers as float64: the fastest
    input for pyreadstat (it iterates Arrow-backed text columns element by element). Text
    columns marked ``encode`` become labelled codes."""
    out: dict[str, Any] = {}
    used = []
    for var in variables:
        series = frame[var.name]
        if var.type == "string" and var.encode:
            out[var.name], var = _encoded(series, var)
        elif var.type == "string":
            values = series.to_numpy(dtype=object, copy=True)
            values[pd.isna(values)] = ""
            out[var.name] = pd.Series(values, dtype=object, copy=False)
        else:
            out[var.name] = series.to_numpy(dtype="float64", na_value=np.nan)
        used.append(var)
    return pd.DataFrame(out, copy=False), used


def write_sav(frame: pd.DataFrame, variables: list[Variable], path: Path, title: str) -> None:
    import pyreadstat

    names = spss_names(variables)
    data, variables = _plain_frame(frame, variables)
    data = data.rename(columns=names)
    pyreadstat.write_sav(
        data, str(path), file_label=title[:64],
        column_labels={names[v.name]: v.label[:250] for v in variables},
        variable_value_labels={names[v.name]: {_num(k): lab for k, lab in v.all_labels().items()}
                               for v in variables if v.type != "string" and v.all_labels()},
        missing_ranges={names[v.name]: [{"lo": min(MISSING_CODES.values()),
                                         "hi": max(MISSING_CODES.values())}]
                        for v in variables if v.missing},
        variable_measure={names[v.name]: "ordinal" if v.value_labels and v.type == "integer"
                          and v.role in ("band", "level", "item") else MEASURES[v.type]
                          for v in variables})


def _stata_frame(data: pd.DataFrame, variables: list[Variable], tagged: set[str]):
    """The table as a polars frame with every column's type stated: numbers Float64 (NaN
    as null), text String, and the columns holding extended missing values as Object
    (numbers, ``None`` and the missing letters). pyreadstat otherwise guesses a pandas
    object column's type from its first 100 values, and a column starting with 100 empty
    or missing cells was taken for text and could not be written."""
    import polars as pl

    columns = []
    for var in variables:
        values = data[var.name]
        if var.name in tagged:
            columns.append(pl.Series(var.name, values.tolist(), dtype=pl.Object))
        elif var.type == "string":
            columns.append(pl.Series(var.name, values.tolist(), dtype=pl.String))
        else:
            columns.append(pl.Series(var.name, values.to_numpy(dtype="float64"),
                                     dtype=pl.Float64, nan_to_null=True))
    return pl.DataFrame(columns)


def write_dta(frame: pd.DataFrame, variables: list[Variable], path: Path, title: str) -> None:
    import pyreadstat

    names = stata_names(variables)
    data, variables = _plain_frame(frame, variables)
    letters = {code: STATA_MISSING[kind] for code, kind in CODE_TO_KIND.items()}
    whole = {v.name: _integral(data[v.name].to_numpy(dtype="float64", na_value=np.nan))
             for v in variables if v.type != "string"}
    labels = {}
    tagged = set()
    for var in variables:
        if not var.missing or var.type == "string":
            continue
        values = data[var.name].to_numpy(dtype="float64")
        column = values.astype(object)
        column[np.isnan(values)] = None
        for code, letter in letters.items():
            column[values == code] = letter
        data[var.name] = pd.Series(column, dtype=object, copy=False)
        tagged.add(var.name)
    for var in variables:
        if var.type == "string" or not (var.value_labels or var.missing):
            continue
        if not whole[var.name]:
            continue  # Stata labels whole numbers only
        mapped: dict[int | float | str, str] = {_num(k): lab
                                                for k, lab in var.value_labels.items()}
        if var.missing:
            mapped.update({STATA_MISSING[CODE_TO_KIND[c]]: lab
                           for c, lab in var.all_labels().items() if c in CODE_TO_KIND})
        labels[names[var.name]] = mapped
    table = _stata_frame(data, variables, tagged).rename(names)
    pyreadstat.write_dta(
        table, str(path), file_label=title[:80],
        column_labels={names[v.name]: v.label[:STATA_LABEL_LIMIT] for v in variables},
        # pyreadstat's annotation leaves out the letters of Stata's tagged missing values,
        # which it takes as labelled values (tests/exports read them back)
        variable_value_labels=labels,  # type: ignore[arg-type]
        missing_user_values={names[v.name]: sorted(STATA_MISSING.values())
                             for v in variables if v.name in tagged})


BUILTIN_FORMATS = (
    ExportFormat("csv", ".csv", "CSV (UTF-8, comma-separated; codes as numbers)", write_csv),
    ExportFormat("parquet", ".parquet", "Apache Parquet (labels in the field metadata)",
                 write_parquet),
    ExportFormat("sav", ".sav", "SPSS (labels, value labels, user-missing -4 to -1)",
                 write_sav, parallel=True),
    ExportFormat("dta", ".dta", "Stata 15 (labels, value labels, extended missing .a-.d)",
                 write_dta, parallel=True),
)
