"""Answers carried forward from the previous occasion in a real browser, with JavaScript on
and off: after a finalised intake, the review's page shows the earlier answers chosen and
filled in, each with the notice "Carried forward from 12 March 2026 — confirm or change"
that assistive technology reads as part of the question; the task list does not count them
as answers; the practitioner changes one and saves; check your answers marks the others as
carried forward and not the changed one. axe-core finds nothing on the pages (with
JavaScript off it checks a copy of the page without its scripts, in a page that runs them).

The instrument is docs/examples/definitions/prefill.json, the documented example."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLES, axe_check, check_copy, run_server, session
from .journey import go

pytestmark = pytest.mark.browser

OFFER = "Carried forward from 12 March 2026 \u2014 confirm or change"
MARK = "Carried forward from the assessment of 12 March 2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_server(tmp_path_factory, FORMSENGINE_DEFINITIONS=str(EXAMPLES))


@pytest.fixture(scope="module")
def signed_in(server, browser_factory):
    """One signed-in page per JavaScript setting, shared by the module's tests (an account
    signs in for the first time once)."""
    pages: dict[bool, object] = {}

    def page_for(script: bool):
        if script not in pages:
            pages[script] = session(server, browser_factory, "ana" if script else "ben",
                                    script)
        return pages[script]

    return page_for


def check(page, checker, base, script: bool, label: str) -> None:
    if script:
        axe_check(page, label)
    else:
        check_copy(checker, page, base, label)


def start(page, case_url: str, occasion: str, date: tuple[str, str, str]) -> str:
    page.goto(case_url)
    page.select_option("#instrument", "example-prefill")
    page.select_option("#occasion", occasion)
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(page.url.rsplit("/assessments/", 1)[0] + f"/assessments/{uid}/sections/details")
    for part, value in zip(("", "-month", "-year"), date, strict=True):
        page.fill(f"#f-assessment_date{part}", value)
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/sections/household"), page.url
    return uid


def described_by(page, selector: str) -> str:
    """The text of the elements that ``selector``'s aria-describedby names."""
    ids = (page.get_attribute(selector, "aria-describedby") or "").split()
    return " ".join(page.inner_text(f"[id='{i}']") for i in ids)


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_a_review_carries_forward_what_the_practitioner_confirms(server, signed_in, checker,
                                                                 script):
    base = server["url"]
    page = signed_in(script)
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    case_url = page.url
    # the intake, answered and finalised
    start(page, case_url, "intake", ("12", "3", "2026"))
    assert page.locator("[data-carried]").count() == 0  # nothing earlier to offer
    page.check("input[name='q-ex-children'][value='yes']")
    if not script:  # the count is asked once the answer is saved
        go(page, "button:has-text('Save and continue')")
    page.fill("#q-ex-children-count", "2")
    for part, value in (("", "1"), ("-month", "2"), ("-year", "2026")):
        page.fill(f"#q-ex-separated_on{part}", value)
    page.check("input[name='q-ex-afraid_now'][value='yes']")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    go(page, "button:has-text('Finalise assessment')")
    assert page.url.split("#")[0].endswith("/result"), page.url
    # the review: the earlier answers offered, each with its notice
    uid = start(page, case_url, "review", ("12", "6", "2026"))
    check(page, checker, base, script, "answers carried forward")
    notices = page.locator("[data-carried]")
    assert [notices.nth(i).inner_text() for i in range(notices.count())] == [OFFER] * 3
    assert page.is_checked("input[name='q-ex-children'][value='yes']")
    assert page.input_value("#q-ex-children-count") == "2"
    assert page.input_value("#q-ex-separated_on-year") == "2026"
    assert not page.is_checked("input[name='q-ex-afraid_now'][value='yes']")
    # read as part of each question
    assert page.get_by_role("group", name="Are there children in the household?").count() == 1
    assert OFFER in described_by(page, "fieldset:has(input[name='q-ex-children'])")
    assert OFFER in described_by(page, "#q-ex-children-count")
    assert OFFER in described_by(page, "fieldset:has(#q-ex-separated_on)")
    # not an answer until the page is saved
    page.goto(f"{base}/assessments/{uid}")
    household = page.locator("li:has-text('Household')")
    assert "Not yet started" in household.inner_text()
    page.goto(f"{base}/assessments/{uid}/sections/household")
    # the practitioner corrects the count and answers the question asked afresh
    page.fill("#q-ex-children-count", "3")
    page.check("input[name='q-ex-afraid_now'][value='no']")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    check(page, checker, base, script, "check answers with answers carried forward")
    rows = page.locator(".govuk-summary-list__row")
    marked = {rows.nth(i).locator("dt").inner_text(): MARK in rows.nth(i).inner_text()
              for i in range(rows.count())}
    assert {k: v for k, v in marked.items() if k.endswith("?")} == {
        "Are there children in the household?": True, "How many children?": False,
        "When did the relationship end?": True,
        "Are you afraid of the other person now?": False}


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_a_cleared_offer_is_not_offered_again(server, signed_in, script):
    base = server["url"]
    page = signed_in(script)
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    case_url = page.url
    start(page, case_url, "intake", ("12", "3", "2026"))
    page.check("input[name='q-ex-children'][value='no']")
    for part, value in (("", "1"), ("-month", "2"), ("-year", "2026")):
        page.fill(f"#q-ex-separated_on{part}", value)
    page.check("input[name='q-ex-afraid_now'][value='yes']")
    go(page, "button:has-text('Save and continue')")
    go(page, "button:has-text('Finalise assessment')")
    assert page.url.split("#")[0].endswith("/result"), page.url
    uid = start(page, case_url, "review", ("12", "6", "2026"))
    assert page.input_value("#q-ex-separated_on-year") == "2026"
    # nobody knows when the relationship ended now: the practitioner clears the date
    for part in ("", "-month", "-year"):
        page.fill(f"#q-ex-separated_on{part}", "")
    page.check("input[name='q-ex-afraid_now'][value='no']")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    # back to the page: the cleared date stays cleared, with no notice; the kept answer
    # says it was confirmed
    page.goto(f"{base}/assessments/{uid}/sections/household")
    assert page.input_value("#q-ex-separated_on-year") == ""
    notices = page.locator("[data-carried]")
    assert [notices.nth(i).inner_text() for i in range(notices.count())] == [
        "Carried forward from 12 March 2026 and confirmed \u2014 change it if it no longer "
        "holds"]
    # saving the page again does not bring it back
    go(page, "button:has-text('Save and continue')")
    rows = page.locator(".govuk-summary-list__row")
    answers = {rows.nth(i).locator("dt").inner_text(): rows.nth(i).locator("dd").first
               .inner_text() for i in range(rows.count())}
    assert "2026" not in answers["When did the relationship end?"]
    assert MARK not in answers["When did the relationship end?"]
