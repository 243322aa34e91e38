"""A practitioner's journey in a real browser against a real server process: sign in,
create a case, complete a DASH at intake with the keyboard alone (high risk, MARAC
criteria), complete a review with lower risk, see the change in the table and chart;
another team gets 404; signing out makes the old cookie useless. axe-core checks every
page visited, error states included."""

from __future__ import annotations

import re

import pytest

from .conftest import axe_check
from .journey import (
    INCIDENTS,
    INSTRUMENT,
    INTAKE_YES,
    MAIN,
    REVIEW,
    REVIEW_YES,
    Keyboard,
    go,
    name,
    sign_in,
)

pytestmark = pytest.mark.browser

def complete_by_keyboard(page, base, uid, yes_count, date, incidents, judgement_error=False):
    keys = Keyboard(page)
    page.goto(f"{base}/assessments/{uid}")
    axe_check(page, "task list")
    keys.start()
    keys.tab_to(lambda a: a["text"] == "Assessment details")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    keys.start()
    keys.type_into(INCIDENTS, "many")
    keys.press_button("Save and continue")
    assert "There is a problem" in page.content()
    axe_check(page, "details error")
    keys.start()
    year, month, day = date.split("-")
    for part, value in (("day", day), ("month", month), ("year", year)):
        keys.type_into(f"f-assessment_date-{part}", value)
    keys.type_into(INCIDENTS, incidents)
    keys.press_button("Save and continue")
    answers = {item: ("yes" if i < yes_count else "no") for i, item in enumerate(MAIN)}
    for _ in range(10):  # one page per section
        if "/sections/" not in page.url:
            break
        axe_check(page, "section " + page.url.rsplit("/", 1)[-1])
        on_page = page.eval_on_selector_all(
            "input[type=radio]", "els => [...new Set(els.map(e => e.name))]")
        keys.start()
        for item, value in answers.items():
            if name(item) in on_page:
                keys.choose(name(item), value)
        keys.press_button("Save and continue")
    assert page.url.endswith("/check"), page.url
    axe_check(page, "check answers")
    if judgement_error:  # a raised level without its reason: refused on the page
        page.select_option("#level", index=1)
        go(page, "button:has-text('Save judgement without finalising')")
        assert "Give the reason for raising the level" in page.content()
        assert page.locator("#level").input_value() != ""  # the choice is kept
        axe_check(page, "check answers, judgement error")
        page.select_option("#level", index=0)  # no change after all
    keys.start()
    keys.press_button("Finalise assessment")
    assert page.url.endswith("/result")
    axe_check(page, "result")


def test_practitioner_journey(server, browser_factory):
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    # Error pages answer 400/404 on purpose; anything else logged as an error (a script
    # error, a Content-Security-Policy violation) fails the test.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource: the server responded") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    sign_in(page, base, "ana", server["accounts"]["ana"], new_password="a calm long passphrase")
    axe_check(page, "cases")
    go(page, "text=Create a case")
    axe_check(page, "new case")
    go(page, "button:has-text('Create case')")
    assert "Select who the case is about" in page.content()
    axe_check(page, "new case error")
    page.check("#victim_survivor")
    page.fill("#vs_name", "AB")
    page.fill("#opened_on", "")  # today's date is filled in: clear the day and month
    page.fill("#opened_on-month", "")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    assert "Date the case was opened must include a day and a month" in page.content()
    axe_check(page, "new case date error")
    page.fill("#opened_on", "6")  # the day box, where the error summary's link lands
    page.fill("#opened_on-month", "1")
    go(page, "button:has-text('Create case')")
    case_url = page.url
    assert re.search(r"/cases/[A-Za-z0-9_-]{16}$", case_url)
    axe_check(page, "case")
    assert "AB" not in page.title()

    # intake, by keyboard: high risk
    page.select_option("#instrument", INSTRUMENT)
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    intake = page.url.rsplit("/", 1)[-1]
    complete_by_keyboard(page, base, intake, INTAKE_YES, "2025-01-06", "4")
    text = page.inner_text("main")
    assert "Risk level: High" in text
    assert "MARAC" in text and "Criteria met:" in text
    assert "Visible high risk" in text and "Potential escalation" in text
    assert page.locator(".app-criterion--met").count() >= 2
    assert page.locator(".app-flags").count() == 1  # critical flags shown prominently
    assert page.locator(".govuk-exit-this-page").count() == 1

    # review: lower risk
    page.goto(case_url)
    page.select_option("#instrument", INSTRUMENT)
    page.select_option("#occasion", REVIEW)
    go(page, "button:has-text('Start assessment')")
    review = page.url.rsplit("/", 1)[-1]
    complete_by_keyboard(page, base, review, REVIEW_YES, "2025-04-07", "0",
                         judgement_error=True)
    assert "Risk level: High" not in page.inner_text("main")

    # change over time: table and chart
    page.goto(case_url)
    axe_check(page, "case with history")
    table = page.locator("table", has_text="at each occasion")
    assert table.count() == 1
    cells = table.locator("tbody tr").all_inner_texts()
    assert len(cells) == 2
    assert f"\t{INTAKE_YES}\t" in cells[0] and f"\t{REVIEW_YES}\t" in cells[1]
    assert f"{REVIEW_YES - INTAKE_YES:+d}" in cells[1]
    svg = page.locator("svg[role=img]")
    assert svg.count() == 1
    assert svg.locator("polyline").count() == 1 and svg.locator("circle").count() == 2
    assert svg.locator("line[stroke-dasharray]").count() >= 2  # band cut-offs drawn
    assert "fell to" in page.inner_text("main")

    # the due view shows the case's next scheduled occasion (none due: both done)
    page.goto(base + "/due")
    axe_check(page, "due")

    # closing the case: refused without a reason (axe on the error), then closed
    page.goto(case_url)
    assert not page.locator("button:has-text('Close case')").is_visible()  # folded away
    page.click("text=Close this case")
    go(page, "button:has-text('Close case')")
    assert "Choose why the case is being closed" in page.content()
    assert page.locator("button:has-text('Close case')").is_visible()  # open on a problem
    axe_check(page, "close case error")
    page.check("text=Support completed")
    go(page, "button:has-text('Close case')")
    assert "Closed on" in page.inner_text("main")
    assert page.locator("button:has-text('Start assessment')").count() == 0
    axe_check(page, "closed case")

    # another team: 404 for the case and both assessments
    other = browser_factory()
    other_page = other.pages[0] if other.pages else other.new_page()
    sign_in(other_page, base, "ben", server["accounts"]["ben"],
            new_password="another calm passphrase")
    for url in (case_url, f"{base}/assessments/{intake}/result",
                f"{base}/assessments/{review}", f"{base}/assessments/{intake}/amend"):
        response = other_page.goto(url)
        assert response.status == 404, url
        assert "Page not found" in other_page.content()
    axe_check(other_page, "not found")

    # sign out: the old session cookie no longer works
    old_cookies = context.cookies()
    assert any(c["name"] == "fe_session" for c in old_cookies)
    page.goto(case_url)
    go(page, "button:has-text('Sign out')")
    assert page.url.endswith("/signed-out")
    axe_check(page, "signed out")
    context.clear_cookies()
    context.add_cookies(old_cookies)
    response = page.goto(case_url)
    assert "/sign-in" in page.url and response.status == 200
    assert "Sign in" in page.title()
    assert not errors, errors


def test_supervisor_manages_a_case(server, browser_factory):
    """A supervisor of two teams: a person recorded by mistake is removed, the case moves to
    the other team; the case page passes axe at each step, with every section open."""
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base, "sol", server["accounts"]["sol"],
            new_password="a supervisor's passphrase")
    page.goto(base + "/cases/new")
    page.select_option("#team", label="North")
    page.check("#victim_survivor")
    page.check("#service_user")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    case_url = page.url
    assert re.search(r"/cases/[A-Za-z0-9_-]{16}$", case_url)
    for summary in page.locator("summary").all():
        summary.click()  # every management section open, so that axe sees them all
    axe_check(page, "case, supervisor's sections")
    page.select_option("#who", "service_user")
    go(page, "button:has-text('Remove from the case')")
    assert "Service user removed from the case." in page.content()
    assert "Remove a person recorded by mistake" not in page.content()
    axe_check(page, "case after removing a person")
    page.click("text=Move this case to another team")
    page.select_option("#team", label="South")
    go(page, "button:has-text('Move case')")
    assert page.url == case_url
    assert "moved to South" in page.content()
    assert "South" in page.locator(".govuk-summary-list").inner_text()
    axe_check(page, "case after moving it")


def test_administrator_pages(server, browser_factory):
    """The administrator's pages, their error states and the account pages pass axe too."""
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base, "admin", server["accounts"]["admin"],
            new_password="the office manager passphrase")
    page.goto(base + "/admin/")
    axe_check(page, "administration")
    go(page, "text=See the audit trail")
    assert "/admin/audit" in page.url and "login" in page.inner_text("main")
    axe_check(page, "audit trail")
    page.fill("#actor", "x" * 101)
    go(page, "button:has-text('Show matching entries')")
    assert "A username is 100 characters or fewer" in page.content()
    axe_check(page, "audit trail error")
    page.goto(base + "/admin/")
    go(page, "button:has-text('Add team')")  # empty name: an error message
    assert "/admin" in page.url
    axe_check(page, "administration error")
    page.fill("#username", "carla")
    go(page, "button:has-text('Add account')")
    assert "carla" in page.content()
    axe_check(page, "new account password")
    page.goto(base + "/admin/")
    with page.expect_navigation():
        page.get_by_role("link", name="Change teams of ana").click()
    assert "/teams" in page.url and page.is_checked("label:has-text('North')")
    axe_check(page, "change teams")
    go(page, "button:has-text('Save teams')")  # unchanged: North only
    assert page.url.rstrip("/").endswith("/admin") and "Teams of ana changed." in page.content()
    page.goto(base + "/account/password")
    axe_check(page, "account password")
    page.goto(base + "/account/two-factor")
    axe_check(page, "two-factor set-up")
    # An administrator sees no case content: the case list sends them to administration.
    page.goto(base + "/")
    assert page.url.rstrip("/").endswith("/admin")
    axe_check(page, "administrator's start page")
    # The research data page: counts only (the journey's assessments are too few to show).
    go(page, "text=Research data")
    assert page.url.endswith("/research")
    assert "fewer than" in page.inner_text("main") or "no final assessments" in page.content()
    axe_check(page, "research data")
