"""Save-and-score on SQLite and on PostgreSQL, with one and with two server processes.

The same request as `bench_web.py`'s save (a DASH section posted as a browser posts it:
checked, stored, audited, scored on the server, provisional result stored) through
`formsengine serve --workers N --threads T` on loopback, for 8 and for 20 concurrent clients.
Each process count runs with 1 and with 2 threads a process (`--threads`; docs/deployment.md
advises few threads a process with several processes), and each process count is judged by
its best thread count, so that the one-process baseline is the best that one process did in
the same run.
Each server has a database of its own (a SQLite file; a throwaway PostgreSQL schema) with the
same accounts. The configurations take turns in every round (SQLite 1 process of 1 thread,
of 2 threads, SQLite 2 processes of 1 thread, of 2, then PostgreSQL's, then again), so that a
change in the machine's load falls on all of them alike.

Printed per backend and client count: saves a second, median and 95th percentile latency,
and the server CPU per save (every process of the server: the supervisor and its workers);
beside them, where the rest of the machine went: the clients' CPU per save (this process),
a local PostgreSQL's CPU per save (its processes, read from /proc), how busy the whole
machine was (its CPU time not idle, from /proc/stat), and the server's read system calls a
save (a SQLite connection reads again the pages it had cached whenever another connection
has written, as a second process does at every save); with two processes, how their CPU
fell between them (each client keeps its connection on the process that accepted it: when
most of them fall on one process, the other is left part idle, and the split shows it).
Targets (issue: PostgreSQL as the production database): PostgreSQL within 2x of SQLite on
one machine (saves a second, one process), and two processes giving at least 1.6x the
throughput of one. On a machine with 2 cores the clients, the database server and the
application's processes share those 2 cores, so the second process can add at most what
the first leaves idle. The benchmark fills the machine itself, so the load average after it
is always above 2: the verdict is printed only while the load average before it was at most
the number of cores and the other processes of the machine used at most a quarter of a core
during every run (the last column: the machine's busy CPU less the server's, the clients'
and PostgreSQL's, per second).

With more than one round, the 2 / 1 processes line also gives each round's ratio (the same
thread counts), so that the spread inside one run is seen beside the verdict, which is on all
rounds together.

After the runs every client's assessment must be stored, final, at the revision its saves
imply, with one audited save per acknowledged save, and each audit chain intact.

    python benchmarks/bench_backends.py [--seconds 15] [--rounds 2] [--clients 8 20]
                                        [--database-url URL] [--threads 1 2]
                                        [--backends sqlite postgresql]
                                        [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import (  # noqa: E402
    PASSWORD,
    cpu_seconds,
    formsengine_client,
    formsengine_server,
    merged,
    running,
)
from judging import verdict_alone  # noqa: E402
from pgscratch import DEFAULT_URL, scratch_url, server_url  # noqa: E402


def prepare(location: str, clients: int) -> dict:
    """Accounts for ``clients`` practitioners in a new database at ``location``; the
    environment a server on it needs."""
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store
    from formsengine.web import accounts

    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_SECRET_KEY"] = secrets.token_hex(32)
    env["FORMSENGINE_AUDIT_KEY"] = os.environ["FORMSENGINE_AUDIT_KEY"]  # as main() set it
    if location.startswith("postgresql"):
        env["FORMSENGINE_DATABASE_URL"] = location
    else:
        env["FORMSENGINE_DB"] = location
    engine = Engine(Settings())
    with Store.open(location, engine, create=True) as store:
        team = store.ensure_team("Bench")
        params = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
        for i in range(clients):
            accounts.create_user(store, f"bench{i}", role="practitioner", password=PASSWORD,
                                 params=params, teams=[team], must_change=False)
    return env


def tree(pid: int) -> list[int]:
    """A process and its descendants (Linux)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(p for c in children for p in tree(int(c)))]


def read_calls(pid: int) -> float:
    """Read system calls a process has made so far (Linux; 0 where /proc/PID/io cannot be
    read). SQLite reads a page it does not hold in its cache with one such call, so the
    count per save shows how much of its page cache a save finds."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("syscr:"):
                return float(line.split()[1])
    return 0.0


def postgres_cpu() -> float:
    """CPU seconds used so far by the local PostgreSQL server's processes (0 when it runs
    elsewhere or cannot be read)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if (proc / "comm").read_text().strip() == "postgres":
                    used = cpu_seconds(int(proc.name))
                    total += used if used == used else 0.0  # (NaN: it has just ended)
    return total


def machine_times() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle and waiting for I/O
    return (sum(fields) - idle) / tick, sum(fields) / tick


def snapshot(pid: int) -> dict[str, float]:
    """CPU seconds so far: the server's (and each of its worker processes', as
    ``worker <pid>``), this process's (the clients), PostgreSQL's and the machine's; the
    server's read calls."""
    busy, every = machine_times()
    server = tree(pid)
    used = {p: cpu_seconds(p) for p in server}
    return {"server": sum(used.values()),
            "reads": sum(read_calls(p) for p in server),
            "clients": time.process_time(), "db": postgres_cpu(), "busy": busy, "all": every,
            **{f"worker {p}": used[p] for p in server[1:]}}


def workers_split(used: dict[str, float]) -> str:
    """How the worker processes' CPU fell between them, busiest first ("" for one
    process): each client's connection stays on the process that accepted it, and when
    most of them fall on one, the other is left part idle."""
    shares = sorted((v for k, v in used.items() if k.startswith("worker ")), reverse=True)
    if len(shares) < 2 or not sum(shares):
        return ""
    return "; workers' CPU " + "/".join(f"{100 * v / sum(shares):.0f}" for v in shares) + "%"


def others(used: dict[str, float], seconds: float) -> float:
    """The CPU seconds a second that the machine's other processes used meanwhile: its busy
    CPU less the server's, the clients' and PostgreSQL's (``used``: the difference of two
    ``snapshot``s ``seconds`` apart)."""
    return max(0.0, used["busy"] - used["server"] - used["clients"] - used["db"]) / seconds


def run(port: int, pid: int, clients: int, seconds: float) -> tuple[dict, dict]:
    """The clients' results and the CPU seconds used while they ran: by the server (its
    processes), by the clients (this process), by a local PostgreSQL, and by the whole
    machine (``busy`` of ``all``)."""
    import threading

    out: dict = {}
    cpu: list[dict] = []
    barrier = threading.Barrier(clients, timeout=300, action=lambda: cpu.append(snapshot(pid)))

    def start() -> float:
        barrier.wait()
        return time.monotonic() + seconds

    threads = [threading.Thread(target=formsengine_client, args=(port, i, start, out))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
    if len(out) != clients:
        raise RuntimeError(f"{clients - len(out)} clients did not finish")
    end = snapshot(pid)
    return out, {k: end[k] - cpu[0].get(k, 0.0) for k in end}  # (a worker started again)


def check(location: str, runs: list[dict]) -> list[str]:
    """Every acknowledged save stored once, every assessment final, the chain intact."""
    from formsengine.audit import verify
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store
    from formsengine.store import inspection as look

    results = merged(runs)
    problems = []
    with Store.open(location, Engine(Settings())) as store:
        stored = {r["uid"]: r for r in look.rows(store, "assessments", "uid", "status",
                                                 "revision")}
        for r in results.values():
            row = stored.get(r["uid"])
            if row is None or row["status"] != "final" or row["revision"] != r["revision"] + 1:
                problems.append(f"assessment {r['uid']}: stored {row}")
        saves = look.count(store, "audit", action="update")
        if saves != sum(r["saves"] + 1 for r in results.values()):
            problems.append(f"{saves} saves audited for {len(results)} clients")
        chain = verify(store.conn)
        if not chain.ok:
            problems.append(chain.message())
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 20])
    parser.add_argument("--database-url", help=f"PostgreSQL server (default: "
                        f"FORMSENGINE_BENCH_DATABASE_URL, else {DEFAULT_URL})")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="threads per server process to run, each a configuration of "
                        "its own (default: 1 and 2); each process count is judged by its "
                        "best")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"],
                        default=["sqlite", "postgresql"], help="the backends to run (both)")
    parser.add_argument("--quick", action="store_true", help="2 x 4 s, 8 clients")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.clients = 4.0, 1, [8]
    url = server_url(args.database_url) or DEFAULT_URL
    # one audit key for this process (accounts, checks) and every server it starts
    os.environ.setdefault("FORMSENGINE_AUDIT_KEY", secrets.token_hex(32))
    load_before = os.getloadavg()[0]
    most = max(args.clients)
    configs = [(backend, workers, threads) for backend in args.backends
               for workers in (1, 2) for threads in args.threads]
    found: dict[tuple, list[dict]] = {}
    cpu: dict[tuple, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        where: dict[tuple, str] = {}
        servers: dict[str, list[str]] = {}
        envs: dict[str, dict] = {}
        for backend, workers, threads in configs:
            name = f"{backend}-{workers}x{threads}"
            where[(backend, workers, threads)] = (stack.enter_context(scratch_url(url))
                                                  if backend == "postgresql"
                                                  else str(Path(tmp) / f"{name}.db"))
            envs[name] = prepare(where[(backend, workers, threads)], most)
            servers[name] = [*formsengine_server(threads), "--workers", str(workers)]
        procs = {}
        for name, command in servers.items():  # each server with its own environment
            procs.update(stack.enter_context(running({name: command}, envs[name])))
        for round_no in range(args.rounds):
            for clients in args.clients:
                for backend, workers, threads in configs:
                    name = f"{backend}-{workers}x{threads}"
                    print(f"  round {round_no + 1}/{args.rounds}: {name}, {clients} clients "
                          f"({args.seconds:g} s)...", file=sys.stderr, flush=True)
                    proc, port = procs[name]
                    out, used = run(port, proc.pid, clients, args.seconds)
                    found.setdefault((backend, workers, threads, clients), []).append(out)
                    sums = cpu.setdefault((backend, workers, threads, clients), {})
                    for k, v in used.items():
                        sums[k] = sums.get(k, 0.0) + v
        problems = []
        for config in configs:
            runs = [r for key, rs in found.items() if key[:3] == config for r in rs]
            problems += [f"{config[0]}, {config[1]} process(es) x {config[2]} thread(s): {p}"
                         for p in check(where[config], runs)]
    load = max(load_before, os.getloadavg()[0])
    rate: dict[tuple, float] = {}
    print(f"save-and-score, {args.rounds} round(s) of {args.seconds:g} s per configuration; "
          f"threads per process: {', '.join(map(str, args.threads))}; "
          f"load average {load_before:.1f} before, "
          f"{load:.1f} after, on {os.cpu_count()} cores")
    print(f"{'backend':<11} {'procs':>5} {'thr':>3} {'clients':>7} {'saves/s':>8} {'median':>9} "
          f"{'p95':>9} {'CPU/save':>9} {'errors':>6}   CPU per save of the clients and "
          "of PostgreSQL; machine busy; other processes (cores)")
    busiest = 0.0  # the most CPU a second that processes not the benchmark's used in a run
    for (backend, workers, threads, clients), runs in sorted(found.items()):
        used = cpu[(backend, workers, threads, clients)]
        results = list(merged(runs).values())
        saves = sum(r["saves"] for r in results)
        latencies = sorted(t for r in results for t in r["latencies"])
        errors = sum(r["errors"] for r in results)
        rate[(backend, workers, threads, clients)] = saves / (args.seconds * args.rounds)
        p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
        rest = others(used, args.seconds * args.rounds)
        busiest = max(busiest, rest)
        print(f"{backend:<11} {workers:>5} {threads:>3} {clients:>7} "
              f"{rate[(backend, workers, threads, clients)]:>8.1f} "
              f"{statistics.median(latencies) * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms "
              f"{used['server'] / max(saves, 1) * 1000:>7.2f}ms {errors:>6}   "
              f"{used['clients'] / max(saves, 1) * 1000:.2f}ms, "
              f"{used['db'] / max(saves, 1) * 1000:.2f}ms; "
              f"{100 * used['busy'] / max(used['all'], 1e-9):.0f}%; "
              f"{rest:.2f}; server read calls a save {used['reads'] / max(saves, 1):.1f}"
              f"{workers_split(used)}")
        if errors:
            problems.append(f"{backend}, {workers} process(es) x {threads} thread(s), "
                            f"{clients} clients: {errors} errors")

    def saves_in(run: dict) -> int:
        """The saves acknowledged in one round of one configuration."""
        return sum(r["saves"] for r in run.values())

    def best(backend: str, workers: int, clients: int) -> tuple[float, int]:
        """The most saves a second of ``workers`` processes, and with how many threads."""
        return max((rate[(backend, workers, t, clients)], t) for t in args.threads)

    for clients in args.clients:
        if len(args.backends) == 2:
            pg_vs = best("sqlite", 1, clients)[0] / best("postgresql", 1, clients)[0]
            print(f"{clients} clients: SQLite / PostgreSQL saves a second (1 process, "
                  f"each at its best thread count): "
                  f"{pg_vs:.2f}x (target <= 2x) -> "
                  f"{verdict_alone(pg_vs <= 2, load_before, busiest)}")
        for backend in args.backends:
            (two, t2), (one, t1) = best(backend, 2, clients), best(backend, 1, clients)
            gain = two / one
            rounds = ""
            if args.rounds > 1:  # the spread inside this run; the verdict is on all rounds
                rounds = "; each round: " + ", ".join(
                    f"{saves_in(r2) / max(saves_in(r1), 1):.2f}x" for r2, r1 in
                    zip(found[(backend, 2, t2, clients)], found[(backend, 1, t1, clients)]))
            print(f"{clients} clients, {backend}: 2 processes ({t2} thread(s) each) / "
                  f"1 process ({t1} thread(s)): {gain:.2f}x "
                  f"(target >= 1.6x) -> {verdict_alone(gain >= 1.6, load_before, busiest)}"
                  f"{rounds}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
