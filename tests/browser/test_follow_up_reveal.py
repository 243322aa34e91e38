"""A follow-up question is nested under the answer that reveals it (GOV.UK conditional
reveal), at a laptop's and a phone's width: choosing Yes opens the follow-up right under
that option (aria-controls names the block, focus stays on the option; no aria-expanded
on a radio, which ARIA does not allow), No closes it, and the answer
typed in it is saved and shown under its question on check your answers. axe-core checks
every page visited."""

from __future__ import annotations

import pytest

from .conftest import axe_check, dash_installed
from .journey import MAIN, answer_sections, go, name, new_case, sign_in, start_assessment

pytestmark = pytest.mark.browser

PARENT = MAIN[0]
DETAIL = PARENT + ".detail"
SECTION = "current_situation" if dash_installed() else "now"


@pytest.fixture(scope="module")
def page(server, browser_factory):
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, server["url"], "ana", server["accounts"]["ana"],
            new_password="a calm long passphrase")
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_yes_reveals_the_nested_follow_up_and_its_answer_is_kept(server, page, width):
    base = server["url"]
    page.set_viewport_size({"width": width, "height": 800})
    uid = start_assessment(page, new_case(page, base))
    page.goto(f"{base}/assessments/{uid}/sections/{SECTION}")
    axe_check(page, "section with a follow-up")
    yes = page.locator(f"input[name='{name(PARENT)}'][value='yes']")
    no = page.locator(f"input[name='{name(PARENT)}'][value='no']")
    block_id = yes.get_attribute("aria-controls")
    assert block_id, "the Yes option controls a conditional block"
    block = page.locator(f"[id='{block_id}']")
    detail = page.locator(f"[name='{name(DETAIL)}']")
    # the block is right under the Yes option, and the follow-up is inside it
    assert page.evaluate(
        """([id]) => document.getElementById(id).previousElementSibling
            .querySelector('input').value""", [block_id]) == "yes"
    assert block.locator(f"[name='{name(DETAIL)}']").count() == 1
    assert detail.count() == 1
    assert not block.is_visible() and yes.get_attribute("aria-expanded") is None
    page.click(f"label[for='{yes.get_attribute('id')}']")
    assert block.is_visible() and detail.is_visible()
    assert yes.get_attribute("aria-expanded") is None
    assert page.evaluate("() => document.activeElement.value") == "yes"
    axe_check(page, "follow-up revealed")
    page.click(f"label[for='{no.get_attribute('id')}']")
    assert not block.is_visible() and yes.get_attribute("aria-expanded") is None
    page.click(f"label[for='{yes.get_attribute('id')}']")
    detail.fill("bruising to the arm")
    go(page, "button:has-text('Save and continue')")
    # the rest answered; the follow-up's answer stays stored
    answer_sections(page, base, uid, yes=[PARENT])
    axe_check(page, "check answers")
    keys = page.locator(".govuk-summary-list__key").all_inner_texts()
    values = page.locator(".govuk-summary-list__value").all_inner_texts()
    where = [i for i, v in enumerate(values) if "bruising to the arm" in v]
    assert where, "the follow-up's answer is shown on check your answers"
    # shown after its question's row
    parent_rows = [i for i, v in enumerate(values) if v.strip() == "Yes"]
    assert parent_rows and min(parent_rows) < where[0], (keys, values)
