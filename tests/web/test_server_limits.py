"""A real ``formsengine serve`` process: 150 connections holding an unfinished request do
not stop it answering others; responses waitress writes itself carry the security headers;
a body over 1 MB is refused unread; behind a trusted proxy the sign-in limit counts the
client's own address, and nobody else's X-Forwarded-For is believed."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.web.headers import HEADERS

from .conftest import load_bench

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    bench = load_bench()
    folder = tmp_path_factory.mktemp("limits")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_DB"] = str(folder / "limits.db")
    env["FORMSENGINE_TRUSTED_PROXY"] = "127.0.0.1"
    port = bench.free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        bench.wait_ready(port, proc, "/health")
        yield {"port": port, "db": folder / "limits.db"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _get(port, path="/health", timeout=2.0, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_150_unfinished_requests_do_not_stop_the_server(server):
    slow = []
    try:
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", server["port"]), timeout=2)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never ends
            slow.append(s)
        time.sleep(0.3)  # let the server take them all in
        start = time.monotonic()
        status, _, body = _get(server["port"], timeout=2.0)
        elapsed = time.monotonic() - start
        assert status == 200 and b"ok" in body
        assert elapsed < 2.0, elapsed
    finally:
        for s in slow:
            s.close()


def _raw(port, data: bytes, timeout=5.0) -> tuple[int, dict, bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _assert_security_headers(headers: dict) -> None:
    for name, value in HEADERS.items():
        assert headers.get(name.lower()) == value, name
    assert headers.get("cache-control") == "no-store"


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431),
    # the length alone is enough: refused before a byte of the body is read
    (b"POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
     b"\r\nContent-Length: 2000000\r\n\r\n", 413),
    (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
], ids=["431", "413", "400"])
def test_responses_waitress_writes_itself_carry_the_security_headers(server, request_bytes,
                                                                      status):
    start = time.monotonic()
    got, headers, _ = _raw(server["port"], request_bytes)
    assert got == status
    _assert_security_headers(headers)
    assert time.monotonic() - start < 2.0


def test_the_application_responses_carry_them_too(server):
    status, headers, _ = _get(server["port"], "/sign-in")
    assert status == 200
    _assert_security_headers({k.lower(): v for k, v in headers.items()})


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _failing_sign_ins(port, count, *, forwarded_for=None, source="127.0.0.1"):
    """POST the sign-in form ``count`` times with no password (refused by the form, so the
    attempts are quick); the statuses. ``source``: the address the client connects from."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    conn.request("GET", "/sign-in", headers=headers)
    response = conn.getresponse()
    token = TOKEN.search(response.read().decode()).group(1)
    cookie = response.getheader("Set-Cookie").split(";")[0]
    statuses = []
    for i in range(count):
        conn.request("POST", "/sign-in", body=f"csrf_token={token}&username=ghost{i}",
                     headers={**headers, "Cookie": cookie,
                              "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    conn.close()
    return statuses


def test_behind_the_trusted_proxy_the_limit_is_per_client(server):
    port = server["port"]
    assert _failing_sign_ins(port, 21, forwarded_for="203.0.113.9")[-1] == 429
    # another client behind the same proxy is not refused
    assert _failing_sign_ins(port, 1, forwarded_for="203.0.113.10") == [400]
    with Store.open(server["db"], Engine(Settings())) as store:
        rows = look.values(store, "audit", "details", action="rate_limited")
    assert len(rows) == 1 and '"address": "203.0.113.9"' in rows[0]


def test_x_forwarded_for_from_anyone_else_is_not_believed(server):
    """From 127.0.0.2 (not the trusted proxy) a changing X-Forwarded-For does not escape
    the limit: the connecting address is counted."""
    port = server["port"]
    statuses = []
    for i in range(21):
        statuses += _failing_sign_ins(port, 1, forwarded_for=f"198.51.100.{i}",
                                      source="127.0.0.2")
    assert statuses[:20] == [400] * 20 and statuses[20] == 429
