"""How many page views a second the hash-chained audit can record, on each backend.

Every view of a record is audited: one row appended to the hash chain. On PostgreSQL the
appends of all server processes are serialised by one transaction-scoped advisory lock
(SQLite's single writer does the same there), so a page view waits for the views before it.
The application records views in a separate view log instead ("viewlog": one insert with
no lock and no hash, sealed into the chain every 500 rows by the view that fills the batch,
which pays for the seal); this measures it against the chained append it replaced: `--threads`
writers (each with its own connection, as server threads have) record views as fast as
they can for `--seconds`, and, as the baseline, insert the same rows into an unchained
table of the same shape without the lock. On PostgreSQL a third kind, "async", appends to
the chain with `SET LOCAL synchronous_commit = off` (the lock is released without waiting
for the WAL flush; a crash could lose the last fraction of a second of view rows, never
leave a gap in the chain): measured, not used by the application. Printed per backend:
views a second, median and 95th percentile of one append, and the ratios of the view log
to the baseline and to the chained append. The views are sealed and the chain verified
after.

For scale: 200 practitioners loading a page every 3 seconds make about 67 audited views a
second; the busiest service in the issue's sizing (thousands of practitioners) a few
hundred.

    python benchmarks/bench_views.py [--threads 8] [--seconds 5] [--database-url URL] [--quick]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from judging import load  # noqa: E402
from pgscratch import DEFAULT_URL, scratch_url, server_url  # noqa: E402

from formsengine.config import Settings  # noqa: E402
from formsengine.engine import Engine  # noqa: E402
from formsengine.store import Store  # noqa: E402
from formsengine.store.maintenance import verify_audit  # noqa: E402


def hammer(location: str, engine: Engine, threads: int, seconds: float,
           chained: bool | str) -> list[float]:
    """Each thread appends view rows for ``seconds``; every append's latency."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with Store.open(location, engine) as store:
                barrier.wait()
                stop = time.monotonic() + seconds
                i = 0
                while time.monotonic() < stop and i < 1_000_000:
                    i += 1
                    began = time.perf_counter()
                    if chained == "viewlog":
                        store.log_view("view", actor=f"user{n}", object_type="case",
                                       object_id=i, request_id=secrets.token_hex(16))
                    elif chained == "async":
                        with store.write():
                            store.conn.execute("SET LOCAL synchronous_commit = off")
                            store.audit("view", actor=f"user{n}", object_type="case",
                                        object_id=i, request_id=secrets.token_hex(16))
                    elif chained:
                        store.audit("view", actor=f"user{n}", object_type="case",
                                    object_id=i, request_id=secrets.token_hex(16))
                    else:
                        store.conn.execute(
                            "INSERT INTO bench_views (at, actor, action, object_type,"
                            " object_id, request_id) VALUES (?, ?, ?, ?, ?, ?)",
                            [time.time(), f"user{n}", "view", "case", str(i),
                             secrets.token_hex(16)])
                    latencies[n].append(time.perf_counter() - began)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return [t for per in latencies for t in per]


def measure(name: str, location: str, threads: int, seconds: float) -> None:
    engine = Engine(Settings())
    with Store.open(location, engine, create=True) as store:
        with store.write():
            store.conn.execute("CREATE TABLE bench_views (id INTEGER PRIMARY KEY, at REAL,"
                               " actor TEXT, action TEXT, object_type TEXT, object_id TEXT,"
                               " request_id TEXT)" if not store.postgres else
                               "CREATE TABLE bench_views (id BIGSERIAL PRIMARY KEY, at DOUBLE"
                               " PRECISION, actor TEXT, action TEXT, object_type TEXT,"
                               " object_id TEXT, request_id TEXT)")
    found = {}
    kinds = (("chained", "viewlog", "plain", "async") if location.startswith("postgresql")
             else ("chained", "viewlog", "plain"))
    for kind in kinds + kinds:  # taking turns
        found.setdefault(kind, []).extend(
            hammer(location, engine, threads, seconds / 2,
                   {"chained": True, "plain": False, "async": "async",
                    "viewlog": "viewlog"}[kind]))
    with Store.open(location, engine) as store:
        report = verify_audit(store)  # seals the views left, then verifies
    rate = {k: len(v) / seconds for k, v in found.items()}
    for kind, times in found.items():
        times.sort()
        print(f"{name:10} {kind:8} {rate[kind]:9,.0f} views/s   median "
              f"{statistics.median(times) * 1000:6.2f} ms   p95 "
              f"{times[int(0.95 * (len(times) - 1))] * 1000:6.2f} ms")
    print(f"{name:10} chained / plain views a second: {rate['chained'] / rate['plain']:.2f}; "
          f"view log / plain: {rate['viewlog'] / rate['plain']:.2f}; view log / chained: "
          f"{rate['viewlog'] / rate['chained']:.1f}; "
          f"chain {'intact' if report.ok else 'BROKEN: ' + report.message()} "
          f"({report.rows:,} rows, {report.views_sealed:,} view rows sealed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="per kind (chained, viewlog, plain), in two turns")
    parser.add_argument("--database-url", help=f"PostgreSQL server (default: "
                        f"FORMSENGINE_BENCH_DATABASE_URL, else {DEFAULT_URL})")
    parser.add_argument("--quick", action="store_true", help="2 s per kind")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 2.0
    os.environ.setdefault("FORMSENGINE_AUDIT_KEY", secrets.token_hex(32))
    print(f"{args.threads} writers, {args.seconds:g} s per kind; load {load():.1f} on "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", str(Path(tmp) / "views.db"), args.threads, args.seconds)
    with scratch_url(server_url(args.database_url) or DEFAULT_URL) as url:
        measure("postgresql", url, args.threads, args.seconds)
    print(f"load at the end {load():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
