"""Importing and scoring 10,000 DASH assessments into SQLite vs a raw executemany.

Our side: `formsengine assessments import` on a JSON Lines file (read, check every answer
against the definition, score, write assessments, answers, score rows and hash-chained audit
rows in one BEGIN IMMEDIATE transaction). Baseline: `sqlite3.executemany` of the same answer
rows into a table of the same shape, in a file with the same settings (WAL,
synchronous=FULL), in one transaction. Both run in the same process, alternately; the script
prints the ratio of wall times (target <= 5x) and, beside it, the ratio of CPU times (which a
busy machine inflates less: the machine is shared), and checks the row counts.

The import's peak memory is measured in a separate (spawned) process importing the same
file, so the figure is the import's own, not this script's: it stays flat as the file grows
(the import reads, checks and writes in chunks).

With `--database-url postgresql+psycopg://...` (or FORMSENGINE_BENCH_DATABASE_URL set) the
same import into PostgreSQL (a throwaway schema each round) takes its turn in every round, and
its ratio to the same SQLite baseline is printed beside SQLite's (target: PostgreSQL within 2x
of SQLite on one machine).

    python benchmarks/bench_import.py [--quick] [--n 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

import formsengine_dash

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.importer import import_file
from formsengine.store import Store, connect, encode_value
from formsengine.store import inspection as look
from formsengine.synthetic import generate

try:
    from pgscratch import scratch_url, server_url
except ImportError:  # run as a module from the top folder
    from benchmarks.pgscratch import scratch_url, server_url


def make_records(engine: Engine, n: int) -> list[dict]:
    records = []
    occasions = [o for o in engine.instruments.get("dash-safelives").occasions
                 if o != "after_incident"]
    people = n // len(occasions) + 2
    for record in generate(engine, people=people, instruments=["dash-safelives"], seed=3):
        if record["occasion"] == "after_incident":
            continue
        records.append(record)
        if len(records) == n:
            return records
    raise AssertionError("not enough records generated")


def ours(engine: Engine, jsonl: Path, db: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, assessments imported)."""
    store = Store.open(db, engine, create=True)
    start, cpu = time.perf_counter(), time.process_time()
    summary = import_file(store, jsonl, actor="bench")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    store.close()
    return elapsed, cpu, summary["imported"]


def ours_postgres(engine: Engine, jsonl: Path, url: str) -> tuple[float, float, int]:
    """The same import into a throwaway PostgreSQL schema: (wall s, CPU s of this process,
    assessments imported). The server's own CPU is not in the CPU figure."""
    with scratch_url(url) as scoped:
        store = Store.open(scoped, engine, create=True)
        start, cpu = time.perf_counter(), time.process_time()
        summary = import_file(store, jsonl, actor="bench")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        stored = look.count(store, "scores")  # each imported assessment scored once
        store.close()
    return elapsed, cpu, summary["imported"] if stored == summary["imported"] else 0


def _peak_child(jsonl: str, db: str, out) -> None:
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = Store.open(Path(db), engine, create=True)
    import_file(store, Path(jsonl), actor="bench")
    store.close()
    out.put((before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def peak_memory(jsonl: Path, db: Path) -> tuple[float, float]:
    """(peak RSS before the import, peak RSS after it) of a fresh process, in MB."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(str(jsonl), str(db), out))
    proc.start()
    before, after = out.get(timeout=3600)
    proc.join()
    return before / 1024, after / 1024


def baseline(records: list[dict], db: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, answer rows written)."""
    conn = connect(db)
    conn.execute("CREATE TABLE answers (assessment_id INTEGER NOT NULL, item_id TEXT NOT NULL,"
                 " value TEXT NOT NULL, PRIMARY KEY (assessment_id, item_id)) WITHOUT ROWID")
    start, cpu = time.perf_counter(), time.process_time()
    rows = [(n, item, encode_value(v)) for n, r in enumerate(records, 1)
            for item, v in r["answers"].items()]
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO answers VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return elapsed, cpu, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 assessments, 2 rounds")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--database-url", help="also import into this PostgreSQL server "
                        "(a throwaway schema each round)")
    args = parser.parse_args()
    url = server_url(args.database_url)
    n, rounds = (2000, 2) if args.quick else (args.n, 3)
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    records = make_records(engine, n)
    answer_rows = sum(len(r["answers"]) for r in records)
    best_ours = best_base = cpu_ours = cpu_base = best_pg = cpu_pg = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jsonl = folder / "in.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
        for k in range(rounds):
            t, cpu, imported = ours(engine, jsonl, folder / f"ours{k}.db")
            assert imported == n
            best_ours, cpu_ours = min(best_ours, t), min(cpu_ours, cpu)
            t, cpu, rows = baseline(records, folder / f"base{k}.db")
            assert rows == answer_rows
            best_base, cpu_base = min(best_base, t), min(cpu_base, cpu)
            if url:
                t, cpu, imported = ours_postgres(engine, jsonl, url)
                assert imported == n
                best_pg, cpu_pg = min(best_pg, t), min(cpu_pg, cpu)
        before, after = peak_memory(jsonl, folder / "memory.db")
        store = Store.open(folder / "ours0.db", engine)
        stored = store.one("SELECT COUNT(*) AS n FROM answers")["n"]
        scores = store.one("SELECT COUNT(*) AS n FROM scores")["n"]
        store.close()
    assert stored == answer_rows and scores == n
    print(f"assessments: {n}, answer rows: {answer_rows}, best of {rounds}")
    print(f"formsengine import (check, score, store, audit): {best_ours:.2f} s "
          f"({n / best_ours:,.0f} assessments/s), CPU {cpu_ours:.2f} s")
    print(f"raw executemany of the answer rows:              {best_base:.2f} s, "
          f"CPU {cpu_base:.2f} s")
    print(f"ratio import / raw executemany: {best_ours / best_base:.2f}x (target <= 5x); "
          f"CPU {cpu_ours / cpu_base:.2f}x")
    if url:
        print(f"formsengine import into PostgreSQL:             {best_pg:.2f} s "
              f"({n / best_pg:,.0f} assessments/s), CPU of this process {cpu_pg:.2f} s")
        print(f"ratio PostgreSQL import / raw executemany: {best_pg / best_base:.2f}x; "
              f"PostgreSQL / SQLite import: {best_pg / best_ours:.2f}x (target <= 2x)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print(f"peak memory of the import's process: {after:.0f} MB ({after - before:.0f} MB more "
          f"than after start-up; target <= 250 MB at 100,000 rows)")


if __name__ == "__main__":
    main()
