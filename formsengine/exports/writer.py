"""Writing a research export's files: the tables in every format, then the data package and
the codebook, with a checksum of each file.

SPSS and Stata writing is row by row inside pyreadstat and dominates large exports, so the
formats that allow it (``ExportFormat.parallel``) are written in a separate worker process
while this process builds the next tables. Small exports are written in-process: starting a
worker costs more than it saves.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import FormsEngineError
from .codebook import (
    Table,
    codebook_context,
    datapackage,
    render_codebook,
    validate_descriptor_problems,
)
from .formats import ExportFormat

PARALLEL_MIN_ROWS = 200_000


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def auto_workers(rows: int) -> int:
    """Worker processes for SPSS and Stata files: none for small exports, else up to two."""
    cores = os.cpu_count() or 1
    return min(2, cores) if rows >= PARALLEL_MIN_ROWS and cores > 1 else 0


class FileWriter:
    """Writes each table as it is added; ``finish`` waits for the worker and returns one
    file record (path, table, format, rows, columns, sha256, bytes) per file."""

    def __init__(self, folder: Path, formats: list[str], registry: dict[str, ExportFormat],
                 say: Callable[[str], None], workers: int = 0) -> None:
        self.folder = folder
        self.formats = formats
        self.registry = registry
        self.say = say
        self.files: list[dict[str, Any]] = []
        self.pending: list[tuple[str, Future]] = []
        self.pool = None
        if workers:
            # a fresh interpreter per worker: forking a process that holds SQLite
            # connections and Arrow thread pools is not safe
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn")
            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, table: Table, formats: list[str] | None = None) -> None:
        for fmt_id in formats or self.formats:
            fmt = self.registry[fmt_id]
            path = self.folder / f"{table.name}{fmt.suffix}"
            if self.pool is not None and fmt.parallel:
                self.pending.append((path.name, self.pool.submit(
                    fmt.write, table.frame, table.variables, path, table.title)))
            else:
                fmt.write(table.frame, table.variables, path, table.title)
                self.say(f"wrote {path.name}")
            table.files.append(path.name)
            self.files.append({"path": path.name, "table": table.name, "format": fmt_id,
                               "rows": len(table.frame), "columns": len(table.variables)})

    def finish(self) -> list[dict[str, Any]]:
        """Checksum what is written, wait for the worker, checksum the rest."""
        waiting = {name for name, _ in self.pending}
        for record in self.files:
            if record["path"] not in waiting:
                self._checksum(record)
        for name, future in self.pending:
            future.result()
            self.say(f"wrote {name}")
        for record in self.files:
            if record["path"] in waiting:
                self._checksum(record)
        return self.files

    def _checksum(self, record: dict[str, Any]) -> None:
        path = self.folder / record["path"]
        record["sha256"] = sha256_file(path)
        record["bytes"] = path.stat().st_size


def write_codebook(folder: Path, tables: list[Table], results: list[dict],
                   info: dict[str, Any], pdf: bool) -> list[str]:
    """``codebook.html`` and ``codebook.pdf``; returns the file names."""
    html = render_codebook(codebook_context(tables, results, info))
    (folder / "codebook.html").write_text(html, encoding="utf-8")
    if not pdf:
        return ["codebook.html"]
    from ..reports.pdf import html_to_pdf

    (folder / "codebook.pdf").write_bytes(html_to_pdf(html))
    return ["codebook.html", "codebook.pdf"]


def write_datapackage(folder: Path, tables: list[Table], info: dict[str, Any],
                      files: list[dict[str, Any]]) -> str:
    """``datapackage.json``, validated; returns the file name."""
    checksums = {f["path"]: (f["sha256"], f["bytes"]) for f in files}
    package = datapackage(f"formsengine-{info['project'].lower()}",
                          f"Research export: {info['project']}", info["created"], tables,
                          checksums)
    problems = validate_descriptor_problems(package)
    if problems:
        raise FormsEngineError("the data package descriptor is not valid: "
                               + "; ".join(problems))
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n")
    return "datapackage.json"


def file_records(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        path = folder / name
        out.append({"path": name, "table": None, "format": Path(name).suffix[1:],
                    "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return out
