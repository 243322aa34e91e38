"""The sign-in limits, the session controls and the administrator's own row, as a person
sees them in a real browser, with axe on each page at 1280 px and 375 px wide."""

from __future__ import annotations

import pytest

from .conftest import axe_check
from .test_journey import go, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)


def _both_widths(page, label):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        axe_check(page, f"{label} at {width} px")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_slowed_account_says_how_long_to_wait(server, browser_factory):
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(server["url"] + "/sign-in")
    for _ in range(5):
        page.fill("#username", "someone-unknown")
        page.fill("#password", "not a password anyone has")
        go(page, "button:has-text('Sign in')")
        assert "Enter a correct username and password" in page.content()
    page.fill("#username", "someone-unknown")
    page.fill("#password", "not a password anyone has")
    go(page, "button:has-text('Sign in')")
    text = page.inner_text("main")
    assert "Too many failed attempts for this account. Wait 30 seconds and try again" in text
    assert page.locator("#username").input_value() == "someone-unknown"  # kept
    _both_widths(page, "sign-in, waiting")


def test_session_controls_and_the_administrators_own_row(server, browser_factory):
    base = server["url"]
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, base, "admin", server["accounts"]["admin"],
            new_password="the office manager passphrase")
    page.goto(base + "/admin/")
    main = page.inner_text("main")
    assert "Your own role and teams are changed by another administrator." in main
    assert page.get_by_role("link", name="Change teams of admin").count() == 0
    assert page.get_by_role("link", name="Change teams of ana").count() == 1
    page.fill("#exit_url", "https://example.org/")
    page.fill("#max_sessions", "99")
    go(page, "button:has-text('Save settings')")
    assert "Enter a number of sessions from 0 to 20" in page.content()
    _both_widths(page, "administration, session limit error")
    page.fill("#max_sessions", "3")
    go(page, "button:has-text('Save settings')")
    assert "Settings saved." in page.content()
    assert page.locator("#max_sessions").input_value() == "3"
    page.goto(base + "/account/password")
    _both_widths(page, "account page")
    go(page, "button:has-text('Sign out everywhere')")
    assert page.url.endswith("/signed-out")
    _both_widths(page, "signed out everywhere")
    page.goto(base + "/admin/")
    assert "/sign-in" in page.url  # the session has ended
