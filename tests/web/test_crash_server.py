"""Killing the server (SIGKILL) while 8 clients save and finalise DASH assessments loses
no acknowledged save and leaves nothing half-written: every draft holds the answers of
exactly one save, with one audit row per save; every finalised assessment has its answer
rows and its score; the database and the audit chain are intact; and the server starts
again on the same file."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from formsengine.audit import verify
from formsengine.store import connect

from .conftest import load_bench

pytestmark = pytest.mark.slow

CLIENTS = 8
GONE = (OSError, http.client.HTTPException)  # the server died under the request


def _start(bench, env, port):
    proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--host",
                             "127.0.0.1", "--port", str(port), "--threads", "4"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench.wait_ready(port, proc, "/health")
    return proc


def _saver(bench, port, index, ready, out):
    """Saves the first section again and again, each time with other answers."""
    c = bench.Client(port)
    acked = 0
    try:
        bench.sign_in(c, index)
        opened = bench.open_section(c)
        out[index] = {"uid": opened["tasks"].rsplit("/", 1)[-1],
                      "first": opened["revision"], "acked": 0}
        ready.wait()
        while True:
            form = {"csrf_token": opened["token"], "revision": str(opened["revision"] + acked),
                    **bench.section_answers(acked + 1, opened["blanks"])}
            status, _, _ = c.request("POST", opened["section"], form)
            assert status == 302, status
            acked += 1
            out[index]["acked"] = acked
    except GONE:
        pass
    finally:
        c.conn.close()


def _finaliser(bench, port, index, ready, out):
    """Opens a case and a DASH, saves a section and finalises, again and again."""
    c = bench.Client(port)
    finals = out[index] = {"finals": []}
    try:
        bench.sign_in(c, index)
        ready.wait()
        while True:
            opened = bench.open_section(c)
            form = {"csrf_token": opened["token"], "revision": str(opened["revision"]),
                    **bench.section_answers(1, opened["blanks"])}
            assert c.request("POST", opened["section"], form)[0] == 302
            status, location, _ = c.request(
                "POST", opened["tasks"] + "/finalise",  # the revision after that one save
                {"csrf_token": opened["token"], "revision": str(opened["revision"] + 1)})
            assert status == 302 and location.endswith("/result"), (status, location)
            finals["finals"].append(opened["tasks"].rsplit("/", 1)[-1])
    except GONE:
        pass
    finally:
        c.conn.close()


def _section_values(bench, n):
    """The answers save number n posted, by item id."""
    posted = bench.section_answers(n)
    return {i: posted["q-" + i.replace(".", "-")] for i in bench.SECTION_ITEMS}


def test_killing_the_server_mid_save_loses_nothing_acknowledged(tmp_path):
    bench = load_bench()
    env = bench.prepare_formsengine(tmp_path, CLIENTS)
    port = bench.free_port()
    proc = _start(bench, env, port)
    out: dict = {}
    ready = threading.Barrier(CLIENTS + 1, timeout=60)
    savers = range(CLIENTS // 2)
    threads = [threading.Thread(target=_saver if i in savers else _finaliser,
                                args=(bench, port, i, ready, out)) for i in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        ready.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                sum(out[i]["acked"] for i in savers) < 100
                or sum(len(out[i]["finals"]) for i in out if i not in savers) < 8):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # in the middle of whatever the clients are doing
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert sum(out[i]["acked"] for i in savers) >= 100  # the kill came under load

    conn = connect(tmp_path / "formsengine.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert verify(conn).ok
        for i in savers:
            uid, first, acked = out[i]["uid"], out[i]["first"], out[i]["acked"]
            aid, status, revision, draft, result = conn.execute(
                "SELECT id, status, revision, draft_answers, draft_result FROM assessments"
                " WHERE uid = ?", [uid]).fetchone()
            saves = revision - first
            # every acknowledged save is there; at most the one in flight besides
            assert status == "draft" and saves in (acked, acked + 1), (uid, saves, acked)
            # the draft holds exactly what that save sent, with its provisional result
            answers = json.loads(draft)["answers"]
            sent = _section_values(bench, saves)
            assert {k: answers.get(k) for k in bench.SECTION_ITEMS} == sent
            assert json.loads(result)["scores"]["yes_count"] == list(sent.values()).count("yes")
            audited = conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'update'"
                                   " AND object_type = 'assessment' AND object_id = ?",
                                   [str(aid)]).fetchone()[0]
            assert audited == saves + 1  # and the details page, saved when it was opened
        finals = {u for i in out if i not in savers for u in out[i]["finals"]}
        rows = conn.execute(
            "SELECT a.uid, a.status, (SELECT COUNT(*) FROM answers WHERE assessment_id = a.id),"
            " (SELECT COUNT(*) FROM scores WHERE assessment_id = a.id) FROM assessments a"
        ).fetchall()
        assert finals <= {uid for uid, status, _, _ in rows if status == "final"}
        for uid, status, answer_rows, score_rows in rows:
            if status == "final":  # complete, never half-written
                assert answer_rows >= len(bench.SECTION_ITEMS) and score_rows == 1, uid
            else:
                assert status == "draft" and answer_rows == 0 and score_rows == 0, uid
    finally:
        conn.close()

    # the server starts again on the same file and the work is there
    proc = _start(bench, env, port)
    try:
        c = bench.Client(port)
        bench.sign_in(c, savers[0])
        status, _, page = c.request("GET", f"/assessments/{out[savers[0]]['uid']}")
        assert status == 200 and "So far:" in page
        c.conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
