"""The supervisor's caseload, the case list's filters and search, and the administrator's
confirmation and audit pages in a real browser at 1280 and 375 px wide: nothing wider than
the screen, axe-core on every page visited."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import axe_check, dash_installed
from .journey import go, sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not dash_installed(), reason="needs the DASH plugin")]

CASES = 60  # more than a page (50)
WIDTHS = (1280, 375)
NEW_PASSWORD = "caseload browser passphrase"


@pytest.fixture(scope="module")
def loaded(server, tmp_path_factory):
    """The server with 60 cases of team North, each with a final intake DASH, assigned
    to ana, imported as the command line does."""
    import formsengine_dash

    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.synthetic import generate

    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    lines, cases = [], set()
    for record in generate(engine, people=CASES + 5, instruments=["dash-safelives"], seed=11):
        if record["occasion"] != "intake" or len(cases) == CASES:
            continue
        cases.add(record["case"])
        lines.append(json.dumps({**record, "team": "North", "practitioner": "ana"}))
    path = tmp_path_factory.mktemp("caseload") / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    env["FORMSENGINE_DB"] = str(server["db"])
    done = subprocess.run([sys.executable, "-m", "formsengine.cli", "assessments", "import",
                           str(path)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return {**server, "refs": sorted(cases)}


def fits(page, label: str) -> None:
    """axe-core, and no sideways scrolling of the page at its width."""
    axe_check(page, label)
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    width = page.viewport_size["width"]
    assert wide <= width, f"{label} is {wide} px wide at {width} px"


def cards(page) -> list[str]:
    return [t.strip() for t in page.locator(".app-caseload-card h3").all_inner_texts()]


def test_supervisor_caseload_search_and_my_cases(loaded, browser_factory):
    base = loaded["url"]
    page = browser_factory().new_page()
    sign_in(page, base, "sol", loaded["accounts"]["sol"], NEW_PASSWORD)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(base + "/")
        fits(page, f"cases ({width})")
        go(page, "text=Caseload: the latest risk of every open case")
        fits(page, f"caseload ({width})")
        first = cards(page)
        assert first == loaded["refs"][:50]
        text = page.inner_text("main")
        assert "Risk level" in text and "MARAC criteria met" in text and "Ana Practitioner" in text
        go(page, "a[rel=next]")
        fits(page, f"caseload page 2 ({width})")
        assert cards(page) == loaded["refs"][50:]
        assert "C-" not in page.url.split("?", 1)[-1]  # the cursor is never a reference
        go(page, "a[rel=prev]")
        assert cards(page) == first
        go(page, "text=Risk level, highest first")
        fits(page, f"caseload by level ({width})")
        levels = page.locator(".app-caseload-card dd strong").all_inner_texts()
        order = {"High": 3, "Medium": 2, "Standard": 1}
        ranks = [order.get(x, 0) for x in levels]
        assert ranks == sorted(ranks, reverse=True)
        go(page, "text=High risk")
        fits(page, f"caseload high risk ({width})")
        assert set(page.locator(".app-caseload-card dd strong").all_inner_texts()) <= {"High"}
        go(page, "text=My cases")
        fits(page, f"caseload my cases ({width})")
        assert cards(page) == [] and "No open cases to show here" in page.inner_text("main")
        # the case list's own filter, and search by reference typed loosely
        page.goto(base + "/?show=mine")
        fits(page, f"my cases ({width})")
        page.goto(base + "/")
        page.fill("#reference", loaded["refs"][3][2:].lower())
        go(page, "button:has-text('Find case')")
        assert "/cases/" in page.url and loaded["refs"][3] in page.inner_text("main")
        assert loaded["refs"][3] not in page.url
        fits(page, f"case found ({width})")
        page.goto(base + "/")
        page.fill("#reference", "ana prac")
        go(page, "button:has-text('Find case')")
        fits(page, f"cases found ({width})")
        assert "Cases found" in page.inner_text("h1")
        assert "ana" not in page.url.lower()


def test_administrator_confirms_and_reads_the_audit_trail(loaded, browser_factory):
    base = loaded["url"]
    page = browser_factory().new_page()
    sign_in(page, base, "admin", loaded["accounts"]["admin"], NEW_PASSWORD)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(base + "/admin/")
        go(page, "a:has-text('Reset password of ben')")
        fits(page, f"reset password confirmation ({width})")
        assert "Reset ben's password?" in page.inner_text("h1")
        go(page, "text=No, go back")
        go(page, "a:has-text('Disable ben')")
        fits(page, f"disable confirmation ({width})")
        go(page, "button:has-text('Yes, disable the account')")
        assert "ben is disabled" in page.inner_text("main")
        go(page, "button:has-text('Enable ben')")
        page.goto(base + "/admin/audit")
        fits(page, f"audit ({width})")
        page.fill("#record", loaded["refs"][0].lower())
        go(page, "button:has-text('Show matching entries')")
        fits(page, f"audit for a case ({width})")
        text = page.inner_text("main")
        assert f"Case {loaded['refs'][0]}" in text or f"case {loaded['refs'][0]}" in text
        assert "{" not in text
