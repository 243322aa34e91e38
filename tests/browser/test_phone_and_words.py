"""The DASH on a phone (375 px) and a laptop: no page wider than the screen, the result led
by the risk level and the MARAC decision within the first screen, comment and source boxes
behind "Add a comment or source"; MARAC criteria without their information shown as "Not
known", the last referral date carried forward to the next assessment (and said to be), and
the suggested stalking supplement started from the result. axe-core on every page."""

from __future__ import annotations

import pytest

from .conftest import axe_check, dash_installed
from .journey import MAIN, REVIEW, answer_sections, go, new_case, sign_in, start_assessment

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not dash_installed(), reason="needs the DASH plugin")]

PHONE = {"width": 375, "height": 667}
STALKING = "dash.stalking_harassment"


@pytest.fixture(scope="module")
def ana(server, browser_factory):
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, server["url"], "ana", server["accounts"]["ana"],
            new_password="a phone-sized passphrase")
    return page


def fits(page, label: str) -> None:
    """axe, and nothing wider than the window (no sideways scrolling)."""
    axe_check(page, label)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (label, width)


def tag_of(page, label_start: str) -> str:
    item = page.locator(".app-criterion", has_text=label_start).first
    return item.locator(".govuk-tag").inner_text().strip()


def set_date(page, field: str, day: str, month: str, year: str) -> None:
    for part, value in (("", day), ("-month", month), ("-year", year)):
        page.fill(f"#{field}{part}", value)


@pytest.mark.parametrize("width", [375, 1280])
def test_marac_on_a_phone_and_a_laptop(server, ana, width):
    base = server["url"]
    ana.set_viewport_size({"width": width, "height": PHONE["height"]})
    case_url = new_case(ana, base)
    uid = start_assessment(ana, case_url)
    fits(ana, "task list")
    # nothing is filled in before the details are opened
    status = ana.locator("#task-1-status").inner_text()
    assert "Completed" not in status, status
    # a question's comment box is closed until asked for, and then it can be typed in
    ana.goto(f"{base}/assessments/{uid}/sections/current_situation")
    fits(ana, "section")
    comment = ana.locator("textarea[name^='c-']").first
    assert not comment.is_visible()
    ana.locator(".app-question__extra summary").first.click()
    assert comment.is_visible()

    answer_sections(ana, base, uid, yes=[MAIN[0], STALKING], date="2025-03-12")
    fits(ana, "check answers")
    # no referral date recorded: repeat MARAC is not known, and nothing says "refer"
    assert tag_of(ana, "Repeat MARAC") == "Not known"
    assert tag_of(ana, "Visible high risk") == "Not met"
    headings = ana.locator("h2").all_inner_texts()
    assert "MARAC referral criteria" in headings and "Refer to MARAC" not in headings
    # the date is recorded: within 12 months of the referral, so the criterion is met
    ana.goto(f"{base}/assessments/{uid}/sections/details")
    set_date(ana, "f-last_marac_referral", "10", "1", "2025")
    go(ana, "button:has-text('Save and continue')")
    ana.goto(f"{base}/assessments/{uid}/check")
    assert tag_of(ana, "Repeat MARAC") == "Met"
    assert "Refer to MARAC" in ana.locator("h2").all_inner_texts()
    go(ana, "button:has-text('Finalise assessment')")
    assert ana.url.endswith("/result"), ana.url
    fits(ana, "result")
    # the level and the decision are the first thing on the first screen
    panel = ana.locator(".app-level")
    assert "Risk level:" in panel.inner_text() and "Refer to MARAC" in panel.inner_text()
    box = panel.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], box

    # the next assessment carries the referral date forward, and says so
    go(ana, "a:has-text('Back to the case')")
    fits(ana, "case")
    uid2 = start_assessment(ana, case_url, occasion=REVIEW)
    ana.goto(f"{base}/assessments/{uid2}/sections/details")
    fits(ana, "details of the next assessment")
    assert ana.input_value("#f-last_marac_referral-year") == "2025"
    assert ana.input_value("#f-last_marac_referral-month") == "1"
    hint = ana.locator("#f-last_marac_referral-hint").inner_text()
    assert "Carried forward from the assessment of 12 March 2025" in hint

    # the stalking supplement the first result suggests starts from its button
    ana.goto(f"{base}/assessments/{uid}/result")
    go(ana, ".app-offer button")
    assert "/assessments/" in ana.url and "Stalking" in ana.locator("h1").inner_text()
    fits(ana, "suggested assessment's task list")
