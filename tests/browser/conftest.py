"""A real server process (``formsengine serve``) on a free loopback port with a fresh
database, and Debian's Chromium driven by Playwright. A missing browser is a failure, not
a skip: run scripts/setup-browser."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("FORMSENGINE_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEST_DEFINITIONS = ROOT / "tests" / "web" / "definitions"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env, *args) -> str:
    result = subprocess.run([sys.executable, "-m", "formsengine.cli", *args], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


# Several commands in one interpreter (the set-up of a server's accounts): the command
# line's own code, started once instead of once a command.
_MANY = """
import json, sys
from click.testing import CliRunner
from formsengine.cli import _load_plugin_commands, cli
_load_plugin_commands(cli)
outputs = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(cli, args, prog_name="formsengine")
    if result.exit_code != 0:
        sys.exit(f"formsengine {' '.join(args)}: {result.output}{result.exception!r}")
    outputs.append(result.stdout)
print(json.dumps(outputs))
"""


def _cli_many(env, *commands: list[str]) -> list[str]:
    """What each command printed, the commands run in order in one process."""
    result = subprocess.run([sys.executable, "-c", _MANY, json.dumps(commands)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout.splitlines()[-1])


def _password(output: str) -> str:
    return re.search(r"One-time password: (\S+)", output).group(1)


def dash_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("formsengine_dash") is not None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Start ``formsengine serve`` on a fresh database; yields its URL and the accounts."""
    yield from run_server(tmp_path_factory)


def run_server(tmp_path_factory, **settings):
    """The ``server`` fixture's work, with extra ``FORMSENGINE_*`` settings (a short idle
    timeout, say, or FORMSENGINE_DEFINITIONS for a folder of definitions) for a module's
    own fixture."""
    folder = tmp_path_factory.mktemp("server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env.update(settings)
    env["FORMSENGINE_DB"] = str(folder / "browser.db")
    if not dash_installed() and "FORMSENGINE_DEFINITIONS" not in settings:
        env["FORMSENGINE_DEFINITIONS"] = str(TEST_DEFINITIONS)
    admin, _north, _south, ana, ben, sol = _cli_many(
        env, ["users", "create-admin", "admin"], ["teams", "create", "North"],
        ["teams", "create", "South"],
        ["users", "create", "ana", "--role", "practitioner", "--team", "North",
         "--name", "Ana Practitioner"],
        ["users", "create", "ben", "--role", "practitioner", "--team", "South",
         "--name", "Ben Practitioner"],
        ["users", "create", "sol", "--role", "supervisor", "--team", "North",
         "--team", "South"])
    accounts = {"admin": _password(admin), "ana": _password(ana), "ben": _password(ben),
                "sol": _password(sol)}
    port = _free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "formsengine.cli", "serve", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start: " +
                                       (folder / "server.log").read_text()) from None
                time.sleep(0.2)
        yield {"url": url, "accounts": accounts, "db": folder / "browser.db"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def playwright_instance():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run scripts/setup-browser "
                    "(it installs Debian's chromium package)", pytrace=False)
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run scripts/build-assets", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser_factory(playwright_instance, tmp_path_factory):
    contexts = []

    def new_context(**options):
        """A browser of its own; ``options`` for Playwright's context (for example
        ``java_script_enabled=False``)."""
        profile = tmp_path_factory.mktemp("profile")
        context = playwright_instance.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            service_workers="block", **options)
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()


def axe_check(page, label: str) -> None:
    """Run axe-core on the page as it is now; fail on any WCAG 2.2 A/AA violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})""")
    problems = [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                for v in result["violations"]]
    assert not problems, f"axe on {label} ({page.url}):\n" + "\n".join(problems)


# -- helpers of the modules that serve the documented example definitions --------------------
EXAMPLES = ROOT / "docs" / "examples" / "definitions"


def no_check(page, label):
    """No axe run: a page seen with JavaScript off is checked as a copy (``check_copy``)."""


def session(server, browser_factory, username, script: bool):
    """A page signed in as ``username`` (first sign-in: a new password), with JavaScript
    on or off."""
    from .journey import sign_in

    context = browser_factory(java_script_enabled=script)
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, server["url"], username, server["accounts"][username],
            new_password="a calm long passphrase", check=axe_check if script else no_check)
    return page


@pytest.fixture(scope="module")
def checker(browser_factory):
    """A page that runs scripts, for axe on copies of pages seen with JavaScript off."""
    context = browser_factory()
    return context.pages[0] if context.pages else context.new_page()


def check_copy(checker, page, base, label):
    """axe on a copy of ``page`` (seen with JavaScript off) without its scripts, served at
    the server's origin (so that its stylesheets load) in a page that runs scripts."""
    html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.S)
    copy = base + "/axe-copy-of-a-page"
    checker.route(copy, lambda route: route.fulfill(body=html, content_type="text/html"))
    checker.set_viewport_size(page.viewport_size)
    checker.goto(copy)
    assert checker.locator("script").count() == 0
    axe_check(checker, label + " (JavaScript off)")
    checker.unroute(copy)
