"""Every file formsengine creates that holds personal data is its owner's only (0600, folders
0700), whatever the umask it was started with; an existing database that others can read
is warned about at `db init` and `serve`."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time

from formsengine.store import Store
from formsengine.store import inspection as look

from .conftest import DATA, DefinitionsPlugin, answers, make_engine, toy_definition

LOOSE = 0o022  # the usual umask: files 0644, folders 0755


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def run(tmp_path, *args, env=None):
    """The command line as a real process started with the usual, loose umask."""
    base = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
            "FORMSENGINE_DB": str(tmp_path / "cli.db")}
    base.pop("FORMSENGINE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=120, umask=LOOSE)


def test_database_wal_and_shm_are_private_while_in_use(tmp_path):
    """Opened by the store in a process whose umask is loose: the database, its -wal and
    -shm files (which SQLite makes with the database's permissions), the writers' lock file
    and the audit key."""
    script = textwrap.dedent(f"""
        import json, os, stat
        from tests.conftest import make_engine, DefinitionsPlugin, toy_definition
        from formsengine.store import Store
        path = {str(tmp_path / "x.db")!r}
        store = Store.open(path, make_engine(DefinitionsPlugin(toy_definition())),
                           create=True)
        store.audit("view", actor="a")
        names = [path, path + "-wal", path + "-shm", path + "-wlock", path + ".audit-key"]
        print(json.dumps({{n[-8:]: stat.S_IMODE(os.stat(n).st_mode) for n in names}}))
        open({str(tmp_path / "after.txt")!r}, "w").close()
        store.close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         umask=LOOSE, cwd=os.path.dirname(DATA.parent), timeout=60)
    assert out.returncode == 0, out.stderr
    modes = json.loads(out.stdout)
    assert len(modes) == 5 and set(modes.values()) == {0o600}, modes
    # and whatever else the process creates afterwards
    assert mode(tmp_path / "after.txt") == 0o600


def test_command_line_files_are_private(tmp_path):
    """db init, db backup (with its key) and a PDF report in a folder the command makes."""
    assert run(tmp_path, "db", "init").returncode == 0
    assert mode(tmp_path / "cli.db") == 0o600
    assert mode(tmp_path / "cli.db.audit-key") == 0o600
    record = {**answers(a="yes"), "person": "VS-1", "role": "victim_survivor",
              "occasion": "intake"}
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n")
    assert run(tmp_path, "assessments", "import", str(tmp_path / "in.jsonl")).returncode == 0
    out = run(tmp_path, "db", "backup", str(tmp_path / "copy.db"))
    assert out.returncode == 0, out.stderr
    assert mode(tmp_path / "copy.db") == 0o600
    assert mode(tmp_path / "copy.db.audit-key") == 0o600
    with Store.open(tmp_path / "cli.db", make_engine(DefinitionsPlugin(toy_definition()))) as store:
        uid = look.value(store, "assessments", "uid")
    out = run(tmp_path, "report", "assessment", "--out-dir", str(tmp_path / "reports" / "new"),
              "--", uid)
    assert out.returncode == 0, out.stderr
    pdf = out.stdout.strip()
    assert pdf.endswith(".pdf") and mode(pdf) == 0o600
    assert mode(tmp_path / "reports" / "new") == 0o700
    assert mode(tmp_path / "reports") == 0o700  # made under the command's own umask


def test_db_init_warns_when_others_can_read_the_database(tmp_path):
    assert run(tmp_path, "db", "init").returncode == 0
    out = run(tmp_path, "db", "init")
    assert "warning" not in out.stderr
    os.chmod(tmp_path / "cli.db", 0o644)
    out = run(tmp_path, "db", "init")
    assert out.returncode == 0
    assert "warning: cli.db can be read by other users" in out.stderr
    assert "chmod 600" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_warns_and_anchors_the_audit(tmp_path):
    """`serve` warns about a database others can read, and with an anchor file configured
    appends the audit chain's head to it as it starts (then every few minutes)."""
    assert run(tmp_path, "db", "init").returncode == 0
    os.chmod(tmp_path / "cli.db", 0o644)
    anchors = tmp_path / "anchors.jsonl"
    env = {**os.environ, "FORMSENGINE_DEFINITIONS": str(DATA),
           "FORMSENGINE_DB": str(tmp_path / "cli.db"),
           "FORMSENGINE_AUDIT_ANCHOR": str(anchors), "FORMSENGINE_AUDIT_ANCHOR_MINUTES": "1",
           "PYTHONUNBUFFERED": "1"}  # the log is read after the process is stopped
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--port",
                                 str(_free_port())], stdout=fh, stderr=subprocess.STDOUT,
                                env=env, umask=LOOSE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (anchors.exists() and anchors.read_text()):
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "warning: cli.db can be read by other users" in text
    assert "audit anchored in" in text and "every 1 minutes" in text
    anchor = json.loads(anchors.read_text().splitlines()[0])
    assert anchor["rows"] >= 2 and len(anchor["hash"]) == 64
    assert mode(anchors) == 0o600
