"""A repeating group in a real browser, with JavaScript on and off: the practitioner adds a
child with the "Add another child" button (what was typed is kept), a follow-up question of
one child appears for that child only, removing the first child moves the second up, and
check your answers lists each child's questions; axe-core finds nothing on the page with
the instances (with JavaScript off it checks a copy of the page without its scripts). A
finalised assessment is amended: a child's answer changed and a child added. A pipe in a
child's question shows that child's name.

The instruments are docs/examples/definitions/household.json and children-named.json, the
documented examples."""

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


@pytest.fixture(scope="module")
def pages(server, browser_factory):
    """One signed-in page with JavaScript on (ana) and one with it off (ben), shared by the
    module's tests."""
    made = {}

    def page_for(script: bool):
        if script not in made:
            made[script] = session(server, browser_factory, "ana" if script else "ben", script)
        return made[script]

    return page_for


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
def test_add_and_remove_children(server, pages, checker, script):
    base = server["url"]
    page = pages(script)
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


def start_named(page, base) -> str:
    page.goto(base + "/cases/new")
    page.check("#victim_survivor")
    page.fill("#opened_on-year", "2025")
    go(page, "button:has-text('Create case')")
    page.select_option("#instrument", "example-children-named")
    page.select_option("#occasion", "intake")
    go(page, "button:has-text('Start assessment')")
    uid = page.url.rsplit("/", 1)[-1]
    page.goto(f"{base}/assessments/{uid}/sections/details")
    for part, value in (("", "12"), ("-month", "3"), ("-year", "2026")):
        page.fill(f"#f-assessment_date{part}", value)
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("?")[0].endswith("/sections/children"), page.url
    return uid


def label_of(page, item_id: str) -> str:
    return page.locator(f"#question-{name(item_id)} legend, "
                        f"#question-{name(item_id)} label[for='{name(item_id)}']"
                        ).first.inner_text().strip()


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_a_pipe_shows_each_childs_own_name(server, pages, script):
    """Pipes are filled on the server when the page is shown: a name typed for child 1
    appears in child 1's later questions once the page is saved (here by "Add another
    child"), never in child 2's; a name is shown as typed, never as markup."""
    base = server["url"]
    page = pages(script)
    start_named(page, base)
    assert label_of(page, "kids[1].school") == "Does the child go to school or nursery?"
    page.fill(f"#{name('kids[1].name')}", "Sam")
    go(page, "button:has-text('Add another child')")
    assert legends(page) == ["Child 1", "Child 2"]
    assert label_of(page, "kids[1].school") == "Does Sam go to school or nursery?"
    assert label_of(page, "kids[2].school") == "Does the child go to school or nursery?"
    assert "Answer for Sam only." in page.locator(f"#question-{name('kids[1].school')}"
                                                  ).inner_text()
    page.fill(f"#{name('kids[2].name')}", "<i>Alex</i>")
    radio(page, "kids[2].school", "no").check()
    go(page, "button:has-text('Add another child')")
    assert label_of(page, "kids[2].school") == "Does <i>Alex</i> go to school or nursery?"
    assert page.locator("#main-content i").count() == 0  # the name is text, not markup
    go(page, "button:has-text('Save and continue')")
    go(page, "button:has-text('Save and continue')")  # next steps, unanswered
    assert page.url.split("#")[0].endswith("/check"), page.url
    keys = page.locator(".govuk-summary-list__key").all_inner_texts()
    assert "Child 1: Does Sam go to school or nursery?" in keys
    assert "Child 2: Does <i>Alex</i> go to school or nursery?" in keys


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_an_amendment_adds_and_changes_a_child(server, pages, checker, script):
    base = server["url"]
    page = pages(script)
    uid = start(page, base)
    radio(page, "hh.pregnant", "no").check()
    page.fill(f"#{name('children[1].age')}", "4")
    radio(page, "children[1].witnessed", "no").check()
    radio(page, "children[1].worry", "some").check()
    go(page, "button:has-text('Save and continue')")
    assert page.url.split("#")[0].endswith("/check"), page.url
    go(page, "button:has-text('Finalise assessment')")
    page.goto(f"{base}/assessments/{uid}/amend")
    assert legends(page) == ["Child 1"]
    assert page.input_value(f"#{name('children[1].age')}") == "4"
    page.fill(f"#{name('children[1].age')}", "5")
    page.fill("#reason", "A second child lives here")
    go(page, "button:has-text('Add another child')")
    assert legends(page) == ["Child 1", "Child 2"]
    assert page.input_value(f"#{name('children[1].age')}") == "5"  # typed, kept
    page.fill(f"#{name('children[2].age')}", "9")
    radio(page, "children[2].witnessed", "yes").check()
    where = page.locator(f"#question-{name('children[2].where')}")
    if script:  # the follow-up appears at once, as on the section page
        assert where.is_visible()
    radio(page, "children[2].worry", "very").check()
    if script:
        axe_check(page, "amendment with a repeating group")
    else:
        check_copy(checker, page, base, "amendment with a repeating group")
    go(page, "button.govuk-button:has-text('Save amendment')")
    assert "/amend" not in page.url, page.url
    text = page.locator("#main-content").inner_text()
    assert "The assessment was amended" in text
    amended = page.url.split("/assessments/")[1].split("/")[0].split("?")[0]
    assert amended != uid  # a new version, the earlier one kept
    page.goto(f"{base}/assessments/{amended}/amend")  # the amended version's answers
    assert legends(page) == ["Child 1", "Child 2"]
    assert page.input_value(f"#{name('children[1].age')}") == "5"
    assert page.input_value(f"#{name('children[2].age')}") == "9"
