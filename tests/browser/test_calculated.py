"""Calculated values and piping in a real browser, on the example definition
docs/examples/definitions/calculated.json. With JavaScript, changing an answer marks the
values computed on the server out of date until the page is saved (nothing is computed in
the page); without JavaScript the values and the piped labels come from the last save.
axe-core checks the pages, the out-of-date state included."""

from __future__ import annotations

import pytest

from .conftest import ARGS, CHROMIUM, ROOT, axe_check, run_server
from .journey import go, new_case, sign_in

pytestmark = pytest.mark.browser

EXAMPLES = ROOT / "docs" / "examples" / "definitions"
PASSPHRASE = "a calm long passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_server(tmp_path_factory, FORMSENGINE_DEFINITIONS=str(EXAMPLES))


def _context(playwright_instance, tmp_path_factory, javascript: bool):
    return playwright_instance.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), headless=True,
        args=ARGS, service_workers="block", java_script_enabled=javascript)


@pytest.fixture(scope="module")
def pages(server, playwright_instance, tmp_path_factory):
    """A signed-in page with JavaScript and one without (the same account)."""
    contexts = [_context(playwright_instance, tmp_path_factory, js) for js in (True, False)]
    try:
        on, off = (c.pages[0] if c.pages else c.new_page() for c in contexts)
        for p in (on, off):
            p.set_default_timeout(20_000)
        sign_in(on, server["url"], "ana", server["accounts"]["ana"], new_password=PASSPHRASE)
        sign_in(off, server["url"], "ana", PASSPHRASE, check=lambda *a: None)
        yield {"on": on, "off": off}
    finally:
        for c in contexts:
            c.close()


def start(page, base, javascript=True) -> str:
    if javascript:
        case = new_case(page, base)  # with axe-core's checks, which need the script
    else:
        page.goto(base + "/cases/new")
        page.check("#victim_survivor")
        page.fill("#opened_on-year", "2025")
        go(page, "button:has-text('Create case')")
        case = page.url
    page.goto(case)
    page.select_option("#instrument", "example-calculated")
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/details")
    for part, value in (("", "1"), ("-month", "3"), ("-year", "2025")):
        page.fill(f"#f-assessment_date{part}", value)
    for part, value in (("", "29"), ("-month", "2"), ("-year", "2008")):
        page.fill(f"#f-date_of_birth{part}", value)
    go(page, "button:has-text('Save and continue')")
    return uid


def shown(page) -> dict[str, tuple[str, str]]:
    rows = page.locator("[data-calculated] .govuk-summary-list__row")
    return {rows.nth(i).locator("dt").inner_text().strip(): (
        rows.nth(i).locator(".app-calculated__value").inner_text().strip(),
        rows.nth(i).locator(".app-calculated__tag").inner_text().strip())
        for i in range(rows.count())}


def test_with_javascript_a_changed_answer_marks_the_values_out_of_date(server, pages):
    page, base = pages["on"], server["url"]
    uid = start(page, base)
    page.goto(f"{base}/assessments/{uid}/sections/worries")
    assert shown(page) == {"Worry score": ("0", "Provisional"),
                           "Age of the person assessed": ("17", "Provisional")}
    axe_check(page, "section with calculated values")
    note = page.locator(".app-calculated__stale")
    assert note.inner_text().strip() == "" and not note.is_visible()
    page.check("input[name='q-ex-worry_home'][value='often']")
    # the value is the server's still (no arithmetic in the page), marked out of date
    assert shown(page)["Worry score"] == ("0", "Out of date")
    assert note.is_visible() and "Save the page to update these values" in note.inner_text()
    axe_check(page, "calculated values out of date")
    go(page, "button:has-text('Save and continue')")
    page.goto(f"{base}/assessments/{uid}/sections/worries")
    assert shown(page)["Worry score"] == ("2", "Provisional")
    assert not page.locator(".app-calculated__stale").is_visible()
    # typing in a text box marks them too; a change outside the questions does not
    page.goto(f"{base}/assessments/{uid}/sections/child")
    assert shown(page) == {"Age of the youngest child, in whole years":
                           ("Not known yet", "Provisional")}
    page.fill("#q-ex-child_name", "<b>Robin</b>")
    assert shown(page)["Age of the youngest child, in whole years"][1] == "Out of date"
    go(page, "button:has-text('Save and continue')")
    page.goto(f"{base}/assessments/{uid}/sections/child")
    legend = page.locator("#question-q-ex-child_born legend").inner_text()
    assert legend == "When was <b>Robin</b> born?"  # shown as typed, not as markup
    assert page.locator("#question-q-ex-child_born legend b").count() == 0
    page.goto(f"{base}/assessments/{uid}/check")
    axe_check(page, "check answers with calculated values")
    assert shown(page)["Worry score"] == ("2", "Provisional")


def test_without_javascript_the_values_come_from_the_last_save(server, pages):
    page, base = pages["off"], server["url"]
    uid = start(page, base, javascript=False)
    page.goto(f"{base}/assessments/{uid}/sections/child")
    assert "When was the youngest child born?" in page.inner_text("main")
    page.fill("#q-ex-child_name", "Robin")
    for part, value in (("", "29"), ("-month", "2"), ("-year", "2024")):
        page.fill(f"#q-ex-child_born{part}", value)
    # no script: nothing changes on the page until it is saved
    assert shown(page) == {"Age of the youngest child, in whole years":
                           ("Not known yet", "Provisional")}
    go(page, "button:has-text('Save and continue')")
    page.goto(f"{base}/assessments/{uid}/sections/child")
    assert shown(page) == {"Age of the youngest child, in whole years": ("1", "Provisional")}
    assert "Does Robin go to school or nursery?" in page.inner_text("main")
    assert "as things are on 1 March 2025" in page.inner_text("main")
