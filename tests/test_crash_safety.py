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

from formsengine.store import Store
from formsengine.store import inspection as look
from formsengine.store.maintenance import verify_audit

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
        count = look.count(store, "assessments")
        assert count in (0, n)
        answers_rows = look.count(store, "answers")
        assert answers_rows == count * 4
        assert look.integrity(store) == "ok"
        assert verify_audit(store).ok
    finally:
        store.close()
