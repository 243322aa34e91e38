"""The language switch and an assessment completed in Welsh in a real browser: with
JavaScript, the whole journey from the switch to the PDF, which is read back; without
JavaScript, the switch itself (a small form, back to the same page)."""

from __future__ import annotations

import io

import pytest

from .conftest import axe_check
from .journey import go, sign_in

pytestmark = pytest.mark.browser


def _page(context):
    return context.pages[0] if context.pages else context.new_page()


def test_an_assessment_completed_in_welsh_with_its_pdf(server, browser_factory):
    from pypdf import PdfReader

    base = server["url"]
    page = _page(browser_factory())
    sign_in(page, base, "ana", server["accounts"]["ana"],
            new_password="a long walk on the welsh coast")
    go(page, "button[value='cy']")
    assert page.get_attribute("html", "lang") == "cy"
    assert page.url.rstrip("/") == base  # back to the page it was chosen on
    assert "Achosion" in page.inner_text("h1")
    axe_check(page, "case list in Welsh")
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Creu achos')")
    assert "/cases/new" not in page.url
    page.select_option("#instrument", "idva-intake")
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Dechrau’r asesiad')")
    axe_check(page, "task list in Welsh")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/details")
    for part, value in (("", "6"), ("-month", "1"), ("-year", "2025")):
        page.fill(f"#f-assessment_date{part}", value)
    go(page, "button:has-text('Cadw a pharhau')")
    assert "Cam-drin corfforol" in page.inner_text("main")  # the Welsh wording pack
    axe_check(page, "section in Welsh")
    for field, value in (("q-idva-physical", "high"), ("q-idva-sexual", "none"),
                         ("q-idva-harassment_stalking", "not_known"),
                         ("q-idva-jealousy_control", "moderate")):
        page.check(f"input[name='{field}'][value='{value}']")
    go(page, "button:has-text('Cadw a pharhau')")
    page.goto(f"{base}/assessments/{uid}/check")
    main = page.inner_text("main")
    assert "Gwirio eich atebion" in main and "Ddim yn gwybod" in main
    axe_check(page, "check answers in Welsh")
    go(page, "button:has-text('Cwblhau’r asesiad')")
    assert page.url.endswith("/result")
    assert "Lawrlwytho adroddiad yr asesiad (PDF)" in page.inner_text("main")
    axe_check(page, "result in Welsh")
    href = page.get_attribute("a:has-text('Lawrlwytho adroddiad yr asesiad')", "href")
    response = page.request.get(base + href)
    assert response.status == 200
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(
        io.BytesIO(response.body())).pages).split())
    for welsh in ("Adroddiad asesiad", "Cam-drin corfforol", "Ddim yn gwybod", "Cwestiwn",
                  "6 Ionawr 2025"):
        assert welsh in text, welsh
    assert "Assessment report" not in text


def test_the_switch_works_without_javascript(server, browser_factory):
    base = server["url"]
    page = _page(browser_factory(java_script_enabled=False))
    page.goto(base + "/sign-in")
    assert page.get_attribute("html", "lang") == "en-GB"
    go(page, "button[value='cy']")
    assert page.url == base + "/sign-in"
    assert page.get_attribute("html", "lang") == "cy"
    assert page.inner_text("h1") == "Mewngofnodi"
    go(page, "button[value='en']")
    assert page.inner_text("h1") == "Sign in"
