"""Output files and terminal tables for the ranking and the harm report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from .csvfile import BadRow, write_csv, write_text
from .harm import BLOCK_COLUMNS, SUMMARY_COLUMNS
from .ranking import OUTPUT_COLUMNS

RANKING_CSV = "rfg-ranking.csv"
RANKING_JSON = "rfg-ranking.json"
HARM_BLOCKS_CSV = "rfg-harm-blocks.csv"
HARM_SUMMARY_CSV = "rfg-harm-summary.csv"
HARM_JSON = "rfg-harm.json"
BAD_ROWS_CSV = "rfg-bad-rows.csv"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def prepare_out(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_bad_rows(folder: Path, groups: Iterable[tuple[str, list[BadRow]]]) -> Path:
    path = folder / BAD_ROWS_CSV
    write_csv(path, ["file", "line", "problem"],
              ([name, b.line, b.problem] for name, bad in groups for b in bad))
    return path


def write_ranking(folder: Path, payload: dict[str, Any]) -> list[Path]:
    csv_path = folder / RANKING_CSV
    write_csv(csv_path, list(OUTPUT_COLUMNS),
              ([row[c] for c in OUTPUT_COLUMNS] for row in payload["ranking"]))
    json_path = folder / RANKING_JSON
    write_text(json_path, to_json(payload))
    return [csv_path, json_path]


def write_harm(folder: Path, payload: dict[str, Any], block_rows: list[list[Any]]) -> list[Path]:
    blocks = folder / HARM_BLOCKS_CSV
    write_csv(blocks, list(BLOCK_COLUMNS), block_rows)
    summary = folder / HARM_SUMMARY_CSV
    write_csv(summary, list(SUMMARY_COLUMNS),
              ([row[c] for c in SUMMARY_COLUMNS] for row in payload["blocks"]))
    json_path = folder / HARM_JSON
    write_text(json_path, to_json(payload))
    return [blocks, summary, json_path]


def report_bad_rows(groups: Iterable[tuple[str, list[BadRow]]]) -> None:
    for name, bad in groups:
        for b in bad:
            click.echo(f"{name}: {b}", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_ranking(rows: list[dict[str, Any]], limit: int | None) -> None:
    header = ["rank", "perpetrator_ref", "total", "R", "months", "F_crime", "F_noncrime", "G",
              "V", "serial", "tied"]
    keys = ["rank", "perpetrator_ref", "total", "recency", "months_since_last",
            "frequency_crime", "frequency_noncrime", "gravity", "victims", "serial", "tied"]
    shown = rows if limit is None else rows[:limit]
    width = max([len("perpetrator_ref")] + [len(r["perpetrator_ref"]) for r in shown])
    click.echo(f"{header[0]:>6}  {header[1]:<{width}}  "
               + "  ".join(f"{h:>10}" for h in header[2:]))
    for row in shown:
        cells = [_cell(row[k]) for k in keys]
        click.echo(f"{cells[0]:>6}  {cells[1]:<{width}}  "
                   + "  ".join(f"{c:>10}" for c in cells[2:]))
    if len(shown) < len(rows):
        click.echo(f"... {len(rows) - len(shown)} more (use --out DIR for the whole list)")


def print_harm(summary: list[dict[str, Any]]) -> None:
    click.echo(f"{'block':<16}{'observed':>10}{'any inc.':>10}{'reoffend':>10}{'any crime':>11}"
               f"{'harm days':>12}{'mean':>10}{'crimes':>8}{'non-crime':>11}")
    for s in summary:
        rate = "-" if s["reoffending_rate"] is None else f"{s['reoffending_rate']:.1%}"
        click.echo(f"{s['block']:<16}{s['observed']:>10}{s['with_any_incident']:>10}{rate:>10}"
                   f"{s['with_any_crime']:>11}{_cell(s['harm_days_total']):>12}"
                   f"{_cell(s['harm_days_mean']):>10}{s['crimes']:>8}{s['non_crimes']:>11}")
