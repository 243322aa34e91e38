"""The codebook (HTML and PDF) and the Frictionless data package of a research export.

Both are generated from the same ``Variable`` descriptions the writers used, so every column
of every file is named, labelled and coded in both.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .coding import MISSING_CODES, MISSING_LABELS, STATA_MISSING, Variable
from .formats import spss_names, stata_names

DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
FRICTIONLESS_TYPES = {"string": "string", "integer": "integer", "number": "number"}


@dataclass
class Table:
    """One exported table: its rows, its variables and what it holds."""

    name: str
    title: str
    description: str
    frame: Any
    variables: list[Variable]
    wording: str | None = None
    left_out: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def codes_text(var: Variable) -> str:
    if var.encode:
        return var.notes or ("text; in SPSS and Stata stored as whole-number codes with the "
                             "text as value labels")
    parts = [f"{_num(k)} = {v}" for k, v in sorted(var.value_labels.items())]
    if var.missing:
        parts.append("missing: " + ", ".join(f"{c} {k}" for k, c in MISSING_CODES.items()))
    if var.notes:  # for example an item counted reversed, an exclusive option
        parts.append(var.notes)
    return "; ".join(parts)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def codebook_context(tables: list[Table], results: list[dict[str, Any]],
                     info: dict[str, Any]) -> dict[str, Any]:
    out_tables = []
    for t in tables:
        spss, stata = spss_names(t.variables), stata_names(t.variables)
        rows: list[dict[str, Any]] = []
        series: dict[str, dict[str, Any]] = {}
        for v in t.variables:
            if v.series and v.series in series:  # the same result at another occasion
                row = series[v.series]
                row["names"].append(v.name)
                row["spss"].append(spss[v.name])
                row["stata"].append(stata[v.name])
                row["where"] += f", {v.occasion}"
                continue
            where = ", ".join(x for x in (v.instrument, v.item, v.occasion) if x)
            row = {"names": [v.name], "spss": [spss[v.name]], "stata": [stata[v.name]],
                   "label": v.series_label or v.label, "type": v.type, "where": where,
                   "codes": codes_text(v)}
            if v.series:
                series[v.series] = row
            rows.append(row)
        out_tables.append({"name": t.name, "description": t.description, "rows": len(t.frame),
                           "files": t.files, "variables": rows, "wording": t.wording,
                           "left_out": t.left_out})
    missing = [{"kind": k, "code": c, "stata": STATA_MISSING[k], "label": MISSING_LABELS[k]}
               for k, c in MISSING_CODES.items()]
    return {**info, "tables": out_tables, "results": results, "missing": missing}


def render_codebook(context: dict[str, Any]) -> str:
    from ..reports.templating import render

    return render("codebook.html", package="formsengine.exports", **context)


def field_descriptor(var: Variable) -> dict[str, Any]:
    desc: dict[str, Any] = {"name": var.name, "type": FRICTIONLESS_TYPES[var.type],
                            "title": var.label}
    where = [f"{k}: {v}" for k, v in (("instrument", var.instrument), ("item", var.item),
                                      ("occasion", var.occasion), ("wording", var.wording))
             if v]
    if where:
        desc["description"] = "; ".join(where)
    missing = [{"value": "", "label": "nothing recorded"}]
    if var.missing:
        missing += [{"value": str(code), "label": kind} for kind, code in MISSING_CODES.items()]
    desc["missingValues"] = missing
    if var.value_labels and var.type == "integer":
        desc["categories"] = [{"value": int(k), "label": v}
                              for k, v in sorted(var.value_labels.items())]
    return desc


def datapackage(name: str, title: str, created: str, tables: list[Table],
                checksums: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """A Data Package (v2) describing the CSV file of every table."""
    resources = []
    for t in tables:
        path = f"{t.name}.csv"
        if path not in checksums:
            continue
        digest, size = checksums[path]
        resources.append({
            "name": t.name.replace("_", "-"), "path": path, "title": t.title,
            "description": t.description, "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "hash": f"sha256:{digest}", "bytes": size,
            "schema": {"fields": [field_descriptor(v) for v in t.variables]},
        })
    return {"$schema": DATAPACKAGE_PROFILE, "name": name, "title": title,
            "created": created, "resources": resources}


@contextmanager
def csv_limit_kept() -> Iterator[None]:
    """frictionless raises the ``csv`` module's process-wide field size limit when its CSV
    parser is first imported; put the limit back so that other readers keep theirs."""
    limit = csv.field_size_limit()
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def validate_datapackage(path: Path) -> list[str]:
    """Problems frictionless finds in the package (descriptor and every row)."""
    with csv_limit_kept():
        from frictionless import validate

        report = validate(str(path))
    return [f"{e[0]}: {e[1]}" for e in report.flatten(["type", "note"])]


def validate_descriptor_problems(descriptor: dict[str, Any]) -> list[str]:
    """Problems in the descriptor alone (fast: reads no data)."""
    with csv_limit_kept():
        from frictionless import Package

        report = Package.validate_descriptor(descriptor)
    return [f"{e[0]}: {e[1]}" for e in report.flatten(["type", "note"])]
