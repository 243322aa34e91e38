"""Practitioners' saves while a supervisor pages through the largest team's lists.

One SQLite file holds a team of `--cases` open cases (an intake and a review DASH each,
imported as `bench_caseload.py` builds them) and `--clients` practitioners of that team.
`formsengine serve --workers 2 --threads 2` (loopback; docs/deployment.md: a process per
core, few threads in each) serves it; `--workers 1 --threads 4` is `serve`'s default.
Each practitioner repeats the save-and-score of `bench_web.py` (a DASH section posted as a
browser posts it); in the runs "with paging" a supervisor of the team meanwhile walks the
lists without pause: the case list, the caseload in each order, the team's due page, each
followed through its "Next" links for `--pages` pages, then again from the start.

The two kinds of run take turns (alone, with paging, alone, ...: `--rounds`) so that a
change in the machine's load falls on both. Printed: the saves' median and 95th
percentile in each, the supervisor's pages a second and median page time, and the ratio of
the saves' medians (target, issue on cost that stays flat: at most 1.5x), with the ratio of
their means and of the saves a second beside it. Each client keeps one connection open for a
run, and the kernel gives each new connection to one of the processes, so with several
processes how the 8 clients and the supervisor fall on them changes from run to run: read
the mean beside the median. The benchmark fills the machine itself, so the verdict is
printed only while the load average before it was at most the number of cores and the
machine's other processes used at most a quarter of a core meanwhile (`judging.py`).

    python benchmarks/bench_paging_saves.py [--cases 13000] [--clients 8] [--seconds 15]
                                            [--rounds 2] [--pages 5] [--workers 2]
                                            [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import formsengine_dash  # noqa: E402
from bench_backends import others, snapshot  # noqa: E402
from bench_caseload import HASH, build  # noqa: E402
from bench_web import (  # noqa: E402
    PASSWORD,
    Client,
    formsengine_client,
    formsengine_server,
    merged,
    running,
)
from judging import verdict_alone  # noqa: E402

from formsengine.config import Settings  # noqa: E402
from formsengine.engine import Engine  # noqa: E402
from formsengine.store import Store  # noqa: E402
from formsengine.web import accounts  # noqa: E402

LISTS = ["/", "/caseload", "/caseload?sort=level", "/due?scope=team"]
NEXT = re.compile(r'href="([^"]+)" rel="next"')


def supervisor(port: int, stop: threading.Event, pages: int, out: dict) -> None:
    """Walk the lists until ``stop`` is set; record each page's time and failures."""
    c = Client(port)
    times: list[float] = []
    errors = 0
    try:
        status, _, _ = c.request("POST", "/sign-in", {"username": "sup-large",
                                                       "password": PASSWORD,
                                                       "csrf_token": c.token("/sign-in")})
        assert status == 302, status
        while not stop.is_set():
            for first in LISTS:
                url: str | None = first
                for _ in range(pages):
                    if url is None or stop.is_set():
                        break
                    began = time.perf_counter()
                    status, _, body = c.request("GET", url)
                    times.append(time.perf_counter() - began)
                    if status != 200:
                        errors += 1
                        break
                    found = NEXT.search(body)
                    url = found.group(1).replace("&amp;", "&") if found else None
    finally:
        c.close()
        out["times"], out["errors"] = times, errors


def run(port: int, pid: int, clients: int, seconds: float, paging: bool, pages: int) -> dict:
    """The saves' and the supervisor's results, and the CPU seconds a second that processes
    other than the server (``pid`` and its children) and this one used meanwhile."""
    out: dict = {}
    sup: dict = {}
    stop = threading.Event()
    paging_thread = None
    began: list[dict] = []
    barrier = threading.Barrier(clients, timeout=300,
                                action=lambda: began.append(snapshot(pid)))

    def start() -> float:
        barrier.wait()
        return time.monotonic() + seconds

    threads = [threading.Thread(target=formsengine_client, args=(port, i, start, out))
               for i in range(clients)]
    if paging:
        paging_thread = threading.Thread(target=supervisor, args=(port, stop, pages, sup))
        paging_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
    end = snapshot(pid)
    stop.set()
    if paging_thread is not None:
        paging_thread.join(timeout=120)
    used = {k: end[k] - began[0][k] for k in end}
    if len(out) != clients:
        raise RuntimeError(f"{clients - len(out)} clients did not finish")
    return {"saves": out, "supervisor": sup, "others": others(used, seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=13000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pages", type=int, default=5,
                        help="pages followed through 'Next' on each list")
    parser.add_argument("--workers", type=int, default=2,
                        help="server processes (`formsengine serve --workers N`; default 2, "
                        "one per core as docs/deployment.md advises)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per server process (default 2)")
    parser.add_argument("--quick", action="store_true", help="2,000 cases, 1 round of 4 s")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.rounds, args.seconds = 2000, 1, 4.0
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        db = build(Path(tmp), engine, {"Large": args.cases})
        with Store.open(db, engine) as store:
            team = store.team_id("Large")
            for i in range(args.clients):
                accounts.create_user(store, f"bench{i}", role="practitioner",
                                     password=PASSWORD, params=HASH, teams=[team],
                                     must_change=False)
        print(f"built a team of {args.cases:,} open cases in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
        env["FORMSENGINE_DB"] = str(db)
        env["FORMSENGINE_SECRET_KEY"] = secrets.token_hex(32)
        found: dict[str, list[dict]] = {"alone": [], "paging": []}
        command = [*formsengine_server(args.threads), "--workers", str(args.workers)]
        with running({"formsengine": command}, env) as procs:
            proc, port = procs["formsengine"]
            for round_no in range(args.rounds):
                for kind in ("alone", "paging"):
                    print(f"  round {round_no + 1}/{args.rounds}: saves {kind} "
                          f"({args.seconds:g} s)...", file=sys.stderr, flush=True)
                    found[kind].append(run(port, proc.pid, args.clients, args.seconds,
                                           kind == "paging", args.pages))
    medians, means, counts, errors = {}, {}, {}, 0
    for kind, runs in found.items():
        results = list(merged([r["saves"] for r in runs]).values())
        latencies = sorted(t for r in results for t in r["latencies"])
        errors += sum(r["errors"] for r in results)
        medians[kind] = statistics.median(latencies)
        means[kind] = statistics.fmean(latencies)
        counts[kind] = len(latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"saves {kind:7}: {len(latencies):,} saves, median {medians[kind] * 1000:.1f} ms, "
              f"mean {means[kind] * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    pages = [t for r in found["paging"] for t in r["supervisor"]["times"]]
    errors += sum(r["supervisor"]["errors"] for r in found["paging"])
    print(f"supervisor: {len(pages):,} list pages, "
          f"{len(pages) / (args.seconds * args.rounds):.1f} a second, median "
          f"{statistics.median(pages) * 1000:.1f} ms (team of {args.cases:,} open cases)")
    ratio = medians["paging"] / medians["alone"]
    rest = max(r["others"] for runs in found.values() for r in runs)
    print(f"server: {args.workers} process(es) x {args.threads} thread(s); with paging / "
          f"alone: mean {means['paging'] / means['alone']:.2f}x, saves a second "
          f"{counts['paging'] / counts['alone']:.2f}x; load average {load_before:.1f} before; "
          f"other processes used at most {rest:.2f} cores")
    print(f"saves' median with paging / alone: {ratio:.2f}x (target <= 1.5x), errors {errors} "
          f"-> {verdict_alone(ratio <= 1.5 and not errors, load_before, rest)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
