"""How many phone screens each page of a DASH takes: a server on a fresh database, Chromium
at 375 x 667 px, a practitioner completing a DASH (one answer yes per section, every other
no; a comment typed on the first question), and per page its height in screens
(scrollHeight / 667) and its width (scrollWidth, at most 375 for no sideways scrolling).

    .venv/bin/python benchmarks/phone_screens.py [--source DIR]

``--source``: serve the formsengine package from another checkout (to measure an earlier
version with the same steps). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import conftest  # noqa: E402
from tests.browser.journey import MAIN, answer_sections, sign_in  # noqa: E402

PHONE = {"width": 375, "height": 667}


@contextmanager
def server(source: Path | None):
    if source is not None:  # "python -m" looks in the working folder first
        os.environ["PYTHONPATH"] = str(source)
        os.chdir(source)
    factory = _TmpFactory()
    fixture = conftest.server
    fn = getattr(fixture, "__wrapped__", None) or fixture._get_wrapped_function()
    gen = fn(factory)
    try:
        yield next(gen)
    finally:
        gen.close()


class _TmpFactory:
    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=name))


def measure(page, label: str, out: list) -> None:
    height, width = page.evaluate(
        "[document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
    out.append((label, height / PHONE["height"], width))


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--source", type=Path, default=None)
    source = args.parse_args().source
    from playwright.sync_api import sync_playwright

    rows: list = []
    with server(source) as srv, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(conftest.CHROMIUM), args=conftest.ARGS)
        page = browser.new_page(viewport=PHONE)
        base = srv["url"]
        sign_in(page, base, "ana", srv["accounts"]["ana"],
                new_password="measuring on a phone", check=lambda *a: None)
        case_url = _new_case(page, base)
        page.goto(case_url)
        page.select_option("#instrument", "dash-safelives")
        page.select_option("#occasion", "intake")
        with page.expect_navigation():
            page.click("button:has-text('Start assessment')")
        uid = page.url.rsplit("/", 1)[-1]
        measure(page, "Task list", rows)
        visited = []
        original = page.click

        def click(selector, *a, **kw):  # measure each section page before it is saved
            if "/sections/" in page.url and page.url not in visited:
                visited.append(page.url)
                measure(page, "Section: " + page.url.rsplit("/", 1)[-1].replace("_", " "),
                        rows)
            return original(selector, *a, **kw)

        page.click = click
        answer_sections(page, base, uid, yes=MAIN[::6], date="2025-03-12")
        page.click = original
        measure(page, "Check answers", rows)
        with page.expect_navigation():
            page.click("button:has-text('Finalise assessment')")
        measure(page, "Result", rows)
        top = page.evaluate("(() => { const e = document.querySelector('.app-level, "
                            ".govuk-panel'); if (!e) return null; const r = "
                            "e.getBoundingClientRect(); return r.bottom; })()")
        browser.close()
    print("| Page | Screens at 375 x 667 | Width (px) |")
    print("| --- | ---: | ---: |")
    for label, screens, width in rows:
        print(f"| {label} | {screens:.1f} | {width} |")
    print(f"\nRisk level panel ends at {top:.0f} px" if top else "\nNo risk level panel")
    return 0


def _new_case(page, base) -> str:
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    with page.expect_navigation():
        page.click("button:has-text('Create case')")
    return page.url


if __name__ == "__main__":
    sys.exit(main())
