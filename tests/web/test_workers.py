"""``formsengine serve --workers N`` as an operator runs it: real processes on loopback.

Several worker processes share the one listening socket and all answer; a worker that is
killed is replaced while the others go on answering; SIGTERM to the parent stops every
worker; a worker that keeps dying stops the server with a plain error; a port in use is one
plain line. ``/health`` reports whether the database can be read."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import load_bench

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out |= {int(p) for p in text}
    return out


def _get(port: int, path: str = "/health") -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def _wait_until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def serve(tmp_path):
    bench = load_bench()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_DB"] = str(tmp_path / "workers.db")
    started = []

    def start(*extra: str, workers: int = 2):
        port = bench.free_port()
        err = (tmp_path / f"stderr-{port}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--port",
                                 str(port), "--workers", str(workers), "--log-format", "json",
                                 *extra], env=env, stdout=subprocess.DEVNULL, stderr=err)
        started.append((proc, err))
        return proc, port, Path(err.name)

    yield start
    for proc, err in started:
        if proc.poll() is None:
            proc.terminate()  # the parent stops its workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        err.close()


def test_workers_share_the_address_and_all_answer(serve):
    bench = load_bench()
    proc, port, log = serve(workers=2)
    bench.wait_ready(port, proc, "/health")
    workers = _wait_until(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid))
    ready = _wait_until(lambda: {int(p) for p in re.findall(r"worker process (\d+) ready",
                                                           log.read_text())} == workers)
    assert ready
    with ThreadPoolExecutor(4) as pool:  # new connections, 4 at a time: each goes to
        answers = list(pool.map(lambda _: _get(port), range(200)))  # whichever is free
    assert answers == [(200, {"status": "ok", "database": "ok"})] * 200
    time.sleep(0.3)
    pids = {json.loads(line)["pid"] for line in log.read_text().splitlines()
            if line.startswith("{") and '"formsengine.access"' in line}
    assert pids == workers, (pids, workers)  # every worker answered; nothing else did

    # SIGTERM to the parent stops every worker, and the parent exits cleanly
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not any(_alive(p) for p in workers)


def test_a_killed_worker_is_replaced_and_the_others_go_on(serve):
    bench = load_bench()
    proc, port, log = serve(workers=2)
    bench.wait_ready(port, proc, "/health")
    first = _wait_until(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid))
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):  # the survivor answers meanwhile
        assert _get(port)[0] == 200
    now = _wait_until(lambda: (len(c := _children(proc.pid)) == 2 and victim not in c
                               and c))
    assert len(now & first) == 1  # the survivor is still the same process
    _wait_until(lambda: re.search(rf"worker process {victim} stopped", log.read_text()))
    assert _get(port)[0] == 200


def test_workers_that_keep_dying_stop_the_server_with_a_plain_error(serve):
    bench = load_bench()
    proc, port, log = serve(workers=2)
    bench.wait_ready(port, proc, "/health")
    killed: set[int] = set()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        for pid in _children(proc.pid) - killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.05)
    assert proc.wait(timeout=30) == 2
    text = log.read_text()
    assert "error: worker processes keep stopping" in text
    assert "Traceback" not in text
    # the first two workers and five replacements, the last of which may be stopped by
    # the parent before this loop kills it
    assert 6 <= len(killed) <= 7, killed
    assert not any(_alive(p) for p in killed)


def test_workers_stop_when_the_first_process_is_killed(serve):
    bench = load_bench()
    proc, port, log = serve(workers=2)
    bench.wait_ready(port, proc, "/health")
    workers = _wait_until(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid))
    proc.kill()  # SIGKILL: the parent cannot stop its workers itself
    proc.wait(timeout=30)

    _wait_until(lambda: not any(_alive(p) for p in workers), timeout=15)
    assert "the server's first process is gone" in log.read_text()


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_port_in_use_is_one_plain_line(serve, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
        env["FORMSENGINE_DB"] = str(tmp_path / "p.db")
        out = subprocess.run([sys.executable, "-m", "formsengine.cli", "serve", "--port",
                              str(port), "--workers", "2"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("error: the address is already in use")
    assert "Traceback" not in out.stderr


def test_health_reports_a_database_that_cannot_be_read(app, client):
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok"}
    database = Path(app.config["DATABASE"])
    moved = database.with_name("moved-away.db")
    database.rename(moved)
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "unavailable", "database": "the database file is missing"}
    assert str(database.parent) not in response.get_data(as_text=True)
    moved.rename(database)
    assert client.get("/health").status_code == 200
