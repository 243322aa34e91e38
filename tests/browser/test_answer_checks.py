"""The exclusive "none of these" option in a real browser
(docs/examples/definitions/answer_checks.json): with JavaScript, ticking it unticks the
others and ticking another unticks it; without JavaScript, both can be ticked and the save
is refused with the problem at the question and what was ticked kept. axe-core checks the
page."""

from __future__ import annotations

import shutil

import pytest

from .conftest import ROOT, TEST_DEFINITIONS, axe_check, run_server
from .journey import go, sign_in

pytestmark = pytest.mark.browser

EXAMPLE = ROOT / "docs" / "examples" / "definitions" / "answer_checks.json"
INSTRUMENT = "example-answer-checks"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("definitions")
    shutil.copy(EXAMPLE, folder)
    shutil.copy(TEST_DEFINITIONS / "test-risk.json", folder)
    yield from run_server(tmp_path_factory, FORMSENGINE_DEFINITIONS=str(folder))


def _contact_page(page, base) -> None:
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    page.select_option("#instrument", INSTRUMENT)
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/contact")


def box(page, value):
    return page.locator(f"input[name='q-ex-contact_ways'][value='{value}']")


def test_ticking_none_of_these_unticks_the_others_and_back(server, browser_factory):
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base, "ana", server["accounts"]["ana"], new_password="a calm long passphrase")
    _contact_page(page, base)
    axe_check(page, "a question with an exclusive option")
    page.click(f"label[for='{box(page, 'phone').get_attribute('id')}']")
    page.click(f"label[for='{box(page, 'email').get_attribute('id')}']")
    assert box(page, "phone").is_checked() and box(page, "email").is_checked()
    # the phone number question is shown for a phone call (the page's own conditions)
    assert page.locator("[name='q-ex-safe_number']").is_visible()
    page.click(f"label[for='{box(page, 'none').get_attribute('id')}']")
    assert box(page, "none").is_checked()
    assert not box(page, "phone").is_checked() and not box(page, "email").is_checked()
    assert not page.locator("[name='q-ex-safe_number']").is_visible()
    page.click(f"label[for='{box(page, 'text').get_attribute('id')}']")
    assert box(page, "text").is_checked() and not box(page, "none").is_checked()
    page.click(f"label[for='{box(page, 'text').get_attribute('id')}']")
    page.click(f"label[for='{box(page, 'none').get_attribute('id')}']")
    go(page, "button:has-text('Save and continue')")
    assert "/sections/feelings" in page.url, page.inner_text("main")[:500]


def test_without_javascript_the_server_refuses_both_and_keeps_them(server, playwright_instance,
                                                                   tmp_path):
    from .conftest import ARGS, CHROMIUM

    base = server["url"]
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS,
        java_script_enabled=False)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(20_000)
        page.goto(base + "/sign-in")
        page.fill("#username", "ben")
        page.fill("#password", server["accounts"]["ben"])
        go(page, "button:has-text('Sign in')")
        page.fill("#current", server["accounts"]["ben"])
        page.fill("#new", "another calm long passphrase")
        page.fill("#confirm", "another calm long passphrase")
        go(page, "button:has-text('Change password')")
        _contact_page(page, base)
        box(page, "phone").check()
        box(page, "none").check()
        assert box(page, "phone").is_checked() and box(page, "none").is_checked()
        go(page, "button:has-text('Save and continue')")
        assert "/sections/contact" in page.url
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "cannot be chosen with another answer" in summary
        assert "cannot be chosen with another answer" in page.locator(
            "#q-ex-contact_ways-error").inner_text()
        assert box(page, "phone").is_checked() and box(page, "none").is_checked()
    finally:
        context.close()
