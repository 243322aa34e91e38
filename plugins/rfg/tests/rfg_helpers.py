"""Helpers shared by the RFG tests (a unique module name: other plugins have conftests too)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

HEADER = ["perpetrator_ref", "date", "offence_code", "is_crime", "victim_ref"]


def write_incidents(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
