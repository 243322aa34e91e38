"""Killing a writer in the middle of a bulk import leaves either everything or nothing, an
intact database and an intact audit chain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from formsengine.audit import verify
from formsengine.store import Store

from .conftest import DATA, answers


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_during_import(tmp_path, engine, delay):
    db = tmp_path / "crash.db"
    Store.open(db, engine, create=True).close()
    n = 3000
    with (tmp_path / "in.jsonl").open("w") as fh:
        for k in range(n):
            r = answers(a="yes" if k % 2 else "no")
            r.update(person=f"P-{k}", role="victim_survivor", occasion="intake")
            fh.write(json.dumps(r) + "\n")
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA), "FORMSENGINE_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "assessments", "import",
                             str(tmp_path / "in.jsonl")], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # progress lines: the writing starts after the last check
        if f"checked {n} lines" in line or time.monotonic() > deadline:
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    store = Store.open(db, engine)
    try:
        count = store.one("SELECT COUNT(*) AS n FROM assessments")["n"]
        assert count in (0, n)
        answers_rows = store.one("SELECT COUNT(*) AS n FROM answers")["n"]
        assert answers_rows == count * 4
        assert store.one("PRAGMA integrity_check")["integrity_check"] == "ok"
        assert verify(store.conn).ok
    finally:
        store.close()
