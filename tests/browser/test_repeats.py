"""A repeating group in a real browser, with JavaScript on and off: the practitioner adds a
child with the "Add another child" button (what was typed is kept), a follow-up question of
one child appears for that child only, removing the first child moves the second up, and
check your answers lists each child's questions; axe-core finds nothing on the page with
the instances (with JavaScript off it checks a copy of the page without its scripts).

The instrument is docs/examples/definitions/household.json, the documented example."""

from __future__ import annotations

import pytest

from .conftest import EXAMPLES, axe_check, check_copy, run_server, session
from .journey import go

pytestmark = pytest.mark.browser


def name(item_id: str) -> str:
    return "q-" + item_id.replace("[", "--").replace("]", "").replace(".", "-")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from run_server(tmp_path_factory, FORMSENGINE_DEFINITIONS=str(EXAMPLES))


def start(page, base) -> str:
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    page.select_option("#instrument", "example-household")
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/details")
    for part, value in (("", "12"), ("-month", "3"), ("-year", "2026")):
        page.fill(f"#f-assessment_date{part}", value)
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("?")[0].endswith("/sections/household"), page.url
    return uid


def radio(page, item_id: str, value: str):
    return page.locator(f"input[name='{name(item_id)}'][value='{value}']")


def legends(page) -> list[str]:
    return page.locator(".app-repeat__instance > legend").all_inner_texts()


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_add_and_remove_children(server, browser_factory, checker, script):
    base = server["url"]
    page = session(server, browser_factory, "ana" if script else "ben", script)
    start(page, base)
    assert legends(page) == ["Child 1"]
    radio(page, "hh.pregnant", "no").check()
    page.fill(f"#{name('children[1].age')}", "4")
    radio(page, "children[1].witnessed", "no").check()
    radio(page, "children[1].worry", "some").check()
    go(page, "button:has-text('Add another child')")
    assert legends(page) == ["Child 1", "Child 2"]
    # what was typed was saved and is shown again
    assert page.input_value(f"#{name('children[1].age')}") == "4"
    assert radio(page, "children[1].witnessed", "no").is_checked()
    page.fill(f"#{name('children[2].age')}", "9")
    radio(page, "children[2].witnessed", "yes").check()
    where2 = page.locator(f"#question-{name('children[2].where')}")
    where1 = page.locator(f"#question-{name('children[1].where')}")
    if script:  # the follow-up appears at once, for child 2 only
        assert where2.is_visible() and not where1.is_visible()
        page.fill(f"#{name('children[2].where')}", "Shouting")
    radio(page, "children[2].worry", "very").check()
    if script:
        axe_check(page, "repeating group")
    else:
        check_copy(checker, page, base, "repeating group")
    go(page, "button:has-text('Remove child 1')")
    assert legends(page) == ["Child 1"]
    assert page.input_value(f"#{name('children[1].age')}") == "9"
    assert radio(page, "children[1].witnessed", "yes").is_checked()
    assert radio(page, "children[1].worry", "very").is_checked()
    assert page.locator(f"#question-{name('children[1].where')}").is_visible()
    if not script:
        page.fill(f"#{name('children[1].where')}", "Shouting")
    assert page.locator("button:has-text('Remove child')").count() == 0  # the minimum is 1
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    keys = page.locator(".govuk-summary-list__key").all_inner_texts()
    values = page.locator(".govuk-summary-list__value").all_inner_texts()
    shown = dict(zip(keys, (v.strip() for v in values), strict=False))
    assert shown["Child 1: Age in years"] == "9"
    assert shown["Child 1: What did the child see or hear?"] == "Shouting"
    assert not any(k.startswith("Child 2") for k in keys)
