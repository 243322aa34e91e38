"""Leaving quickly and timing out, in a real browser against a real server, at 1280 and 375
px wide: "Exit this page" (the button, and Shift pressed three times) on the case list,
the due list, the new-case page and a case page ends the session, and afterwards Back and
Forward show no case data and the old cookie gives the sign-in page; the button stays in
view at the foot of a long page on a phone, and other tabs of the service leave too. With
a short idle timeout: typing keeps the person signed in past the first deadline, and the
warning does not take the focus from the field being typed in; left idle, the answers
typed are saved as a draft, and signing in again returns to the same section page with
them shown. axe-core checks every page."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import axe_check, dash_installed, run_server
from .test_journey import INCIDENTS, go

pytestmark = pytest.mark.browser

EXIT_URL = "https://www.bbc.co.uk/weather"  # the default; tests have no network, so
# the browser shows its own "site can't be reached" page there: outside the service
WIDTHS = {"desktop": (1280, 900), "phone": (375, 667)}
INITIALS = "QX"
if dash_installed():
    INSTRUMENT, SECTION = "dash-safelives", "current_situation"
else:
    INSTRUMENT, SECTION = "test-risk", "now"
IDLE_SECONDS = 30  # FORMSENGINE_IDLE_MINUTES=0.5: warning 10 s and draft save 5 s before
PASSWORDS = {"ana": "an exit test passphrase", "ben": "a second exit passphrase",
             "sol": "a third exit passphrase"}


@pytest.fixture(scope="module")
def short_idle_server(tmp_path_factory):
    yield from run_server(tmp_path_factory, FORMSENGINE_IDLE_MINUTES=str(IDLE_SECONDS / 60))


def _page(browser_factory, width: str):
    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not
            m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return context, page


def _sign_in(page, server, who: str, check: bool = False) -> None:
    """Sign in; the first time also changes the one-time password."""
    if not page.url.startswith(server["url"] + "/sign-in"):
        page.goto(server["url"] + "/sign-in")
    if check:
        axe_check(page, "sign-in")
    first = server["accounts"].get(who)
    page.fill("#username", who)
    page.fill("#password", PASSWORDS[who] if first is None else first)
    go(page, "button:has-text('Sign in')")
    if first is not None:
        server["accounts"][who] = None
        assert "/account/password" in page.url
        page.fill("#current", first)
        page.fill("#new", PASSWORDS[who])
        page.fill("#confirm", PASSWORDS[who])
        go(page, "button:has-text('Change password')")
    assert "/sign-in" not in page.url


def _create_case(page, base) -> tuple[str, str]:
    page.goto(base + "/cases/new")
    if page.locator("select#team").count():
        page.select_option("#team", label="North")
    page.check("#victim_survivor")
    page.fill("#vs_name", INITIALS)
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    assert re.search(r"/cases/[A-Za-z0-9_-]{16}$", page.url)
    return page.url, page.inner_text("h1").strip()


def _start_assessment(page, case_url) -> str:
    page.goto(case_url)
    page.select_option("#instrument", INSTRUMENT)
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    return page.url.rsplit("/", 1)[-1]


def _wait_until_outside(page, base) -> None:
    """Wait until the tab has left the service for the exit address (or the browser's page
    saying it cannot be reached)."""
    deadline = time.monotonic() + 10
    while page.url.startswith(base) or page.url == "about:blank":
        assert time.monotonic() < deadline, f"still on {page.url}"
        page.wait_for_timeout(50)
    page.wait_for_load_state()
    assert page.url.startswith((EXIT_URL, "chrome-error:")), page.url


def _shows_case_data(page, reference: str) -> bool:
    text = page.inner_text("body") + page.title()
    return reference in text or INITIALS in text


EXITS = [(path, how) for path in ("list", "due", "new", "case") for how in ("button", "shift")]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_exit_this_page(server, browser_factory, width):
    base = server["url"]
    context, page = _page(browser_factory, width)
    _sign_in(page, server, "ana")
    case_url, reference = _create_case(page, base)
    targets = {"list": base + "/", "due": base + "/due", "new": base + "/cases/new",
               "case": case_url}
    other = browser_factory()  # a second browser, for the cookie taken before leaving
    other_page = other.pages[0] if other.pages else other.new_page()
    for path, how in EXITS:
        if "/sign-in" in page.url or not page.url.startswith(base):
            _sign_in(page, server, "ana")
        page.goto(base + "/account/password")  # the page before the one left
        page.goto(targets[path])
        label = f"{path} ({width}, {how})"
        axe_check(page, label)
        if path in ("list", "case"):
            assert reference in page.inner_text("main"), label
        button = page.locator(".govuk-exit-this-page__button")
        assert button.count() == 1 and button.is_visible(), label
        old_cookies = context.cookies()
        assert any(c["name"] == "fe_session" for c in old_cookies)
        started = time.monotonic()
        if how == "button":
            button.click()
        else:
            page.locator("h1").click()  # the keys go to the page, not the address bar
            for _ in range(3):
                page.keyboard.press("Shift")
        _wait_until_outside(page, base)
        assert time.monotonic() - started < 5, f"exit took too long on {label}"
        assert not [c for c in context.cookies() if c["domain"] == "127.0.0.1"], (
            f"cookies left after exit on {label}")

        # Back: the page left was replaced in the history; the one before asks to sign in
        page.go_back()
        page.wait_for_load_state()
        assert "/sign-in" in page.url, f"Back after exit on {label} went to {page.url}"
        assert "account%2Fpassword" in page.url or "account/password" in page.url, page.url
        assert not _shows_case_data(page, reference), label
        if path == "list":
            axe_check(page, f"sign-in after Back ({label})")
        page.evaluate("setTimeout(() => history.forward())")  # go_forward: error page
        _wait_until_outside(page, base)
        assert not _shows_case_data(page, reference)

        # the cookie taken before leaving opens nothing in another browser
        other.clear_cookies()
        other.add_cookies(old_cookies)
        other_page.goto(case_url)
        assert "/sign-in" in other_page.url and "Sign in" in other_page.title(), label
        assert not _shows_case_data(other_page, reference)
    assert not page.errors, page.errors


def test_exit_button_stays_in_view_on_a_long_phone_page(server, browser_factory):
    base = server["url"]
    context, page = _page(browser_factory, "phone")
    _sign_in(page, server, "ben")
    case_url, _reference = _create_case(page, base)
    uid = _start_assessment(page, case_url)
    page.goto(f"{base}/assessments/{uid}/sections/{SECTION}")
    axe_check(page, "section (phone)")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height > 3 * 667, height
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 0")
    box = page.locator(".govuk-exit-this-page__button").bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 667, box
    assert box["width"] > 300  # across the screen, as GOV.UK's component is on a phone
    # another tab of the service open in the same browser leaves too
    tab = context.new_page()
    tab.goto(case_url)
    assert INITIALS in tab.inner_text("main")
    page.locator(".govuk-exit-this-page__button").click()
    _wait_until_outside(page, base)
    _wait_until_outside(tab, base)
    assert not page.errors, page.errors


def _answer(page, count: int) -> list[str]:
    """Answer the first ``count`` questions of the section "yes"; their names."""
    names = page.eval_on_selector_all(
        "input[type=radio][value=yes]", "els => [...new Set(els.map(e => e.name))]")[:count]
    for name in names:
        page.check(f"input[name='{name}'][value=yes]")
    return names


def test_idle_timeout_keeps_what_is_typed(short_idle_server, browser_factory):
    server, base = short_idle_server, short_idle_server["url"]
    # Three people at once, each in a browser of their own: Ana keeps typing on a laptop,
    # Ben leaves his phone idle part way through a section, Sol leaves the details page
    # with a date typed and a word where a number belongs.
    _ctx_a, ana = _page(browser_factory, "desktop")
    _ctx_b, ben = _page(browser_factory, "phone")
    _ctx_s, sol = _page(browser_factory, "desktop")
    _sign_in(ana, server, "ana", check=True)
    _sign_in(ben, server, "ben")
    _sign_in(sol, server, "sol")
    ana_uid = _start_assessment(ana, _create_case(ana, base)[0])
    ben_uid = _start_assessment(ben, _create_case(ben, base)[0])
    sol_uid = _start_assessment(sol, _create_case(sol, base)[0])
    ana_section = f"{base}/assessments/{ana_uid}/sections/{SECTION}"
    ben_section = f"{base}/assessments/{ben_uid}/sections/{SECTION}"
    sol_details = f"{base}/assessments/{sol_uid}/sections/details"
    sol.goto(sol_details)
    axe_check(sol, "details")
    for part, value in (("day", "6"), ("month", "1"), ("year", "2025")):
        sol.fill(f"input[name='f-assessment_date-{part}']", value)
    sol.fill(f"input[name='{INCIDENTS}']", "many")
    sol.locator("h1").click()
    ben.goto(ben_section)
    axe_check(ben, "section (phone)")
    ana.goto(ana_section)
    axe_check(ana, "section (desktop)")

    # Ben answers, writes a comment and stops; the page is left alone from here.
    ben_answers = _answer(ben, 3)
    ben.locator(".app-question__extra summary").first.click()  # "Add a comment or source"
    comment = ben.locator("textarea[name^='c-']").first
    comment_name = comment.get_attribute("name")
    comment.fill("Told us about the night in March")
    ben.locator("h1").click()  # focus off the field, as when putting the phone down
    ben_idle_from = time.monotonic()

    # Ana answers, then pauses with the cursor in a comment box until the warning shows.
    ana_answers = _answer(ana, 2)
    ana.locator(".app-question__extra summary").first.click()
    box = ana.locator("textarea[name^='c-']").first
    box.click()
    keep_alives: list[float] = []  # when the page told the server of activity
    ana.on("request", lambda r: keep_alives.append(time.monotonic())
           if r.method == "POST" and r.url.endswith("/session/extend") else None)
    box.type("Started")
    ana_idle_from = time.monotonic()
    ana.wait_for_selector("#timeout-warning", state="visible", timeout=25_000)
    shown = time.monotonic()
    # typing is sent at most one keep-alive interval (5 s here) late, and the warning comes
    # 10 s before the deadline that the last keep-alive set
    last = max([ana_idle_from - 5, *[t for t in keep_alives if t < shown]])
    assert last - ana_idle_from <= 5 + 1, keep_alives
    assert IDLE_SECONDS - 12 <= shown - last <= IDLE_SECONDS - 6, (shown - last, keep_alives)
    assert ana.evaluate("document.activeElement.name") == box.get_attribute("name")
    assert "signed out in" in ana.inner_text("#timeout-announce")
    axe_check(ana, "timeout warning shown while typing")

    # She types on every 4 seconds, well past the first deadline: still signed in, and
    # the warning goes once she types.
    typed_until = time.monotonic() + IDLE_SECONDS + 10
    while time.monotonic() < typed_until:
        box.type(" and on")
        ana.wait_for_timeout(4000)
        assert ana.url == ana_section and ana.locator("#timeout-warning").is_hidden()
    assert time.monotonic() - ana_idle_from > IDLE_SECONDS + 10

    # Ben, meanwhile, was signed out; what he typed was saved first.
    ben.wait_for_url(re.compile(r".*/sign-in\?next=.*"), timeout=15_000)
    assert time.monotonic() - ben_idle_from >= IDLE_SECONDS
    assert "without activity" in ben.inner_text("main")
    axe_check(ben, "signed out after idle time (phone)")
    _sign_in(ben, server, "ben")
    assert ben.url == ben_section
    for name in ben_answers:
        assert ben.is_checked(f"input[name='{name}'][value=yes]"), name
    assert ben.input_value(f"textarea[name='{comment_name}']") == (
        "Told us about the night in March")
    axe_check(ben, "section after signing in again (phone)")

    # Sol's date was saved; the word where a number belongs could not be
    sol.wait_for_url(re.compile(r".*/sign-in\?next=.*"), timeout=15_000)
    _sign_in(sol, server, "sol")
    assert sol.url == sol_details
    assert [sol.input_value(f"input[name='f-assessment_date-{part}']")
            for part in ("day", "month", "year")] == ["6", "1", "2025"]
    assert sol.input_value(f"input[name='{INCIDENTS}']") == ""
    axe_check(sol, "details after signing in again")

    # Ana saves as usual: nothing lost, no "changed by someone else".
    go(ana, "button:has-text('Save and continue')")
    assert "/sign-in" not in ana.url and "someone else" not in ana.content()
    ana.goto(ana_section)
    for name in ana_answers:
        assert ana.is_checked(f"input[name='{name}'][value=yes]"), name
    assert "Started" in ana.input_value(f"textarea[name='{box.get_attribute('name')}']")
    assert not ana.errors and not ben.errors, (ana.errors, ben.errors)
