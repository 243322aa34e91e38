"""Save-and-score of a DASH through the real server vs a bare Flask endpoint, and the
section page for 20 and for 200 practitioners on keep-alive connections.

Both are served the same way (waitress, one process, 4 threads unless --threads says
otherwise, loopback only) in the same run, each against a fresh SQLite file with the same
settings (WAL, synchronous=FULL, BEGIN IMMEDIATE, one connection per server thread). 8
concurrent clients run for the same time in each kind of run, and the kinds take turns
(save, bare, floor, page, then again: --rounds 2), so that a change in the machine's load
falls on every server alike:

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

The headline is the server's CPU time per operation, save-and-score against the bare
insert, beside the latency ratio at the median (target: both at most 4x, 0 errors); the
mean and 95th percentile, the floor and the page are printed too. The verdict is printed
only while the 1-minute load average is at most the number of cores ("not judged: machine
loaded" otherwise). The script checks that no assessment, save or inserted row was lost or
duplicated.

Then the keep-alive scenarios, against a fresh ``formsengine serve`` with its default
settings (connection limit 500 unless --connection-limit): 20, then 200 practitioners, each
signed in with a case and a draft and one connection kept open, loading the draft's section
page about every 3 s (--think). Target: the 95th percentile at 200 at most 3x that at 20,
0 errors. A connection the server closed while idle is opened again, as a browser does,
and counted as a reconnection, not an error.

Every loop is bounded in count as well as time; everything runs on loopback and stops by
itself.

    python benchmarks/bench_web.py [--seconds 15] [--rounds 2] [--clients 8] [--threads 4]
                                   [--quick] [--no-floor] [--keepalive 20 200]
                                   [--keepalive-seconds 60] [--think 3] [--no-keepalive]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import os
import random
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
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            c.close()  # a refused attempt's socket too (else a ResourceWarning later)
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
    """One browser's keep-alive connection, spoken over a plain socket: the load generator
    shares the machine's cores with the server, so it does as little as it can (no
    http.client objects; a response is read by its Content-Length)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: socket.socket | None = None  # opened by the first request, as a browser
        self.cookie = ""
        self._buffer = b""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self._buffer = b""

    def reconnect(self) -> None:
        """A new connection at the next request (the same session cookie), as a browser
        opens one."""
        self.close()

    def request(self, method: str, path: str, form: dict | list | str | None = None):
        """(status, Location, body) of one request; ``form`` a dict or list of pairs, or
        a body already encoded."""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        if self.cookie:
            head.append("Cookie: " + self.cookie)
        body = b""
        if form is not None:
            body = (form if isinstance(form, str)
                    else urllib.parse.urlencode(form, doseq=True)).encode("ascii")
            head.append("Content-Type: application/x-www-form-urlencoded")
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        if self.conn is None:
            self.conn = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        return self._response()

    def _read(self) -> bytes:
        assert self.conn is not None
        chunk = self.conn.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def _response(self) -> tuple[int, str, str]:
        data = self._buffer
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._read()
        lines = data[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                if value.startswith("fe_session="):
                    self.cookie = value.split(";", 1)[0]
            else:
                headers[name] = value
        data = data[end + 4:]
        if "content-length" in headers:
            size = int(headers["content-length"])
            while len(data) < size:
                data += self._read()
            body, self._buffer = data[:size], data[size:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                while (eol := data.find(b"\r\n")) < 0:
                    data += self._read()
                size = int(data[:eol].split(b";")[0], 16)
                while len(data) < eol + 2 + size + 2:
                    data += self._read()
                parts.append(data[eol + 2:eol + 2 + size])
                data = data[eol + 2 + size + 2:]
                if size == 0:
                    break
            body, self._buffer = b"".join(parts), data
        else:  # to the end of the connection
            with contextlib.suppress(ConnectionError):
                while True:
                    data += self._read()
            body, self._buffer = data, b""
        if headers.get("connection", "").lower() == "close":
            self.close()  # the next request opens a new connection
        return status, headers.get("location", ""), body.decode("utf-8", "replace")

    def token(self, path: str) -> str:
        return TOKEN.search(self.request("GET", path)[2]).group(1)


def formsengine_client(port: int, index: int, start, out: dict, follow: bool = False) -> None:
    c = Client(port)
    try:
        _formsengine_client(c, index, start, out, follow)
    finally:
        c.close()


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
        "instruments": ["dash-safelives"]})
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
    # the answers repeat every third save: encoded once each (the client's CPU is the
    # server's loss on a shared machine)
    encoded = {k: urllib.parse.urlencode(section_answers(k, blanks)) for k in range(3)}
    lead = urllib.parse.urlencode({"csrf_token": token})
    while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
        n += 1
        form = f"{lead}&revision={revision}&{encoded[n % 3]}"
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


def floor_client(port: int, index: int, start, out: dict, first: int = 0) -> None:
    """Posts what the save posts, to the floor endpoint (numbered from ``first`` + 1, so
    that every round's rows are told apart)."""
    c = Client(port)
    try:
        sign_in(c, index)
        opened = open_section(c)
        stop = start()
        latencies, errors, n = [], 0, 0
        while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
            n += 1
            form = {"csrf_token": opened["token"], "revision": str(first + n),
                    **section_answers(n, opened["blanks"])}
            began = time.perf_counter()
            status, location, _ = c.request("POST", "/bench-floor", form)
            latencies.append(time.perf_counter() - began)
            errors += not (status == 302 and location.endswith("/"))
    finally:
        c.close()
    out[index] = {"latencies": latencies, "errors": errors, "saves": n - errors}


def bare_client(port: int, index: int, start, out: dict, first: int = 0) -> None:
    c = Client(port)
    stop = start()
    latencies, errors, n = [], 0, 0
    while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
        n += 1
        start = time.perf_counter()
        status, _, _ = c.request("POST", "/insert", {"client": str(index), "n": str(first + n)})
        latencies.append(time.perf_counter() - start)
        errors += status != 200
    c.close()
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
    barrier = threading.Barrier(clients, timeout=300, action=lambda: cpu.append(
        cpu_seconds(server_pid)))

    def start() -> float:
        barrier.wait()
        return time.monotonic() + seconds

    threads = [threading.Thread(target=target, args=(port, i, start, out)) for i in
               range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
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


def measure(seconds: float, clients: int, threads: int, floor: bool = True,
            rounds: int = 2) -> dict:
    """Every run ``rounds`` times, interleaved (save, bare, floor, page, save, bare, ...), so
    that a change in the machine's load during the benchmark falls on every server alike.
    ``runs`` holds each kind's client results of every round (keyed by round and client);
    ``cpu`` the server CPU seconds each kind used, summed over its rounds."""
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
            "formsengine": formsengine_server(threads),
            "bare": [sys.executable, __file__, "--bare-server", str(folder / "bare.db"),
                     "{port}", str(threads)],
        }
        if floor:
            servers["floor"] = [sys.executable, __file__, "--floor-server", str(floor_db),
                                "{port}", str(threads)]
        plan = [("save", formsengine_client, "formsengine"), ("bare", bare_client, "bare"),
                ("page", page_client, "formsengine")]
        if floor:
            plan.insert(2, ("floor", floor_client, "floor"))
        rounds_of: dict[str, list[dict]] = {name: [] for name, _, _ in plan}
        cpu = {name: 0.0 for name, _, _ in plan}
        with running(servers, env) as procs:
            for round_no in range(rounds):
                for name, target, server in plan:
                    print(f"  round {round_no + 1}/{rounds}: {name} ({seconds:g} s)...",
                          file=sys.stderr, flush=True)
                    proc, port = procs[server]
                    if target in (bare_client, floor_client):  # rows numbered apart
                        target = functools.partial(target, first=round_no * MAX_OPS_PER_CLIENT)
                    run, used = run_clients(target, port, clients, seconds, proc.pid)
                    rounds_of[name].append(run)
                    cpu[name] += used
        problems = verify_formsengine(folder / "formsengine.db", *rounds_of["save"],
                                      *rounds_of["page"])
        problems += verify_rows(folder / "bare.db", "rows", merged(rounds_of["bare"]))
        if floor:
            problems += verify_rows(floor_db, "bench_floor", merged(rounds_of["floor"]))
    runs = {name: merged(found) for name, found in rounds_of.items()}
    return {"runs": runs, "problems": problems, "cpu": cpu, "rounds": rounds}


def merged(rounds: list[dict]) -> dict:
    return {(n, i): r for n, run in enumerate(rounds) for i, r in run.items()}


def formsengine_server(threads: int, connection_limit: int | None = None) -> list[str]:
    """``formsengine serve`` as deployed (its default connection limit unless one is
    given)."""
    limit = ["--connection-limit", str(connection_limit)] if connection_limit else []
    return [sys.executable, "-m", "formsengine.cli", "serve", "--host", "127.0.0.1",
            "--port", "{port}", "--threads", str(threads), *limit]


@contextlib.contextmanager
def running(servers: dict[str, list[str]], env: dict):
    """Start each server on a free loopback port; stop them all on the way out."""
    procs: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        for name, command in servers.items():
            port = free_port()
            procs[name] = (subprocess.Popen([a.replace("{port}", str(port)) for a in command],
                                            env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL), port)
        for name, (proc, port) in procs.items():
            wait_ready(port, proc, "/nothing" if name == "bare" else "/health")
        yield procs
    finally:
        for proc, _ in procs.values():
            proc.terminate()
            proc.wait(timeout=30)


# -- many practitioners with keep-alive connections ---------------------------------------
SETTING_UP = threading.BoundedSemaphore(4)  # keep-alive clients signing in at once


def keepalive_client(port: int, index: int, start, out: dict, think: float = 3.0) -> None:
    """A practitioner's browser: signed in, one connection kept open, loading a section page
    of its draft, then reading it for a while (``think`` seconds on average, varied). The
    set-up (signing in, a case and a draft) is not timed and done a few clients at a time;
    the connection stays open from then on. When the server has closed it meanwhile (idle
    longer than its channel timeout), the page is asked for once more on a new connection,
    as a browser does, and counted as a reconnection; any other failure is an error."""
    rng = random.Random(index)
    c = Client(port)
    latencies, errors, reconnects, n = [], 0, 0, 0
    try:
        with SETTING_UP:
            sign_in(c, index)
            opened = open_section(c)
        stop = start()
        time.sleep(rng.uniform(0, think))  # not all at the same moment
        while time.monotonic() < stop and n < MAX_OPS_PER_CLIENT:
            n += 1
            began = time.perf_counter()
            ok = False
            for attempt in range(2):
                try:
                    status, _, body = c.request("GET", opened["section"])
                    ok = status == 200 and "csrf_token" in body
                    break
                except ConnectionError as closed:  # closed while idle: once more
                    reconnects += attempt == 0
                    c.reconnect()
                    if attempt:
                        print(f"  client {index}: {closed!r}", file=sys.stderr)
                except OSError as failed:  # a timeout: an error, and a new connection
                    print(f"  client {index}: {failed!r}", file=sys.stderr)
                    c.reconnect()
                    break
            latencies.append(time.perf_counter() - began)
            errors += not ok
            time.sleep(rng.uniform(0.5, 1.5) * think)
    finally:
        c.close()
    out[index] = {"latencies": latencies, "errors": errors, "saves": n - errors,
                  "reconnects": reconnects}


def open_sockets(pid: int) -> int:
    """The sockets a process has open (Linux; 0 elsewhere)."""
    try:
        return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def measure_keepalive(seconds: float, counts: tuple[int, ...] = (20, 200), threads: int = 4,
                      think: float = 3.0, connection_limit: int | None = None) -> dict:
    """The section page for ``counts`` practitioners at once (each its own keep-alive
    connection, a page every ``think`` seconds on average), against one ``formsengine
    serve`` with its default settings; each count in turn, every client set up first."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = prepare_formsengine(folder, max(counts))
        runs, cpu, sockets = {}, {}, {}
        server = formsengine_server(threads, connection_limit)
        with running({"formsengine": server}, env) as procs:
            proc, port = procs["formsengine"]
            for count in counts:
                print(f"  keep-alive: {count} practitioners ({seconds:g} s)...",
                      file=sys.stderr, flush=True)
                target = functools.partial(keepalive_client, think=think)
                peak, done = [0], threading.Event()

                def sample(pid=proc.pid, peak=peak, done=done):
                    while not done.wait(0.5):
                        peak[0] = max(peak[0], open_sockets(pid))

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                try:
                    runs[count], cpu[count] = run_clients(target, port, count, seconds,
                                                          proc.pid)
                finally:
                    done.set()
                    sampler.join(timeout=5)
                sockets[count] = peak[0]
    return {"runs": runs, "cpu": cpu, "sockets": sockets}


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
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="length of each run (each kind runs --rounds times)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of the interleaved runs (save, bare, floor, page)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4,
                        help="server threads, the same for both servers (waitress's default)")
    parser.add_argument("--quick", action="store_true",
                        help="3 seconds per run, 15 s per keep-alive scenario")
    parser.add_argument("--no-floor", action="store_true",
                        help="leave out the floor run (the request stack around one insert)")
    parser.add_argument("--keepalive", type=int, nargs=2, default=[20, 200],
                        metavar=("FEW", "MANY"),
                        help="practitioners in the two keep-alive scenarios")
    parser.add_argument("--keepalive-seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=3.0,
                        help="seconds between one practitioner's pages, on average")
    parser.add_argument("--connection-limit", type=int,
                        help="the keep-alive scenarios' server's connection limit (default:"
                        " serve's own)")
    parser.add_argument("--no-keepalive", action="store_true",
                        help="leave out the keep-alive scenarios")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    load_before = os.getloadavg()[0]
    result = measure(seconds, args.clients, args.threads, floor=not args.no_floor,
                     rounds=max(1, args.rounds))
    stats = {name: summary(run) for name, run in result["runs"].items()}
    print(f"{args.clients} clients, {result['rounds']} interleaved rounds of {seconds:g} s"
          f" per kind, loopback, waitress {args.threads} threads")
    per_op = {name: result["cpu"][name] / max(s["ops"], 1) for name, s in stats.items()}
    for name, label in (("save", "formsengine save-and-score"), ("bare", "bare Flask insert"),
                        ("floor", "floor: app stack + insert"),
                        ("page", "save, then the next page")):
        if name not in stats:
            continue
        s = stats[name]
        print(f"  {label:28s} ops {s['ops']:6d}  median {s['median'] * 1000:6.1f} ms"
              f"  mean {s['mean'] * 1000:6.1f} ms  p95 {s['p95'] * 1000:6.1f} ms"
              f"  errors {s['errors']}  server CPU {per_op[name] * 1000:5.2f} ms/op")
    bare = stats["bare"]
    for name, what in (("save", "save-and-score vs bare"), ("floor", "floor vs bare"),
                       ("page", "save + next page vs bare")):
        if name not in stats:
            continue
        print(f"{what}: server CPU/op {per_op[name] / per_op['bare']:.2f}x, latency median"
              f" {stats[name]['median'] / bare['median']:.2f}x, mean "
              f"{stats[name]['mean'] / bare['mean']:.2f}x, p95 "
              f"{stats[name]['p95'] / bare['p95']:.2f}x")
    errors = sum(s["errors"] for s in stats.values())
    cpu_ratio = per_op["save"] / per_op["bare"]
    median_ratio = stats["save"]["median"] / bare["median"]
    print(f"HEADLINE save-and-score vs bare: server CPU/op {cpu_ratio:.2f}x, median"
          f" {median_ratio:.2f}x (target <= 4x, 0 errors): "
          + judged(max(cpu_ratio, median_ratio) <= 4 and errors == 0, load_before))
    failed = bool(result["problems"]) or errors > 0
    for p in result["problems"]:
        print(f"PROBLEM: {p}")
    print("lost or duplicated: " + ("none" if not result["problems"] else "SEE ABOVE"))
    if not args.no_keepalive:
        few, many = args.keepalive
        load_before = os.getloadavg()[0]
        kept = measure_keepalive(15.0 if args.quick else args.keepalive_seconds, (few, many),
                                 args.threads, think=args.think,
                                 connection_limit=args.connection_limit)
        ks = {count: summary(run) for count, run in kept["runs"].items()}
        print(f"keep-alive: the section page, each practitioner on one connection, a page"
              f" about every {args.think:g} s ({args.threads} threads, connection limit"
              f" {args.connection_limit or 'default'})")
        for count, s in ks.items():
            print(f"  {count:4d} practitioners  ops {s['ops']:6d}  median"
                  f" {s['median'] * 1000:7.1f} ms  p95 {s['p95'] * 1000:7.1f} ms"
                  f"  errors {s['errors']}  reconnections"
                  f" {sum(r['reconnects'] for r in kept['runs'][count].values())}"
                  f"  server sockets at most {kept['sockets'][count]}  server CPU"
                  f" {kept['cpu'][count] / max(s['ops'], 1) * 1000:5.2f} ms/op")
        p95_ratio = ks[many]["p95"] / ks[few]["p95"]
        kerrors = sum(s["errors"] for s in ks.values())
        print(f"HEADLINE keep-alive p95, {many} vs {few} practitioners: {p95_ratio:.2f}x"
              f" (target <= 3x, 0 errors; errors {kerrors}): "
              + judged(p95_ratio <= 3 and kerrors == 0, load_before))
        failed = failed or kerrors > 0
    return 1 if failed else 0


def judged(met: bool, load_before: float) -> str:
    """The verdict, judged on the busier of the load averages before and after the run."""
    load = max(load_before, os.getloadavg()[0])
    cores = os.cpu_count() or 1
    if load > cores:
        return f"not judged: machine loaded (load {load:.2f}, {cores} cores)"
    return "met" if met else "NOT MET"


if __name__ == "__main__":
    sys.exit(main())
