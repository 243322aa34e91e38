"""Occasions in a real browser, 1280 and 375 px wide: a new case follows the organisation's
default instrument and its schedule comes from the instruments followed; the occasion list
follows the chosen assessment and starts at the next one due; a pair that does not go
together is refused at the field; finalising marks the schedule entry done; a draft on a
closed case cannot be finalised, with a message. axe-core on every page visited."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import axe_check, dash_installed
from .test_journey import go, sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not dash_installed(), reason="needs the DASH plugin")]

DASH = "dash-safelives"
NEEDS = "needs-vs"
# every question the page shows (a hidden follow-up is not asked: answering it would be
# refused by the save, which never drops an answer unsaid)
ALL_NO = """() => {
  const names = new Set([...document.querySelectorAll('input[type=radio]')]
    .filter(e => !e.closest('[hidden]')).map(e => e.name))
  for (const n of names) {
    const no = document.querySelector(`input[type=radio][name="${n}"][value="no"]`)
    if (no) no.checked = true
  }
}"""


def occasion_options(page) -> list[str]:
    return page.eval_on_selector_all("#occasion option", "os => os.map(o => o.value)")


def schedule_rows(page) -> list[tuple[str, str, str]]:
    """(assessment, occasion, status) of each schedule row: a table per assessment."""
    out = []
    for caption in page.locator("caption[id^='schedule-']").all():
        table = caption.locator("xpath=ancestor::table")
        for row in table.locator("tbody tr").all():
            cells = [c.strip() for c in row.locator("td, th").all_inner_texts()]
            out.append((caption.inner_text().strip(), cells[0], cells[2]))
    return out


def fill_sections(page, label: str) -> None:
    """From the task list: every section, every question answered no, to the check page."""
    go(page, "text=Assessment details")
    today = dt.date.today()
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        page.fill(f"[name='f-assessment_date-{part}']", str(value))
    page.fill("[name='f-police_incidents_12m']", "0")
    go(page, "button:has-text('Save and continue')")
    for _ in range(10):
        if "/sections/" not in page.url:
            break
        page.evaluate(ALL_NO)
        go(page, "button:has-text('Save and continue')")
    assert page.url.endswith("/check"), page.url
    axe_check(page, f"check answers ({label})")


@pytest.mark.parametrize("width,user", [(1280, "ana"), (375, "ben")])
def test_occasions_follow_the_instruments_of_the_case(server, browser_factory, width, user):
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource: the server responded") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base, user, server["accounts"][user],
            new_password=f"a long passphrase at width {width}")  # (never the username)

    # a new case: the organisation's default instrument is chosen, another one added
    page.goto(base + "/cases/new")
    axe_check(page, f"new case {width}")
    assert page.locator(f"input[name=instruments][value='{DASH}']").is_checked()
    page.check("#victim_survivor")
    page.check(f"input[name=instruments][value='{NEEDS}']")
    go(page, "button:has-text('Create case')")
    case_url = page.url
    axe_check(page, f"case {width}")

    # nothing on the case page is wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # the schedule is the occasions of the two instruments followed
    rows = schedule_rows(page)
    titles = {r[0] for r in rows}
    assert len(titles) == 2 and any("DASH" in t for t in titles)
    dash_title = next(t for t in titles if "DASH" in t)
    assert [(r[1]) for r in rows if r[0] == dash_title] == ["Intake", "Review", "Exit"]
    assert len(rows) == 6 and {r[2] for r in rows} <= {"Due soon", "Upcoming"}

    # the occasion list is the chosen assessment's, starting at its next one due
    assert page.locator("#instrument").input_value() == DASH
    assert occasion_options(page) == ["intake", "review", "after_incident", "exit"]
    assert page.locator("#occasion").input_value() == "intake"
    page.select_option("#instrument", NEEDS)
    assert occasion_options(page) == ["intake", "review_3m", "review_6m", "review_9m",
                                      "closure", "review", "exit", "after_incident"]
    assert page.locator("#occasion").input_value() == "intake"
    page.select_option("#instrument", DASH)
    assert page.locator("#occasion").input_value() == "intake"

    # a pair that does not go together (as a page without script could send) is refused
    page.evaluate("""() => { const o = document.createElement('option')
        o.value = 'review_3m'; o.textContent = 'Review at 3 months'
        document.getElementById('occasion').append(o); o.selected = true }""")
    go(page, "button:has-text('Start assessment')")
    assert "There is a problem" in page.content()
    assert "Choose an occasion at which" in page.locator("#occasion-error").inner_text()
    assert page.locator("#instrument").input_value() == DASH
    axe_check(page, f"case, start refused {width}")

    # the intake, finalised: its schedule entry is done
    page.goto(case_url)
    page.select_option("#instrument", DASH)
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    axe_check(page, f"task list {width}")
    fill_sections(page, f"intake {width}")
    go(page, "button:has-text('Finalise assessment')")
    assert page.url.endswith("/result")
    axe_check(page, f"result {width}")
    page.goto(case_url)
    rows = schedule_rows(page)
    assert (dash_title, "Intake", "Done") in rows
    assert [r for r in rows if r[2] == "Done"] == [(dash_title, "Intake", "Done")]
    page.select_option("#instrument", DASH)
    assert page.locator("#occasion").input_value() == "review"  # DASH's next one due
    axe_check(page, f"case after the intake {width}")

    # a review drafted, then the case closed: the draft cannot be finalised
    go(page, "button:has-text('Start assessment')")
    fill_sections(page, f"review {width}")
    check_url = page.url
    page.goto(case_url)
    page.click("text=Close this case")
    page.check("text=Support completed")
    go(page, "button:has-text('Close case')")
    axe_check(page, f"closed case {width}")
    page.goto(check_url)
    go(page, "button:has-text('Finalise assessment')")
    assert page.inner_text("h1") == "Check your answers"  # the page again, with the reason
    assert ("This case is closed, so its assessments cannot be finalised: reopen the case to "
            "finalise this one") in page.inner_text("main")
    axe_check(page, f"check answers, case closed {width}")
    page.goto(case_url)
    assert (dash_title, "Review", "Done") not in schedule_rows(page)
    assert not errors, errors
