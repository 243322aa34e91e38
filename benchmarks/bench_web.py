"""Save-and-score of a DASH through the real server vs a bare Flask endpoint.

Both are served the same way (waitress, one process, 4 threads unless --threads says
otherwise, loopback only) in the same run, each against a fresh SQLite file with the same
settings (WAL, synchronous=FULL, BEGIN IMMEDIATE, one connection per server thread). 8
concurrent clients run for the same time in each of three runs:

- save: each client signs in, opens a case and a draft dash-safelives assessment, then
  repeats one request, the save-and-score: POST a section as a browser does (its answers,
  every comment and source box, the CSRF token and the revision), which checks them
  against the definition, stores them with an audit row, scores the draft on the server
  and stores its provisional result, then redirects to the next section. At the end each
  client loads the task list (which must show the stored score) and finalises.
- bare: each request inserts one row.
- floor: the application's own request stack around one inserted row: the same server and
  application (session and sign-in checks, CSRF, the security headers), the same form body
  as the save, and one row written through the store's write, then a redirect. Nothing of
  the save's own work (form, checks, scoring, audit). It shows how much of the ratio the
  request stack alone takes.
- page: as save, but each operation also loads the page the browser is sent to (the next
  section's form): what a person waits for. Reported beside the target, not instead of it.

Prints the latency ratios (median, mean and 95th percentile; target: save-and-score at most
4x the bare insert; the floor and the page are printed beside it), the server's CPU time per
operation, the error count (must be 0) and checks that no assessment, save or inserted row
was lost or duplicated.

    python benchmarks/bench_web.py [--seconds 30] [--clients 8] [--threads 4] [--quick]
                                   [--no-floor]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')
PASSWORD = "benchmark passphrase"
SECTION_ITEMS = ["dash.injury", "dash.very_frightened", "dash.afraid_of", "dash.isolated",
                 "dash.depressed_suicidal", "dash.separation", "dash.child_contact_conflict",
                 "dash.stalking_harassment", "dash.pregnant_recent_baby"]
FOLLOW_UPS = {"dash.injury": ["dash.injury.detail", "dash.injury.first_time"],
              "dash.afraid_of": ["dash.afraid_of.what", "dash.afraid_of.whom"]}
MAX_OPS_PER_CLIENT = 100_000  # loops are bounded in count as well as time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the bare endpoint ------------------------------------------------------------------------
def bare_app(db: str):
    from flask import Flask

    from formsengine.store import connect

    conn = connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, client TEXT,"
                 " n INTEGER, at REAL)")
    conn.close()
    app = Flask("bare")
    local = threading.local()

    @app.post("/insert")
    def insert():
        from flask import request

        # one connection per server thread, kept open, as the application does
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = connect(db)
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("INSERT INTO rows (client, n, at) VALUES (?, ?, ?)",
                      [request.form["client"], int(request.form["n"]), time.time()])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return "ok"

    return app


def serve_bare(db: str, port: int, threads: int) -> None:
    import waitress

    waitress.serve(bare_app(db), host="127.0.0.1", port=port, threads=threads, _quiet=True)


# -- the floor: the application's request stack around one insert -----------------------------
def floor_app(db: str):
    from flask import g, redirect, request

    from formsengine.web import create_app, get_store

    app = create_app({"DATABASE": db})

    @app.post("/bench-floor")
    def floor():
        store = get_store()
        with store.write():
            store.conn.execute("INSERT INTO bench_floor (client, n, at) VALUES (?, ?, ?)",
                               [g.user["username"], int(request.form["revision"]), time.time()])
        return redirect("/")

    return app


def serve_floor(db: str, port: int, threads: int) -> None:
    import waitress

    # as `formsengine serve` does
    waitress.serve(floor_app(db), host="127.0.0.1", port=port, threads=threads,
                   ident="formsengine", clear_untrusted_proxy_headers=True, _quiet=True)


# -- processes --------------------------------------------------------------------------------
def wait_ready(port: int, proc: subprocess.Popen, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def prepare_formsengine(folder: Path, clients: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_DB"] = str(folder / "formsengine.db")
    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.store import Store
    from formsengine.web import accounts

    engine = Engine(Settings(database=folder / "formsengine.db"))
    if "dash-safelives" not in engine.instruments:
        raise SystemExit("the DASH plugin is not installed: pip install -e plugins/dash")
    store = Store.open(folder / "formsengine.db", engine, create=True)
    team = store.ensure_team("Bench")
    params = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}
    for i in range(clients):
        accounts.create_user(store, f"bench{i}", role="practitioner", password=PASSWORD,
                             params=params, teams=[team], must_change=False)
    store.close()
    return env


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | list | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("fe_session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", data

    def token(self, path: str) -> str:
        return TOKEN.search(self.request("GET", path)[2]).group(1)


def formsengine_client(port: int, index: int, start, out: dict, follow: bool = False) -> None:
    c = Client(port)
    try:
        _formsengine_client(c, index, start, out, follow)
    finally:
        c.conn.close()


def page_client(port: int, index: int, start, out: dict) -> None:
    formsengine_client(port, index, start, out, follow=True)


def text_controls(page: str) -> list[str]:
    """The names of the text boxes in the page's form that has the revision field: a
    browser sends every one of them, empty or not (comments, sources, text follow-ups)."""
    form = next(f for f in re.findall(r"<form\b.*?</form>", page, re.S)
                if 'name="revision"' in f)
    names = re.findall(r'<textarea\b[^>]*\bname="([^"]+)"', form)
    for tag in re.findall(r"<input\b[^>]*>", form):
        if re.search(r'\btype="(?:text|number|date)"', tag):
            names.append(re.search(r'\bname="([^"]+)"', tag).group(1))
    return names


def section_answers(n: int, blanks: list[str] = ()) -> dict:
    """What a browser posts for save number n: the section's answers (they change from
    save to save), every text box (``blanks``; left empty), and the questions shown for
    the answers: the follow-up questions of a "yes" appear on the page, as the page's
    script shows them, and one of them is answered."""
    answers = {name: "" for name in blanks}
    answers.update({"q-" + i.replace(".", "-"): ("yes" if (n + k) % 3 else "no")
                    for k, i in enumerate(SECTION_ITEMS)})
    shown = list(SECTION_ITEMS)
    for item, follow_ups in FOLLOW_UPS.items():
        if answers["q-" + item.replace(".", "-")] == "yes":
            shown += follow_ups
    if "dash.injury.first_time" in shown:
        answers["q-dash-injury-first_time"] = "dont_know"
    return {**answers, "shown": ",".join(shown)}


def sign_in(c: Client, index: int) -> None:
    status, _, _ = c.request("POST", "/sign-in", {"username": f"bench{index}",
                                                   "password": PASSWORD,
                                                   "csrf_token": c.token("/sign-in")})
    assert status == 302, status


def open_section(c: Client) -> dict:
    """Open a case and a draft DASH (signed in), and read its first section's page."""
    token = c.token("/cases/new")
    page = c.request("GET", "/cases/new")[2]
    team = re.search(r'name="team" value="(\d+)"', page).group(1)
    me = re.search(r'name="practitioner">\s*<option value="(\d+)"', page).group(1)
    status, case_url, _ = c.request("POST", "/cases/new", {
        "csrf_token": token, "team": team, "practitioner": me, "victim_survivor": "y",
        "opened_on-day": "6", "opened_on-month": "1", "opened_on-year": "2025",
        "schedule": ["intake"]})
    assert status == 302, status
    status, tasks, _ = c.request("POST", case_url + "/assessments", {
        "csrf_token": token, "instrument": "dash-safelives", "occasion": "intake"})
    assert status == 302 and "/assessments/" in tasks, (status, tasks)
    details = tasks + "/sections/details"  # the date is recorded before anything is finalised
    revision = REVISION.search(c.request("GET", details)[2]).group(1)
    status, _, _ = c.request("POST", details, {"csrf_token": token, "revision": revision,
                                               "f-assessment_date": "2025-01-06"})
    assert status == 302, status
    section = tasks + "/sections/current_situation"
    page = c.request("GET", section)[2]
    blanks = text_controls(page)
    assert len(blanks) >= 2 * len(SECTION_ITEMS), blanks  # a comment and a source each
    return {"token": token, "tasks": tasks, "section": section, "blanks": blanks,
            "revision": int(REVISION.search(page).group(1))}


def _formsengine_client(c: Client, index: int, start, out: dict, follow: bool) -> None:
    sign_in(c, index)
    opened = open_section(c)
    token, tasks, section, blanks = (opened[k] for k in ("token", "tasks", "section", "blanks"))
    revision = opened["revision"]
    stop = start()  # every client is set up: the timed part starts together
    latencies, errors, saves = [], 0, 0
    n = 0
    while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
        n += 1
        form = {"csrf_token": token, "revision": str(revision), **section_answers(n, blanks)}
        began = time.perf_counter()
        status, location, _ = c.request("POST", section, form)
        # saved, scored and sent on to the next section (not back: nothing was refused)
        ok = status == 302 and location.endswith("/sections/abuse_history")
        if ok and follow:
            status2, _, body = c.request("GET", location)
            ok = status2 == 200 and "csrf_token" in body
        latencies.append(time.perf_counter() - began)
        if ok:
            revision += 1
            saves += 1
        else:
            errors += 1
    status, _, body = c.request("GET", tasks)  # the score stored at the last save is shown
    shown_score = status == 200 and "So far:" in body and "risk level" in body
    status, location, _ = c.request("POST", tasks + "/finalise",  # the revision last saved
                                    {"csrf_token": token, "revision": str(revision)})
    finalised = status == 302 and location.endswith("/result")
    out[index] = {"latencies": latencies, "saves": saves, "uid": tasks.rsplit("/", 1)[-1],
                  "revision": revision,
                  "errors": errors + (0 if finalised else 1) + (0 if shown_score else 1)}


def floor_client(port: int, index: int, start, out: dict) -> None:
    """Posts what the save posts, to the floor endpoint."""
    c = Client(port)
    try:
        sign_in(c, index)
        opened = open_section(c)
        stop = start()
        latencies, errors, n = [], 0, 0
        while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
            n += 1
            form = {"csrf_token": opened["token"], "revision": str(n),
                    **section_answers(n, opened["blanks"])}
            began = time.perf_counter()
            status, location, _ = c.request("POST", "/bench-floor", form)
            latencies.append(time.perf_counter() - began)
            errors += not (status == 302 and location.endswith("/"))
    finally:
        c.conn.close()
    out[index] = {"latencies": latencies, "errors": errors, "saves": n - errors}


def bare_client(port: int, index: int, start, out: dict) -> None:
    c = Client(port)
    stop = start()
    latencies, errors, n = [], 0, 0
    while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
        n += 1
        start = time.perf_counter()
        status, _, _ = c.request("POST", "/insert", {"client": str(index), "n": str(n)})
        latencies.append(time.perf_counter() - start)
        errors += status != 200
    c.conn.close()
    out[index] = {"latencies": latencies, "errors": errors, "saves": n - errors}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a process (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(target, port: int, clients: int, seconds: float,
                server_pid: int) -> tuple[dict, float]:
    """The clients' results, and the CPU seconds the server used while they ran."""
    out: dict = {}
    cpu: list[float] = []
    barrier = threading.Barrier(clients, timeout=120, action=lambda: cpu.append(
        cpu_seconds(server_pid)))

    def start() -> float:
        barrier.wait()
        return time.monotonic() + seconds

    threads = [threading.Thread(target=target, args=(port, i, start, out)) for i in
               range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    missing = [i for i in range(clients) if i not in out]
    if missing:
        raise RuntimeError(f"clients {missing} did not finish")
    return out, cpu_seconds(server_pid) - cpu[0]


def verify_formsengine(db: Path, *runs: dict) -> list[str]:
    """No lost or duplicated assessment, every acknowledged save stored exactly once, and
    the audit chain intact."""
    from formsengine.audit import verify
    from formsengine.store import connect

    results = {(n, i): r for n, run in enumerate(runs) for i, r in run.items()}
    conn = connect(db)
    problems = []
    rows = conn.execute("SELECT uid, status, revision FROM assessments").fetchall()
    if len(rows) != len(results):
        problems.append(f"{len(rows)} assessments stored for {len(results)} clients")
    by_uid = {r[0]: r for r in rows}
    for r in results.values():
        row = by_uid.get(r["uid"])
        # created at revision 1; +1 per save; +1 when finalised
        if row is None or row[1] != "final" or row[2] != r["revision"] + 1:
            problems.append(f"assessment {r['uid']}: stored {row}, expected revision "
                            f"{r['revision'] + 1} after {r['saves']} saves")
    updates = conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'update'").fetchone()[0]
    expected = sum(r["saves"] + 1 for r in results.values())  # and the details saved first
    if updates != expected:
        problems.append(f"{updates} saves audited, {expected} acknowledged")
    scores = conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]
    if scores != len(results):
        problems.append(f"{scores} score rows for {len(results)} finalised assessments")
    chain = verify(conn)  # every server thread appended to the one hash chain
    if not chain.ok:
        problems.append(chain.message())
    conn.close()
    return problems


def verify_rows(db: Path, table: str, results: dict) -> list[str]:
    """Every acknowledged insert of the bare or floor run stored once."""
    from formsengine.store import connect

    conn = connect(db)
    stored = conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT client || '/' || n) FROM {table}"
                          ).fetchone()
    conn.close()
    expected = sum(r["saves"] for r in results.values())
    return [] if stored == (expected, expected) else [f"{table}: stored {stored}, "
                                                      f"sent {expected}"]


def measure(seconds: float, clients: int, threads: int, floor: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = prepare_formsengine(folder, clients)
        floor_db = folder / "floor" / "formsengine.db"
        if floor:  # its own file, with the same accounts
            floor_db.parent.mkdir()
            prepare_formsengine(floor_db.parent, clients)
            from formsengine.store import connect

            conn = connect(floor_db)
            conn.execute("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, client TEXT,"
                         " n INTEGER, at REAL)")
            conn.close()
        servers = {
            "formsengine": [sys.executable, "-m", "formsengine.cli", "serve", "--host",
                            "127.0.0.1", "--port", "{port}", "--threads", str(threads)],
            "bare": [sys.executable, __file__, "--bare-server", str(folder / "bare.db"),
                     "{port}", str(threads)],
        }
        if floor:
            servers["floor"] = [sys.executable, __file__, "--floor-server", str(floor_db),
                                "{port}", str(threads)]
        procs: dict[str, tuple[subprocess.Popen, int]] = {}
        runs, cpu = {}, {}
        try:
            for name, command in servers.items():
                port = free_port()
                procs[name] = (subprocess.Popen([a.replace("{port}", str(port)) for a in command],
                                                env=env, stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL), port)
            for name, (proc, port) in procs.items():
                wait_ready(port, proc, "/nothing" if name == "bare" else "/health")
            plan = [("save", formsengine_client, "formsengine"), ("bare", bare_client, "bare"),
                    ("page", page_client, "formsengine")]
            if floor:
                plan.insert(2, ("floor", floor_client, "floor"))
            for name, target, server in plan:
                print(f"  running {name} ({seconds:g} s)...", file=sys.stderr, flush=True)
                proc, port = procs[server]
                runs[name], cpu[name] = run_clients(target, port, clients, seconds, proc.pid)
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(timeout=30)
        problems = verify_formsengine(folder / "formsengine.db", runs["save"], runs["page"])
        problems += verify_rows(folder / "bare.db", "rows", runs["bare"])
        if floor:
            problems += verify_rows(floor_db, "bench_floor", runs["floor"])
    return {"runs": runs, "problems": problems, "cpu": cpu}


def summary(results: dict) -> dict:
    latencies = sorted(x for r in results.values() for x in r["latencies"])
    return {"ops": len(latencies), "errors": sum(r["errors"] for r in results.values()),
            "median": statistics.median(latencies) if latencies else float("nan"),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "p95": latencies[int(len(latencies) * 0.95)] if latencies else float("nan")}


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] in ("--bare-server", "--floor-server"):
        serve = serve_bare if sys.argv[1] == "--bare-server" else serve_floor
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4,
                        help="server threads, the same for both servers (waitress's default)")
    parser.add_argument("--quick", action="store_true", help="5 seconds per side")
    parser.add_argument("--no-floor", action="store_true",
                        help="leave out the floor run (the request stack around one insert)")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    result = measure(seconds, args.clients, args.threads, floor=not args.no_floor)
    stats = {name: summary(run) for name, run in result["runs"].items()}
    print(f"{args.clients} clients, {seconds:g} s each, loopback, waitress {args.threads} threads")
    for name, label in (("save", "formsengine save-and-score"), ("bare", "bare Flask insert"),
                        ("floor", "floor: app stack + insert"),
                        ("page", "save, then the next page")):
        if name not in stats:
            continue
        s = stats[name]
        print(f"  {label:28s} ops {s['ops']:6d}  median {s['median'] * 1000:6.1f} ms"
              f"  mean {s['mean'] * 1000:6.1f} ms  p95 {s['p95'] * 1000:6.1f} ms"
              f"  errors {s['errors']}"
              f"  server CPU {result['cpu'][name] / max(s['ops'], 1) * 1000:5.2f} ms/op")
    bare = stats["bare"]
    for name, what in (("save", "save-and-score vs bare"), ("floor", "floor vs bare"),
                       ("page", "save + next page vs bare")):
        if name not in stats:
            continue
        print(f"latency ratio, {what}: median {stats[name]['median'] / bare['median']:.2f}x"
              f"{' (target <= 4x)' if name == 'save' else ''}, mean "
              f"{stats[name]['mean'] / bare['mean']:.2f}x, p95 "
              f"{stats[name]['p95'] / bare['p95']:.2f}x")
    errors = sum(s["errors"] for s in stats.values())
    print(f"errors: {errors}")
    for p in result["problems"]:
        print(f"PROBLEM: {p}")
    print("lost or duplicated: " + ("none" if not result["problems"] else "SEE ABOVE"))
    return 0 if not result["problems"] and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
