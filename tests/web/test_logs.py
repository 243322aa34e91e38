"""Application logs carry no names, answers, free text, passwords, tokens or session ids."""

from __future__ import annotations

import logging

from .conftest import PASSWORD, complete, create_case, login, post, start_assessment

INITIALS = "ZQX-INITIALS"
COMMENT = "WOMBAT-COMMENT-TEXT"


def test_logs_hold_nothing_identifying(app, client, users, caplog):
    caplog.set_level(logging.DEBUG)
    assert login(client, "alice").status_code == 302
    stranger = app.test_client()
    post(stranger, "/sign-in", {"username": "alice", "password": "wrong " + PASSWORD},
         token_from="/sign-in")
    client.post("/sign-in", data={"username": "alice", "password": "wrong " + PASSWORD})
    case = create_case(client, vs_name=INITIALS)
    uid = start_assessment(client, case)
    now = {"q-t-injury": "yes", "q-t-frightened": "yes", "q-t-fears": ["killed"],
           "c-t-injury": COMMENT}
    complete(client, uid, now=now)
    client.get("/no-such-page")
    client.get(f"/assessments/{uid}/result")
    cookie = client.get_cookie("fe_session") or client.get_cookie("session")
    secrets = [PASSWORD, "wrong " + PASSWORD, INITIALS, COMMENT]
    if cookie is not None:
        secrets.append(cookie.value)
    assert caplog.records, "the application logged nothing: the test would prove nothing"
    text = "\n".join(r.getMessage() + " " + str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in text
    # the answer values themselves are not logged either
    assert "'yes'" not in text and "killed" not in text


def test_access_lines_name_route_patterns_never_paths(app, client, users, caplog):
    """One access line per request: method, the route's pattern, status, time and request
    id. The uid in a path, a query string, initials and answers never appear."""
    caplog.set_level(logging.INFO, logger="formsengine.access")
    assert login(client, "alice").status_code == 302
    case = create_case(client, vs_name=INITIALS)
    uid = start_assessment(client, case)
    complete(client, uid, now={"q-t-injury": "yes", "c-t-injury": COMMENT})
    client.get(f"/cases/{case}?q={INITIALS}")
    client.get(f"/no-such-page/{INITIALS}")
    lines = [r for r in caplog.records if r.name == "formsengine.access"]
    assert len(lines) >= 8, [r.getMessage() for r in lines]
    routes = {r.access["route"] for r in lines}
    assert "/cases/<uid>" in routes and "/assessments/<uid>/sections/<section_id>" in routes
    assert "-" in routes  # the page that does not exist: no pattern, and not its path
    for record in lines:
        text = record.getMessage()
        assert set(record.access) == {"method", "route", "status", "ms", "request_id"}
        for secret in (case, uid, INITIALS, COMMENT, "q="):
            assert secret not in text, text
    statuses = {(r.access["route"], r.access["status"]) for r in lines}
    assert ("-", 404) in statuses and ("/sign-in", 302) in statuses


def test_serve_writes_json_access_lines_to_standard_error(tmp_path):
    import json
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    from .conftest import load_bench

    bench = load_bench()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_DB"] = str(tmp_path / "log.db")
    port = bench.free_port()
    err = tmp_path / "stderr.log"
    with err.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--port",
                                 str(port), "--log-format", "json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=fh)
    try:
        bench.wait_ready(port, proc, "/health")
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/sign-in?next=/cases/PLANTED-NEXT-QZX") as r:
            assert r.status == 200
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/cases/SECRET-REF-1")
        except urllib.error.HTTPError:
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    records = [json.loads(line) for line in err.read_text().splitlines()
               if line.startswith("{")]
    access = [r for r in records if r["logger"] == "formsengine.access"]
    assert {"/health", "/sign-in", "/cases/<uid>"} <= {r["route"] for r in access}, access
    assert all(r["level"] == "info" and isinstance(r["ms"], float) for r in access)
    assert "SECRET-REF-1" not in err.read_text() and "PLANTED-NEXT-QZX" not in err.read_text()
