"""A grid (Likert or matrix layout) in a real browser, with JavaScript on and off, at a
laptop's and a phone's width: on the laptop the options line up in columns under the head
row that shows their labels (each radio's own label hidden from view, not from screen
readers); on the phone the rows stack with the labels shown and no head row. Answers are
chosen with the mouse, saved, and listed row by row on check your answers; axe-core finds
nothing on any page (with JavaScript off it checks a copy of the page without its scripts,
in a page that runs them, since axe itself is a script).

The instrument is docs/examples/definitions/grid.json, the documented example."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLES, axe_check, check_copy, run_server, session
from .journey import go

pytestmark = pytest.mark.browser

ROWS = ["ex.on_edge", "ex.sleep", "ex.watched", "ex.afraid"]
ROW_LABELS = ["On edge at home", "Unable to sleep", "Watched or followed",
              "Afraid of what might happen next"]
OPTIONS = ["Never", "Sometimes", "Often", "All the time", "Not known"]
CHOSEN = ["often", "sometimes", "never", "always"]
CHOSEN_TEXT = ["Often", "Sometimes", "Never", "All the time"]
WIDE, PHONE = 1280, 375


def name(item_id: str) -> str:
    return "q-" + item_id.replace(".", "-")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_server(tmp_path_factory, FORMSENGINE_DEFINITIONS=str(EXAMPLES))


@pytest.fixture(scope="module")
def with_js(server, browser_factory):
    return session(server, browser_factory, "ana", True)


@pytest.fixture(scope="module")
def without_js(server, browser_factory):
    return session(server, browser_factory, "ben", False)


def start(page, base) -> str:
    """A new case and an example-grid assessment of it; the assessment's id."""
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    assert "/cases/new" not in page.url
    page.select_option("#instrument", "example-grid")
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/details")
    for part, value in (("", "12"), ("-month", "3"), ("-year", "2026")):
        page.fill(f"#f-assessment_date{part}", value)
    go(page, "button:has-text('Save and continue')")
    assert page.url.endswith("/sections/feelings"), page.url
    return uid


def boxes(page, selector: str) -> list[dict]:
    return [page.locator(selector).nth(i).bounding_box()
            for i in range(page.locator(selector).count())]



def row_radios(page, item_id: str):
    return page.locator(f"input[name='{name(item_id)}']")


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def assert_wide_layout(page) -> None:
    """The head row shows the option labels, each row's radios sit on one line, each under
    its column's heading, right of the row's question; the radios' own labels are hidden
    from view."""
    head = page.locator(".app-grid__heading")
    assert head.all_inner_texts() == OPTIONS and head.first.is_visible()
    headings = boxes(page, ".app-grid__heading")
    for item_id in ROWS:
        radios = [row_radios(page, item_id).nth(i).bounding_box() for i in range(5)]
        question = page.locator(f"[data-item='{item_id}'] legend").bounding_box()
        ys = {round(centre(r)[1]) for r in radios}
        assert max(ys) - min(ys) <= 1, f"{item_id}: the radios are not on one line"
        for radio, heading, label in zip(radios, headings, OPTIONS, strict=True):
            x = centre(radio)[0]
            assert heading["x"] <= x <= heading["x"] + heading["width"], (item_id, label)
            assert abs(x - centre(heading)[0]) <= 2, (item_id, label, x, heading)
        assert question["x"] + question["width"] <= radios[0]["x"] + 10, item_id
    for span in boxes(page, ".app-grid__option-text"):
        assert span is None or span["width"] <= 1 and span["height"] <= 1
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size[
        "width"], "the page scrolls sideways"


def assert_phone_layout(page) -> None:
    """No head row; each row's question, then its radios one under another, each with its
    label shown."""
    assert not page.locator(".app-grid__head").is_visible()
    for item_id in ROWS:
        row = page.locator(f"[data-item='{item_id}']")
        question = row.locator("legend").bounding_box()
        radios = [row_radios(page, item_id).nth(i).bounding_box() for i in range(5)]
        assert question["y"] + question["height"] <= radios[0]["y"] + 5, item_id
        assert all(a["y"] + a["height"] <= b["y"] + 1 for a, b in zip(radios, radios[1:]))
        assert len({round(r["x"]) for r in radios}) == 1, item_id
        texts = row.locator(".app-grid__option-text")
        assert texts.all_inner_texts() == OPTIONS
        assert all(texts.nth(i).is_visible() and texts.nth(i).bounding_box()["width"] > 20
                   for i in range(5))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= page.viewport_size[
        "width"], "the page scrolls sideways"


def choose(page) -> None:
    page.locator(f"input[name='{name('ex.contact')}'][value='yes']").check()
    for item_id, value in zip(ROWS, CHOSEN, strict=True):
        row_radios(page, item_id).and_(page.locator(f"[value='{value}']")).click()
        assert row_radios(page, item_id).and_(page.locator(f"[value='{value}']")).is_checked()


def assert_checked(page) -> None:
    for item_id, value in zip(ROWS, CHOSEN, strict=True):
        checked = [row_radios(page, item_id).nth(i).get_attribute("value") for i in range(5)
                   if row_radios(page, item_id).nth(i).is_checked()]
        assert checked == [value], item_id


def assert_rows_listed(page) -> None:
    """Check your answers lists every row of the grid, as a question of its own."""
    keys = page.locator(".govuk-summary-list__key").all_inner_texts()
    values = page.locator(".govuk-summary-list__value").all_inner_texts()
    for label, shown in zip(ROW_LABELS, CHOSEN_TEXT, strict=True):
        assert values[keys.index(label)].strip() == shown, (keys, values)
    assert "More threats" in " ".join(values)


@pytest.fixture(scope="module")
def js_uid(server, with_js):
    return start(with_js, server["url"])


@pytest.fixture(scope="module")
def saved_uid(server, with_js):
    """An assessment whose grid was answered and saved (with the follow-up), for the tests
    that look at the saved answers: its own, so that they do not depend on another test
    having run first on the same worker."""
    page, base = with_js, server["url"]
    uid = start(page, base)
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto(f"{base}/assessments/{uid}/sections/feelings")
    choose(page)
    page.locator(f"[name='{name('ex.afraid.detail')}']").fill("More threats")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    return uid


def test_wide_with_javascript(server, with_js, js_uid):
    page, base = with_js, server["url"]
    page.set_viewport_size({"width": WIDE, "height": 900})
    page.goto(f"{base}/assessments/{js_uid}/sections/feelings")
    axe_check(page, "grid, wide")
    assert_wide_layout(page)
    # a screen reader meets the grid's question, each row's question and each option
    grid = page.get_by_role("group", name="In the last month, how often have you felt like "
                                          "this?")
    for label in ROW_LABELS:
        row = grid.get_by_role("group", name=label, exact=True)
        assert [row.get_by_role("radio", name=o, exact=True).count() for o in OPTIONS] == [
            1] * 5
    detail = page.locator(f"[name='{name('ex.afraid.detail')}']")
    assert not detail.is_visible()
    choose(page)
    # the row's follow-up appears under the grid as soon as its answer is chosen
    assert detail.is_visible()
    grid_box = page.locator(".app-grid").bounding_box()
    assert detail.bounding_box()["y"] > grid_box["y"] + grid_box["height"]
    axe_check(page, "grid, wide, follow-up shown")
    detail.fill("More threats")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    axe_check(page, "check answers after a grid")
    assert_rows_listed(page)


def test_phone_with_javascript(server, with_js, saved_uid):
    page, base = with_js, server["url"]
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto(f"{base}/assessments/{saved_uid}/sections/feelings")
    axe_check(page, "grid, phone")
    assert_phone_layout(page)
    assert_checked(page)
    assert page.locator(f"[name='{name('ex.afraid.detail')}']").is_visible()


@pytest.mark.parametrize("width", [WIDE, PHONE])
def test_without_javascript(server, without_js, checker, width):
    page, base = without_js, server["url"]
    page.set_viewport_size({"width": width, "height": 900})
    start(page, base)
    check_copy(checker, page, base, f"grid at {width}px")
    if width == WIDE:
        assert_wide_layout(page)
    else:
        assert_phone_layout(page)
    detail = page.locator(f"[name='{name('ex.afraid.detail')}']")
    assert not detail.is_visible()
    choose(page)
    go(page, "button:has-text('Save and continue')")
    # without a script the server shows the row's follow-up after the save
    assert page.url.split("#")[0].endswith("/sections/feelings"), page.url
    assert "More questions are now shown" in page.inner_text("main")
    assert detail.is_visible()
    assert_checked(page)
    check_copy(checker, page, base, f"grid with its follow-up at {width}px")
    detail.fill("More threats")
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    check_copy(checker, page, base, f"check answers at {width}px")
    assert_rows_listed(page)



def test_a_refused_row_shows_its_error_and_keeps_to_the_columns(server, with_js):
    page, base = with_js, server["url"]
    page.set_viewport_size({"width": WIDE, "height": 900})
    uid = start(page, base)
    assert page.url.endswith(f"/assessments/{uid}/sections/feelings")
    # a value that is not an option (as a stale or tampered page could send)
    page.evaluate("""(name) => { const r = document.querySelector(`input[name="${name}"]`);
        r.value = 'rarely'; r.checked = true }""", name("ex.sleep"))
    go(page, "button:has-text('Save and continue')")
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "Choose one of the answers shown" in summary.inner_text()
    row = page.locator("[data-item='ex.sleep']")
    assert "govuk-form-group--error" in row.get_attribute("class")
    assert "Choose one of the answers shown" in row.locator(".govuk-error-message").inner_text()
    axe_check(page, "grid with a refused row")
    assert_wide_layout(page)
    summary.locator("a").click()
    assert page.evaluate("() => document.activeElement.name") == name("ex.sleep")
    page.screenshot(path="/tmp/grids/error.png", full_page=True)


def test_tablet_width_has_the_columns_too(server, with_js, saved_uid):
    page = with_js
    page.set_viewport_size({"width": 700, "height": 800})
    page.goto(f"{server['url']}/assessments/{saved_uid}/sections/feelings")
    assert_wide_layout(page)
    assert_checked(page)
    axe_check(page, "grid, tablet")
