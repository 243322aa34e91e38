"""Offence tables: crime harm in days per offence code.

A harm table is a UTF-8 CSV file with the columns ``offence_code`` and ``harm_days`` (and
optionally ``label``). Lines starting with ``#`` are comments. Codes are matched ignoring
case and surrounding spaces. The organisation supplies the real table (for example the
Cambridge Crime Harm Index, under its licence); this plugin ships only a small illustrative
table of invented numbers, which is NOT the index.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .csvfile import CsvFileError

MAX_TABLE_BYTES = 5_000_000
ILLUSTRATIVE_TABLE = "illustrative_harm_table.csv"
ILLUSTRATIVE_NOTE = ("formsengine's illustrative harm table: invented round numbers, NOT the "
                     "Cambridge Crime Harm Index; supply your own table with --harm-table")


def code_key(code: str) -> str:
    """How offence codes are compared: without surrounding spaces, ignoring case."""
    return code.strip().casefold()


@dataclass
class HarmTable:
    name: str
    sha256: str
    days: dict[str, float]
    labels: dict[str, str] = field(default_factory=dict)
    illustrative: bool = False

    def record(self) -> dict:
        out = {"name": self.name, "sha256": self.sha256, "offences": len(self.days),
               "illustrative": self.illustrative}
        if self.illustrative:
            out["note"] = ILLUSTRATIVE_NOTE
        return out


def load_harm_table(path: Path | None) -> HarmTable:
    """The table at ``path``, or the shipped illustrative table when ``path`` is None."""
    if path is None:
        ref = resources.files(__package__).joinpath("data", ILLUSTRATIVE_TABLE)
        return parse_harm_table(ref.read_bytes(), ILLUSTRATIVE_TABLE, illustrative=True)
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise CsvFileError(f"harm table {path.name}: file is {size:,} bytes; the limit is "
                               f"{MAX_TABLE_BYTES:,} bytes")
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(f"harm table {path.name}: cannot read: {exc.strerror}") from None
    return parse_harm_table(raw, path.name)


def parse_harm_table(raw: bytes, name: str, *, illustrative: bool = False) -> HarmTable:
    where = f"harm table {name}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"{where}: not UTF-8 text (bad byte at offset {exc.start})") from None
    lines = ["\n" if line.lstrip().startswith("#") else line
             for line in io.StringIO(text, newline="")]
    reader = csv.reader(lines, strict=True)
    problems: list[str] = []
    columns: dict[str, int] | None = None
    days: dict[str, float] = {}
    labels: dict[str, str] = {}
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or not any(c.strip() for c in row):
                continue
            if columns is None:
                columns = {c.strip().lower(): i for i, c in enumerate(row)}
                missing = [c for c in ("offence_code", "harm_days") if c not in columns]
                if missing:
                    raise CsvFileError(f"{where}: line {line}: missing column(s) "
                                       f"{', '.join(missing)} (the header needs offence_code, "
                                       "harm_days and optionally label)")
                continue
            if len(row) != len(columns):
                problems.append(f"line {line}: has {len(row)} values; the header has "
                                f"{len(columns)}")
                continue
            code = row[columns["offence_code"]].strip()
            if not code or len(code) > 100:
                problems.append(f"line {line}: offence_code must be 1 to 100 characters")
                continue
            key = code_key(code)
            if key in days:
                problems.append(f"line {line}: offence code {code!r} is listed twice")
                continue
            text_value = row[columns["harm_days"]].strip()
            try:
                value = float(text_value)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                problems.append(f"line {line}: harm_days {text_value[:40]!r} is not a "
                                "number of days (0 or more)")
                continue
            days[key] = int(value) if value.is_integer() else value
            if "label" in columns:
                labels[key] = row[columns["label"]].strip()
    except csv.Error as exc:
        problems.append(f"line {start}: cannot be read as CSV: {exc}")
    if columns is None:
        raise CsvFileError(f"{where}: no header line (offence_code, harm_days, label)")
    if problems:
        shown = "; ".join(problems[:20])
        more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CsvFileError(f"{where}: {shown}{more}")
    if not days:
        raise CsvFileError(f"{where}: lists no offences")
    return HarmTable(name=name, sha256="sha256:" + hashlib.sha256(raw).hexdigest(), days=days,
                     labels=labels, illustrative=illustrative)
