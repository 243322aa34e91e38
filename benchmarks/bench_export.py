"""Research export vs a plain sqlite3 CSV dump of the same score rows.

Data: synthetic service users (default 20,000), each assessed at 5 occasions (intake,
review_3m, review_6m, review_9m, closure) with 4 instruments: drive-dash, drive-behaviours,
needs-su (shipped plugins) and needs-su-local, an organisation's local variant of needs-su
loaded from a definitions folder. That is 400,000 final assessments. The database is built
once (through the normal importer) and kept in ``benchmarks/out/`` for later runs.

Ours: ``export_research`` with every built-in format (CSV, Parquet, SPSS, Stata) of the
long, wide and item-level tables, the data package, the codebook (HTML and PDF) and the
manifest. Baseline: Python's own ``sqlite3`` module and ``csv.writer`` dumping the same score
rows (person reference, instrument, occasion, date, kind, name, values; latest score of each
final assessment) to one CSV file. Each side runs in its own child process, started fresh
(not a copy of this one), so that its own peak memory can be reported: the high-water mark
of the child's own memory (``VmHWM``), not ``ru_maxrss``, which for a child started from this
process begins at this process's size. The export writes SPSS and Stata files in worker
processes, which can use a second core while the wall clock runs, so the script prints the
CPU time of every process of each side (the child, its workers and their server process,
all waited for: ``RUSAGE_SELF`` and ``RUSAGE_CHILDREN`` over the timed part) beside the
wall time, and both ratios
(target <= 5x; judged on the larger, and only while the machine's load average is below its
number of cores).

With ``--database-url postgresql+psycopg://...`` (or FORMSENGINE_BENCH_DATABASE_URL set) the
same data is imported into a throwaway PostgreSQL schema and exported from there too, with
the same pseudonymisation key as the SQLite export: the PostgreSQL export's wall and CPU
time are printed beside SQLite's (target: within 2x), and its data files are compared byte
for byte with SQLite's.

    python benchmarks/bench_export.py               # 20,000 people
    python benchmarks/bench_export.py --people 500  # smaller run (--quick: 500)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from judging import load, verdict
from pgscratch import scratch_url, server_url

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
INSTRUMENTS = ["drive-dash", "drive-behaviours", "needs-su", "needs-su-local"]
OCCASIONS = ["intake", "review_3m", "review_6m", "review_9m", "closure"]

BASELINE_SQL = """
SELECT p.ref, a.instrument_id, a.occasion, COALESCE(a.assessment_date, a.created_at),
       sv.kind, sv.name, sv.value_num, sv.value_text
FROM assessments a
JOIN people p ON p.id = a.person_id
JOIN scores s ON s.assessment_id = a.id
     AND s.seq = (SELECT MAX(seq) FROM scores s2 WHERE s2.assessment_id = a.id)
JOIN score_values sv ON sv.score_id = s.id
WHERE a.status = 'final'
"""


def definitions_dir() -> Path:
    """A local definitions folder holding the local variant of needs-su."""
    import formsengine_needs

    folder = OUT / "definitions"
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(formsengine_needs.__file__).parent / "definitions" / "needs-su.json"
    definition = json.loads(source.read_text())
    definition["id"] = "needs-su-local"
    definition["title"] = definition["title"] + " (local variant)"
    definition.pop("test_vectors", None)
    (folder / "needs-su-local.json").write_text(json.dumps(definition))
    return folder


def engine():
    import formsengine_drive_dash
    import formsengine_needs

    from formsengine.config import Settings
    from formsengine.engine import Engine

    return Engine(Settings(definitions_dir=definitions_dir()), load_entrypoints=False,
                  plugins=[formsengine_drive_dash, formsengine_needs])


def build_database(people: int) -> Path:
    db = OUT / f"bench-export-{people}.db"
    if db.exists():
        return db
    from formsengine.store import Store

    eng = engine()
    partial = db.with_suffix(".partial")
    for leftover in [*OUT.glob(partial.name + "*"), *OUT.glob(db.name + "*")]:
        leftover.unlink()
    store = Store.open(partial, eng, create=True)
    fill(store, eng, people)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    from formsengine.audit import key_path

    key_path(partial).rename(key_path(db))  # the audit chain's key goes with its database
    partial.rename(db)
    return db


def fill(store, eng, people: int) -> None:
    """Import ``people`` synthetic people into ``store`` (either backend), in batches."""
    from formsengine.importer import import_file
    from formsengine.synthetic import generate

    start = time.perf_counter()
    batch = 2000  # people per import file, to keep memory flat
    for first in range(0, people, batch):
        count = min(batch, people - first)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
            for record in generate(eng, people=count, instruments=INSTRUMENTS, seed=first + 1):
                n = int(record["person"].split("-")[1]) + first
                record["person"] = f"SU-{n:06d}"
                record["case"] = f"C-{n:06d}"
                fh.write(json.dumps(record) + "\n")
        import_file(store, Path(fh.name), actor="bench")
        Path(fh.name).unlink()
        print(f"  built {first + count}/{people} people "
              f"({time.perf_counter() - start:.0f}s)", file=sys.stderr)
    store.conn.execute("UPDATE people SET birth_year = 1960 + (id % 40)")


def build_postgres(people: int, url: str) -> None:
    from formsengine.store import Store

    eng = engine()
    with Store.open(url, eng, create=True) as store:
        fill(store, eng, people)


def child_baseline(db: Path, out: Path) -> dict:
    import csv
    import sqlite3  # the standard library's module: the plain baseline

    cpu = cpu_seconds()
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    rows = 0
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ref", "instrument", "occasion", "date", "kind", "name", "value_num",
                         "value_text"])
        cursor = conn.execute(BASELINE_SQL)
        while batch := cursor.fetchmany(50_000):
            writer.writerows(batch)
            rows += len(batch)
    conn.close()
    return {"seconds": time.perf_counter() - start, "rows": rows,
            "cpu_seconds": cpu_seconds() - cpu}


def child_export(db: Path, out: Path) -> dict:
    from formsengine.exports.keys import create_key_file
    from formsengine.exports.research import ResearchOptions, export_research
    from formsengine.store import Store

    key = out.parent / "bench.key"  # one key for every export of the run
    if not key.exists():
        create_key_file(key, "bench")
    store = Store.open(str(db) if str(db).startswith("postgresql") else db, engine())
    cpu = cpu_seconds()
    start = time.perf_counter()
    manifest = export_research(
        store, ResearchOptions(project="bench", out=out, key_file=key,
                               purpose="benchmark of the research export", actor="bench"),
        progress=lambda m: print("  " + m, file=sys.stderr))
    seconds = time.perf_counter() - start
    store.close()
    long_rows = manifest["counts"]["tables"]["scores_long"]
    stop_forkserver()
    return {"seconds": seconds, "rows": long_rows, "files": len(manifest["files"]),
            "bytes": sum(f["bytes"] for f in manifest["files"]),
            "cpu_seconds": cpu_seconds() - cpu,
            "worker_cpu_seconds": cpu_seconds(resource.RUSAGE_CHILDREN)}


def cpu_seconds(*who: int) -> float:
    """CPU time of this process and of every child it has waited for (none before the
    timed part starts), user and system."""
    total = 0.0
    for kind in who or (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(kind)
        total += usage.ru_utime + usage.ru_stime
    return total


def stop_forkserver() -> None:
    """Stop and wait for multiprocessing's fork server (the parent of the export's workers,
    which it waits for), so that their CPU time reaches this process's parent through
    ``RUSAGE_CHILDREN``."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if stop is not None:
        stop()


def own_peak_mb() -> float:
    """The high-water mark of this process's own resident memory, in MB (Linux: VmHWM, which
    starts again at exec; elsewhere ru_maxrss, which may include the parent's size)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        children.setdefault(int(fields["PPid"]), []).append(int(entry.name))
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / 1024


def run_child(kind: str, db: Path | str, out: Path) -> dict:
    """Run one side in a child process; sample the memory of its process tree (the export's
    SPSS/Stata worker processes included) while it runs."""
    where = ["--database-url", db] if isinstance(db, str) else ["--db", str(db)]
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, *where,
                             "--out", str(out)], stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        if Path("/proc").is_dir():
            peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    output = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"{kind} failed with exit code {proc.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_tree_mb"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="500 people (make bench)")
    parser.add_argument("--child", choices=["baseline", "export"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help="also export from this PostgreSQL server "
                        "(the same data in a throwaway schema)")
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.database_url:
        args.db = args.database_url  # the child exports from PostgreSQL
    if args.child:
        result = (child_baseline if args.child == "baseline" else child_export)(args.db,
                                                                                args.out)
        result["peak_rss_mb"] = own_peak_mb()
        print(json.dumps(result))
        return
    if args.quick:
        args.people = 500
    OUT.mkdir(exist_ok=True)
    print(f"database: {args.people} people x {len(OCCASIONS)} occasions x "
          f"{len(INSTRUMENTS)} instruments", file=sys.stderr)
    db = build_database(args.people)
    load_before = load()
    url = server_url(args.database_url)
    pg = None
    with tempfile.TemporaryDirectory(dir=OUT) as tmp, contextlib.ExitStack() as stack:
        if url:
            os.environ.setdefault("FORMSENGINE_AUDIT_KEY", secrets.token_hex(32))
            scoped = stack.enter_context(scratch_url(url))
            print("building the same data on PostgreSQL...", file=sys.stderr)
            build_postgres(args.people, scoped)
        base = run_child("baseline", db, Path(tmp) / "dump.csv")
        ours = run_child("export", db, Path(tmp) / "export")
        if url:
            pg = run_child("export", scoped, Path(tmp) / "export-pg")
            pg["same"], pg["compared"] = same_files(Path(tmp) / "export",
                                                    Path(tmp) / "export-pg")
    ratio = ours["seconds"] / base["seconds"]
    cpu_ratio = ours["cpu_seconds"] / base["cpu_seconds"]
    print(f"people {args.people}, score rows {base['rows']} (export long rows {ours['rows']})")
    print(f"baseline sqlite3 + csv dump : {base['seconds']:8.2f} s wall, CPU"
          f" {base['cpu_seconds']:7.2f} s, peak {base['peak_rss_mb']:7.0f} MB")
    print(f"research export ({ours['files']} files, {ours['bytes'] / 1e6:.0f} MB): "
          f"{ours['seconds']:8.2f} s wall, CPU of all its processes {ours['cpu_seconds']:7.2f}"
          f" s (workers {ours['worker_cpu_seconds']:.2f} s), peak"
          f" {ours['peak_rss_mb']:7.0f} MB (main process), {ours['peak_tree_mb']:7.0f} MB"
          " (with its worker processes, sampled)")
    judged = verdict(max(ratio, cpu_ratio) <= 5, load_before)
    if args.people < 20_000:
        judged = ("not judged: the target applies at 20,000 people; small runs are dominated"
                  " by fixed costs such as the codebook PDF")
    print(f"HEADLINE ratio: wall {ratio:.2f}x, CPU (every process)"
          f" {cpu_ratio:.2f}x (target <= 5x): {judged}")
    if pg:
        pg_ratio = pg["seconds"] / ours["seconds"]
        print(f"PostgreSQL research export: {pg['seconds']:8.2f} s wall, CPU of its processes "
              f"{pg['cpu_seconds']:7.2f} s (the database server's not included), peak "
              f"{pg['peak_rss_mb']:7.0f} MB (main process)")
        print(f"PostgreSQL / SQLite export: wall {pg_ratio:.2f}x (target <= 2x): "
              f"{verdict(pg_ratio <= 2, load_before)}; data files identical to SQLite's: "
              f"{pg['same']} of {pg['compared']}")


def same_files(a: Path, b: Path) -> tuple[int, int]:
    """How many data files (CSV, Parquet, SPSS, Stata) of export ``a`` are byte-identical in
    export ``b``; the names of those that differ."""
    names = sorted(p.relative_to(a) for p in a.rglob("*")
                   if p.suffix in (".csv", ".parquet", ".sav", ".dta"))
    for n in names:
        if not (b / n).exists() or (a / n).read_bytes() != (b / n).read_bytes():
            print(f"  differs: {n}", file=sys.stderr)
    same = sum(1 for n in names if (b / n).exists() and (a / n).read_bytes() ==
               (b / n).read_bytes())
    return same, len(names)


if __name__ == "__main__":
    main()
