"""Reading and writing CSV files safely.

Reading: a size limit on the whole file, UTF-8 checked row by row (a row with bytes that
are not UTF-8 is bad; the rest of the file is still read), a header whose required columns
must all be present, and every record numbered by the physical line it starts on, so that a
problem can be reported as "line 17: ...".

Writing: text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) are written with a leading apostrophe. Numbers written
by this plugin are written as numbers.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formsengine.errors import FormsEngineError

MAX_CSV_BYTES = 100_000_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvFileError(FormsEngineError):
    """A problem with a whole file: it cannot be read, is too large or lacks columns."""


@dataclass(frozen=True)
class BadRow:
    line: int
    problem: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "problem": self.problem}

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


@dataclass
class CsvRows:
    """The records of a CSV file after the header, each with the line it starts on."""

    label: str
    columns: dict[str, int]
    records: Iterator[tuple[int, list[str]]]
    bad: list[BadRow]
    extra_columns: list[str]


def _utf8(cells: list[str]) -> bool:
    """False when the cells hold bytes that were not UTF-8 (kept as surrogate escapes)."""
    text = "".join(cells)
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_csv(path: Path, *, label: str, required: Iterable[str],
             one_of: Iterable[str] = (), optional: Iterable[str] = (),
             max_bytes: int | None = None) -> CsvRows:
    """Open ``path`` and check its header.

    ``required`` columns must all be present, and at least one of ``one_of`` when given.
    Column names are matched without regard to case or surrounding spaces. Records come back
    lazily as ``(line, cells)``; records whose cell count differs from the header's, that
    contain bytes that are not UTF-8, or that the CSV parser refuses are added to ``bad``
    while reading and not returned. Blank lines are skipped.
    """
    limit = MAX_CSV_BYTES if max_bytes is None else max_bytes
    where = f"{label} {path.name}"
    try:
        if not path.is_file():
            raise CsvFileError(f"{where}: not a regular file")
        size = path.stat().st_size
    except OSError as exc:
        raise CsvFileError(f"{where}: cannot read: {exc.strerror}") from None
    if size > limit:
        raise CsvFileError(
            f"{where}: file is {size:,} bytes; the limit is {limit:,} bytes. "
            "Split the file, or extract a shorter period.")
    # Bytes that are not UTF-8 are kept as surrogate escapes, so that one bad line spoils
    # only its own row; rows holding them are reported.
    handle = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise CsvFileError(f"{where}: line 1: the header cannot be read: {exc}") from None
        if header is None or not any(h.strip() for h in header):
            raise CsvFileError(f"{where}: the file is empty; line 1 must be a header naming "
                               f"the columns {', '.join(required)}")
        if not _utf8(header):
            raise CsvFileError(f"{where}: line 1 (the header) is not UTF-8 text")
        names = [h.strip().lower() for h in header]
        columns: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in columns:
                raise CsvFileError(f"{where}: line 1: column {name[:40]!r} appears twice")
            columns[name] = index
        required = list(required)
        one_of = list(one_of)
        missing = [c for c in required if c not in columns]
        if one_of and not any(c in columns for c in one_of):
            missing.append(" or ".join(one_of))
        if missing:
            found = ", ".join(n[:40] for n in names[:20]) or "none"
            raise CsvFileError(f"{where}: line 1: missing column(s) {', '.join(missing)} "
                               f"(found: {found})")
    except BaseException:
        handle.close()
        raise
    known = set(required) | set(one_of) | set(optional)
    extra = [n for n in names if n not in known]
    bad: list[BadRow] = []
    return CsvRows(label, columns, _records(reader, handle, len(names), bad), bad, extra)


def _records(reader: Any, handle: Any, width: int,
             bad: list[BadRow]) -> Iterator[tuple[int, list[str]]]:
    last = reader.line_num
    try:
        while True:
            start = last + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                hint = " (an unclosed quote?)" if "field limit" in str(exc) else ""
                bad.append(BadRow(start, f"cannot be read as CSV: {exc}{hint}"))
                last = reader.line_num
                continue
            last = reader.line_num
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                bad.append(BadRow(start, f"has {len(row)} values; the header has {width} "
                                         "(a missing or extra comma?)"))
                continue
            if not _utf8(row):
                bad.append(BadRow(start, "is not UTF-8 text (re-save the file as UTF-8)"))
                continue
            yield start, row
    finally:
        handle.close()


def safe_cell(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV file atomically (a temporary file renamed into place)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    write_text(path, buffer.getvalue())


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)
