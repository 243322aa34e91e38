"""A web-only installation (no ``research`` or ``fhir`` extra) works, and the commands that
need an extra say which one instead of failing with an import error. The absent packages
are made unimportable in a child process, as if they had never been installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from formsengine.errors import FormsEngineError
from formsengine.extras import EXTRAS, missing, require

from .conftest import DATA

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    ABSENT = {absent!r}
    class Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in ABSENT:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, Absent())
""")
ABSENT = sorted({m.split(".")[0] for modules in EXTRAS.values() for m in modules})


def without_extras(tmp_path, code: str, *args: str):
    script = tmp_path / "child.py"
    script.write_text(BLOCKER.format(absent=ABSENT) + textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env.update(FORMSENGINE_DB=str(tmp_path / "x.db"), FORMSENGINE_DEFINITIONS=str(DATA))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)


CLI = """
import sys
from formsengine.cli import main
sys.argv = ["formsengine", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("args, extra", [
    (["export", "research", "--project", "p", "--out", "o", "--key-file", "k",
      "--purpose", "an evaluation of the service"], "research"),
    (["analyse", "paired", "--instrument", "toy-checklist", "--from", "intake", "--to",
      "review"], "research"),
    (["fhir", "questionnaire", "toy-checklist"], "fhir"),
])
def test_a_command_that_needs_an_extra_says_which(tmp_path, args, extra):
    assert without_extras(tmp_path, CLI, "db", "init").returncode == 0
    (tmp_path / "k").write_text("not read: the command stops before\n")
    out = without_extras(tmp_path, CLI, *args)
    assert out.returncode == 2, out.stderr
    assert f"needs the '{extra}' extra" in out.stderr
    assert f"pip install 'formsengine[{extra}]'" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_web_application_and_core_commands_work_without_the_extras(tmp_path):
    out = without_extras(tmp_path, CLI, "db", "init")
    assert out.returncode == 0, out.stderr
    for args in (["instruments", "list"], ["instruments", "test"],
                 ["users", "create-admin", "root"]):
        out = without_extras(tmp_path, CLI, *args)
        assert out.returncode == 0, (args, out.stderr)
    out = without_extras(tmp_path, """
        import os, re, sys
        from formsengine.web import create_app
        from formsengine.web import accounts
        app = create_app({"DATABASE": os.environ["FORMSENGINE_DB"], "LOAD_ENTRYPOINTS": False,
                          "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        assert client.get("/health").status_code == 200
        assert client.get("/sign-in").status_code == 200
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {absent!r})
        print("loaded:", loaded)
    """.replace("{absent!r}", repr(ABSENT)))
    assert out.returncode == 0, out.stderr
    assert "loaded: []" in out.stdout


def test_missing_and_require_name_the_modules(monkeypatch):
    assert missing("research") == [] and missing("fhir") == []
    monkeypatch.setitem(EXTRAS, "research", ("no_such_module_here", "json"))
    assert missing("research") == ["no_such_module_here"]
    with pytest.raises(FormsEngineError, match="no_such_module_here"):
        require("research", "export research")
