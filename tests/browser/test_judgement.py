"""Professional judgement and finalising in a real browser, at a laptop's and a phone's
width: "Change" on the check page opens the section titled with its place and saving comes
back; a judgement typed on the check page is finalised with the assessment by the
"Finalise assessment" button; answers a colleague saves after the check page was opened
are not finalised unseen (the page refuses, shows them, and the assessment stays a draft);
an amendment adds a judgement. axe-core checks every page visited."""

from __future__ import annotations

import re

import pytest

from .conftest import axe_check
from .journey import MAIN, answer_sections, go, name, new_case, sign_in, start_assessment

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]


@pytest.fixture(scope="module")
def pages(server, browser_factory):
    """A practitioner and a supervisor of her team, each signed in in a browser of their
    own."""
    out = {}
    for user, password in (("ana", "a calm long passphrase"), ("sol", "a supervisor's words")):
        context = browser_factory()
        page = context.pages[0] if context.pages else context.new_page()
        sign_in(page, server["url"], user, server["accounts"][user], new_password=password)
        out[user] = page
    return out


def _sized(pages, width):
    for page in pages.values():
        page.set_viewport_size({"width": width, "height": 800})
    return pages["ana"], pages["sol"]


def _row(page, question):
    """The answer shown for a question in the answers summary."""
    row = page.locator(".govuk-summary-list__row", has=page.locator(
        ".govuk-summary-list__key", has_text=question)).first
    return row.locator(".govuk-summary-list__value").inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_typed_judgement_is_finalised_with_the_assessment(server, pages, width):
    base = server["url"]
    ana, _sol = _sized(pages, width)
    uid = start_assessment(ana, new_case(ana, base))
    answer_sections(ana, base, uid, yes=[MAIN[0]])  # one yes: standard
    axe_check(ana, "check answers")
    # "Change" opens the question's section, titled with its place; saving comes back here
    change = ana.locator(".govuk-summary-list__actions a[href*='back=check']").filter(
        has_not_text="date").nth(3)
    hidden = change.locator(".govuk-visually-hidden").inner_text().strip()
    go(ana, f"a[href='{change.get_attribute('href')}']")
    assert re.search(r"\(Section [2-9] of [3-9]\)", ana.title()), ana.title()
    assert ana.inner_text("h1") not in ("Assessment section", "")
    assert hidden in ana.inner_text("main")  # the question the link named
    axe_check(ana, "section opened from check answers")
    go(ana, "button:has-text('Save and return to check your answers')")
    assert ana.url.split("#")[0].endswith(f"/assessments/{uid}/check")
    anchor = ana.url.split("#")[1]  # back at the row that was changed
    assert hidden in ana.locator(f"[id='{anchor}']").inner_text()
    # a raised level without its reason: refused on the page, the choice kept
    ana.select_option("#level", "high")
    go(ana, "button:has-text('Finalise assessment')")
    assert "Give the reason for raising the level" in ana.inner_text(".govuk-error-summary")
    assert ana.locator("#level").input_value() == "high"
    axe_check(ana, "check answers, judgement refused")
    ana.fill("#reason", "Threats to kill disclosed during the call")
    go(ana, "button:has-text('Finalise assessment')")
    assert ana.url.endswith(f"/assessments/{uid}/result")
    axe_check(ana, "result")
    text = ana.inner_text("main")
    assert "Risk level: High" in text
    assert "High (by Ana Practitioner): Threats to kill disclosed during the call" in text
    assert "None recorded" not in text


@pytest.mark.parametrize("width", WIDTHS)
def test_answers_changed_after_checking_are_not_finalised_unseen(server, pages, width):
    base = server["url"]
    ana, sol = _sized(pages, width)
    uid = start_assessment(ana, new_case(ana, base))
    answer_sections(ana, base, uid)  # every answer no
    axe_check(ana, "check answers")
    # meanwhile the supervisor changes an answer and saves it
    sol.goto(f"{base}/assessments/{uid}")
    axe_check(sol, "task list, second browser")
    section = sol.locator("a[href*='/sections/']").nth(1)  # the first after the details
    go(sol, f"a[href='{section.get_attribute('href')}']")
    axe_check(sol, "section, second browser")
    # (the first legend: a follow-up's fieldset now sits inside the question's)
    question = sol.locator(
        f"fieldset:has(input[name='{name(MAIN[0])}']) legend").first.inner_text()
    sol.check(f"input[name='{name(MAIN[0])}'][value='yes']")
    for _ in range(3):  # again when more questions appear
        go(sol, "button:has-text('Save and continue')")
        axe_check(sol, "after saving, second browser")
        if "More questions are now shown" not in sol.content():
            break
    assert _row(ana, question.strip()) == "No"  # what the first browser still shows
    with ana.expect_navigation() as loaded:
        ana.click("button:has-text('Finalise assessment')")
    assert loaded.value.status == 409
    assert "These answers changed since you checked them" in ana.inner_text(
        ".govuk-error-summary")
    assert _row(ana, question.strip()).startswith("Yes")  # the answers as they are now
    axe_check(ana, "check answers, changed since checked")
    sol.goto(f"{base}/assessments/{uid}/result")
    assert not sol.url.endswith("/result")  # still a draft: the result sends to its tasks
    # finalising from the page that shows them now works
    go(ana, "button:has-text('Finalise assessment')")
    assert ana.url.endswith(f"/assessments/{uid}/result")
    axe_check(ana, "result")
    assert _row(ana, question.strip()).startswith("Yes")
    assert "None recorded" in ana.inner_text("main")
    # an amendment adds a professional judgement
    go(ana, "text=Amend this assessment")
    axe_check(ana, "amend")
    ana.select_option("#judgement-level", "high")
    ana.fill("#reason", "Judgement agreed with the supervisor")
    go(ana, "button:has-text('Save amendment')")
    assert "Give the reason for the professional judgement" in ana.inner_text(
        ".govuk-error-summary")
    assert ana.locator("#judgement-level").input_value() == "high"
    axe_check(ana, "amend, judgement refused")
    ana.fill("#judgement-reason", "Escalation reported by the police this week")
    go(ana, "button:has-text('Save amendment')")
    assert ana.url.endswith("/result") and f"/assessments/{uid}/" not in ana.url
    axe_check(ana, "amended result")
    text = ana.inner_text("main")
    assert "Risk level: High" in text
    assert "High (by Ana Practitioner): Escalation reported by the police this week" in text
    assert "Amended: Judgement agreed with the supervisor" in text
