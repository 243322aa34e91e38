"""Analysis results as JSON, CSV (one statistic per row) and an HTML or PDF summary."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from ..exports.privacy import neutralise_cell

CSV_COLUMNS = ["group", "type", "variable", "label", "measure", "level_first",
               "level_second", "value"]


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def _sections(result: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "all", result["all"]
    yield from (result.get("groups") or {}).items()


def paired_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    for group, section in _sections(result):
        yield [group, "people", "", "", "paired", "", "", section["paired"]]
        for e in section["binary"]:
            base = [group, "binary", e["id"], e["label"]]
            for measure, value in (
                    ("n", e["n"]), *((f"table_{k}", v) for k, v in e["table"].items()),
                    ("first_yes", e["first"]["yes"]),
                    ("first_percent_yes", e["first"]["percent_yes"]),
                    ("second_yes", e["second"]["yes"]),
                    ("second_percent_yes", e["second"]["percent_yes"]),
                    ("percent_change_yes", e["percent_change_yes"]),
                    ("p_mcnemar_exact", e["mcnemar"]["p_exact"]),
                    *((f"excluded_{k}", v) for k, v in e["excluded"].items())):
                yield [*base, measure, "", "", value]
        for e in section["ordinal"]:
            base = [group, "ordinal", e["id"], e["label"]]
            yield [*base, "n", "", "", e["n"]]
            for i, first in enumerate(e["levels"]):
                for j, second in enumerate(e["levels"]):
                    yield [*base, "transition", first, second, e["transitions"][i][j]]
            for level in e["levels"]:
                yield [*base, "first_count", level, "", e["first"][level]["count"]]
                yield [*base, "first_percent", level, "", e["first"][level]["percent"]]
                yield [*base, "second_count", "", level, e["second"][level]["count"]]
                yield [*base, "second_percent", "", level, e["second"][level]["percent"]]
                yield [*base, "percent_change", level, level, e["percent_change"][level]]
            for measure in ("moved_worse", "moved_better", "same"):
                yield [*base, measure, "", "", e[measure]]
            for k, v in e["excluded"].items():
                yield [*base, f"excluded_{k}", "", "", v]
        for e in section["numeric"]:
            base = [group, "numeric", e["id"], e["label"]]
            for measure in ("n", "mean_first", "mean_second", "mean_change", "median_change"):
                yield [*base, measure, "", "", e[measure]]
            yield [*base, "p_wilcoxon", "", "", e["wilcoxon"]["p"]]
            for k, v in e["excluded"].items():
                yield [*base, f"excluded_{k}", "", "", v]
    for diff in result.get("differences") or []:
        pair = " vs ".join(diff["groups"])
        for e in diff["binary"]:
            for what in ("yes_at_second", "stopped"):
                yield [pair, "difference", e["id"], e["label"], f"{what}_points", "", "",
                       e[what]["difference_points"]]
                yield [pair, "difference", e["id"], e["label"], f"{what}_p_fisher", "", "",
                       e[what]["p_fisher"]]
        for e in diff["ordinal"]:
            for what in ("moved_better", "moved_worse"):
                yield [pair, "difference", e["id"], e["label"], f"{what}_points", "", "",
                       e[what]["difference_points"]]
                yield [pair, "difference", e["id"], e["label"], f"{what}_p_fisher", "", "",
                       e[what]["p_fisher"]]
        for e in diff["numeric"]:
            yield [pair, "difference", e["id"], e["label"], "mean_change_difference", "", "",
                   e["difference"]]
            yield [pair, "difference", e["id"], e["label"], "p_mann_whitney", "", "",
                   e["p_mann_whitney"]]


def to_csv(rows: Iterator[list[Any]], columns: list[str] = CSV_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else neutralise_cell(v) for v in row])
    return buffer.getvalue()


def harm_rows(result: dict[str, Any]) -> Iterator[list[Any]]:
    for name, g in result["groups"].items():
        for measure, value in g.items():
            yield [name, measure, value]
    for measure in ("difference_in_differences", "total_difference_in_differences",
                    "p_welch_t", "p_mann_whitney"):
        yield ["", measure, result[measure]]


def to_html(template: str, result: dict[str, Any]) -> str:
    from ..reports.templating import render

    return render(template, package="formsengine.analysis", result=result)


def to_pdf(template: str, result: dict[str, Any]) -> bytes:
    from ..reports.pdf import html_to_pdf

    return html_to_pdf(to_html(template, result))
