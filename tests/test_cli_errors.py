"""What a person sees when the command line cannot do what was asked: one plain line on
stderr starting with ``error:`` and exit code 2, never a traceback (run as real processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from formsengine.config import parse_switch
from formsengine.errors import ConfigError

from .conftest import DATA


def cli(tmp_path, *args, env=None, timeout=60):
    base = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    base.update({"FORMSENGINE_DEFINITIONS": str(DATA), "FORMSENGINE_DB": str(tmp_path / "x.db")})
    return subprocess.run([sys.executable, "-m", "formsengine.cli", *args], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=timeout, cwd=tmp_path)


def assert_one_plain_line(out, expected: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in out.stderr


def test_database_in_a_missing_folder(tmp_path):
    out = cli(tmp_path, "--db", str(tmp_path / "no" / "such" / "x.db"), "db", "init")
    assert_one_plain_line(out, "does not exist")


def test_a_file_that_is_not_a_database(tmp_path):
    (tmp_path / "notes.db").write_text("not a database, just some text\n" * 100)
    (tmp_path / "notes.db").chmod(0o600)
    out = cli(tmp_path, "--db", str(tmp_path / "notes.db"), "db", "init")
    assert_one_plain_line(out, "this file is not a SQLite database")


@pytest.mark.parametrize("name, value, expected", [
    ("FORMSENGINE_IDLE_MINUTES", "abc", "FORMSENGINE_IDLE_MINUTES must be a number of minutes"),
    ("FORMSENGINE_IDLE_MINUTES", "-5", "FORMSENGINE_IDLE_MINUTES must be at least 10 seconds"),
    ("FORMSENGINE_SECRET_KEY", "short", "at least 32 characters"),
    ("FORMSENGINE_HTTPS", "maybe", "FORMSENGINE_HTTPS must be on or off"),
])
def test_bad_environment_values_stop_serve(tmp_path, name, value, expected):
    assert cli(tmp_path, "db", "init").returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = cli(tmp_path, "serve", "--port", str(port), env={name: value})
    assert_one_plain_line(out, expected)


def test_port_already_in_use(tmp_path):
    assert cli(tmp_path, "db", "init").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = cli(tmp_path, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert out.returncode == 2
    assert "error: the address is already in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_output_that_cannot_be_written(tmp_path):
    out = cli(tmp_path, "fhir", "questionnaire", "toy-checklist", "--out",
              str(tmp_path / "missing" / "q.json"))
    assert_one_plain_line(out, "no such file or directory")


@pytest.mark.parametrize("value", ["enabled", "maybe", "", "of"])
def test_switch_settings_refuse_anything_but_on_or_off(tmp_path, value):
    assert cli(tmp_path, "db", "init").returncode == 0
    assert cli(tmp_path, "settings", "set", "require_totp", "on").returncode == 0
    out = cli(tmp_path, "settings", "set", "require_totp", value)
    assert_one_plain_line(out, "require_totp must be on or off")


@pytest.mark.parametrize("word, expected", [("on", True), ("TRUE", True), ("1", True),
                                            ("yes", True), ("Off", False), ("false", False),
                                            ("0", False), ("no", False)])
def test_parse_switch(word, expected):
    assert parse_switch(word, "x") is expected


def test_parse_switch_quotes_at_most_80_characters():
    with pytest.raises(ConfigError) as caught:
        parse_switch("z" * 5000, "x")
    assert len(str(caught.value)) < 200


def test_messages_never_quote_free_text_and_bound_other_values(tmp_path):
    """A refused answers file is described without the words of a comment or source (they
    may name someone) and without quoting more than 80 characters of any value."""
    import json

    data = {"instrument": "toy-checklist", "answers": {"toy.a": "yes"},
            "comments": {"toy.a": "Jane Example of 4 Some Road " + "x" * 6000},
            "sources": {"toy.b": ["Jane Example"]},
            "wording": "w" * 300}
    (tmp_path / "a.json").write_text(json.dumps(data))
    out = cli(tmp_path, "score", "toy-checklist", str(tmp_path / "a.json"))
    assert out.returncode == 2
    assert "Jane Example" not in out.stderr
    assert "the text (6028 characters) is too long" in out.stderr
    assert "w" * 81 not in out.stderr
    assert len(out.stderr) < 1000
