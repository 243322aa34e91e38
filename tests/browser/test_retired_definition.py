"""An assessment whose definition file was deleted after it was made: ``serve`` warns at
start naming the missing version, and the case and result pages still show it, read from
the copy stored in the database, at a laptop's and a phone's width (axe-core on each page)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import TEST_DEFINITIONS, _cli, _free_port, _password, axe_check
from .journey import sign_in

pytestmark = pytest.mark.browser

ANSWERS = {"t.injury": "yes", "t.frightened": "yes", "t.strangle": "yes",
           "t.threat_kill": "yes", "t.worse": "yes"}


@pytest.fixture(scope="module")
def retired_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retired")
    definitions = folder / "definitions"
    definitions.mkdir()
    definition = json.loads((TEST_DEFINITIONS / "test-risk.json").read_text())
    (definitions / "test-risk.json").write_text(json.dumps(definition))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env.update(FORMSENGINE_DB=str(folder / "browser.db"),
               FORMSENGINE_DEFINITIONS=str(definitions))
    _cli(env, "teams", "create", "North")
    password = _password(_cli(env, "users", "create", "ana", "--role", "practitioner",
                              "--team", "North", "--name", "Ana Practitioner"))
    line = {"instrument": "test-risk", "person": "VS-1", "role": "victim_survivor",
            "occasion": "intake", "case": "C-1", "team": "North", "practitioner": "ana",
            "answers": ANSWERS, "fields": {"assessment_date": "2025-01-06"}}
    (folder / "in.jsonl").write_text(json.dumps(line) + "\n")
    _cli(env, "assessments", "import", str(folder / "in.jsonl"))
    uid = json.loads(_cli(env, "assessments", "list", "--case", "C-1", "--json"))[0]["uid"]
    case_uid = json.loads(_cli(env, "cases", "list", "--json"))[0]["uid"]
    # the organisation moves to 1.1 and deletes the 1.0 file
    newer = copy.deepcopy(definition)
    newer["version"] = "1.1"
    (definitions / "test-risk.json").unlink()
    (definitions / "test-risk-1.1.json").write_text(json.dumps(newer))

    port = _free_port()
    log_path = folder / "server.log"
    log = log_path.open("w")
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
                    raise RuntimeError("server did not start: " + log_path.read_text()) from None
                time.sleep(0.2)
        yield {"url": url, "password": password, "uid": uid, "case": case_uid,
               "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_serve_warns_at_start(retired_server):
    text = retired_server["log"].read_text()
    assert "warning: instrument test-risk v1.0" in text
    assert "definition file is missing" in text and "1 stored assessment(s)" in text


@pytest.fixture(scope="module")
def page(retired_server, browser_factory):
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, retired_server["url"], "ana", retired_server["password"],
            new_password="a calm long passphrase")
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_pages_of_the_retired_version_are_shown(retired_server, page, width):
    page.set_viewport_size({"width": width, "height": 800})
    base = retired_server["url"]
    response = page.goto(f"{base}/cases/{retired_server['case']}")
    assert response is not None and response.status == 200
    axe_check(page, f"case page at {width}")
    response = page.goto(f"{base}/assessments/{retired_server['uid']}/result")
    assert response is not None and response.status == 200
    body = page.inner_text("main")
    assert "High" in body
    axe_check(page, f"result page at {width}")
