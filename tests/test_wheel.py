"""The distributions as an organisation installs them: wheels built from a clean copy of
the repository (only the files git tracks or would track: no node_modules, no build
output), installed into a new virtual environment outside the repository, served, and a
page fetched with its stylesheet and scripts. An installation that lost its GOV.UK
Frontend files is refused by ``serve`` instead of serving pages without styles."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _clean_copy(target: Path) -> None:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                            "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    clone = base / "clone"
    _clean_copy(clone)
    assert not (clone / "node_modules").exists()
    dist = base / "dist"
    projects = [clone, *sorted(p.parent for p in (clone / "plugins").glob("*/pyproject.toml"))]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), *map(str, projects)],
                   check=True, capture_output=True, cwd=base)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", *map(str, sorted(dist.glob("*.whl")))],
                   check=True, capture_output=True)
    # The dependencies are the ones this environment already has (after the wheels' own
    # site-packages, so the wheels' copies of formsengine and its plugins come first).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    work = base / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env.update(FORMSENGINE_DB=str(work / "site.db"), PYTHONPATH="")
    return {"python": python, "venv": venv, "work": work, "env": env, "site": site.stdout.strip()}


def _run(installed, *args, **kw):
    return subprocess.run([str(installed["venv"] / "bin" / "formsengine"), *args],
                          cwd=installed["work"], env=installed["env"], capture_output=True,
                          text=True, timeout=120, **kw)


def test_the_installed_wheels_serve_pages_with_their_styles_and_scripts(installed):
    where = subprocess.run([str(installed["python"]), "-c",
                            "import formsengine, formsengine_dash; print(formsengine.__file__);"
                            " print(formsengine_dash.__file__)"],
                           cwd=installed["work"], env=installed["env"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert all(path.startswith(installed["site"]) for path in where), where
    # plugin authors type-check against the installed hook API
    assert Path(installed["site"], "formsengine", "py.typed").is_file()
    # the Welsh message catalogue, compiled, and the outcomes plugin's Welsh wording pack
    assert Path(installed["site"], "formsengine", "web", "translations", "cy", "LC_MESSAGES",
                "messages.mo").is_file()
    assert Path(installed["site"], "formsengine_outcomes", "definitions",
                "idva-intake-cy.wording.json").is_file()
    assert _run(installed, "db", "init").returncode == 0
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = installed["work"] / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([str(installed["venv"] / "bin" / "formsengine"), "serve",
                                 "--port", str(port)], cwd=installed["work"],
                                env=installed["env"], stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/sign-in", timeout=2) as r:
                    page = r.read().decode()
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        assert any(a.endswith("govuk-frontend.min.css") for a in assets), assets
        assert any(a.endswith("app.js") for a in assets), assets
        assets.append("/static/govuk/govuk-frontend.min.js")  # imported by app.js
        for path in assets:
            with urllib.request.urlopen(url + path, timeout=5) as r:
                assert r.status == 200 and len(r.read()) > 100, path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_refuses_an_installation_without_the_govuk_files(installed):
    govuk = Path(installed["site"], "formsengine", "web", "static", "govuk")
    assert (govuk / "govuk-frontend.min.css").is_file()
    shutil.rmtree(govuk)
    out = _run(installed, "serve", "--port", str(_free_port()))
    assert out.returncode == 2
    assert "no govuk/govuk-frontend.min.css, govuk/govuk-frontend.min.js" in out.stderr
    assert "Traceback" not in out.stderr
