"""A grid (Likert or matrix layout) on the section page, without JavaScript: a fieldset
whose legend is the grid's label, holding one fieldset per row whose legend is the row's
question, with radios that each carry their own label; a refused answer is shown in its
row; saved rows are stored, listed on check your answers and scored as items.

The instrument is docs/examples/definitions/grid.json, the documented example."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import inspection as look

from .conftest import create_case, finalise, save_section, start_assessment

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "definitions"
ROWS = ["ex.on_edge", "ex.sleep", "ex.watched", "ex.afraid"]
ROW_LABELS = ["On edge at home", "Unable to sleep", "Watched or followed",
              "Afraid of what might happen next"]
OPTIONS = ["Never", "Sometimes", "Often", "All the time", "Not known"]
GRID_LABEL = "In the last month, how often have you felt like this?"


@pytest.fixture(scope="module")
def engine():
    return Engine(Settings(definitions_dir=EXAMPLES), load_entrypoints=False)


def name(item_id: str) -> str:
    return "q-" + item_id.replace(".", "-")


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def text(self) -> str:
        own = "".join(self.text_parts)
        return " ".join((own + " " + " ".join(c.text() for c in self.children)).split())

    def walk(self):
        for c in self.children:
            yield c
            yield from c.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.classes)]

    def find(self, tag: str | None = None, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert found, f"no <{tag} class={cls}> in <{self.tag} {self.attrs}>"
        return found[0]

    def elements(self) -> list[Node]:
        return [c for c in self.children if c.tag != "#text"]


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "area", "col", "wbr", "base"}


class Tree(HTMLParser):
    def __init__(self, page: str):
        super().__init__()
        self.root = self.current = Node("#root", {}, None)
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text_parts.append(data)


def section_page(client, uid: str, section: str = "feelings") -> Node:
    response = client.get(f"/assessments/{uid}/sections/{section}")
    assert response.status_code == 200
    return Tree(response.get_data(as_text=True)).root


@pytest.fixture
def uid(alice):
    case = create_case(alice, instruments=["example-grid"])
    return start_assessment(alice, case, instrument="example-grid")


def test_the_grid_is_a_fieldset_of_row_fieldsets(alice, uid):
    page = section_page(alice, uid)
    grids = page.find_all("div", "app-grid")
    assert len(grids) == 1
    grid = grids[0]
    outer = grid.elements()[0]
    assert outer.tag == "fieldset"
    legend = outer.elements()[0]
    assert legend.tag == "legend" and legend.text() == GRID_LABEL
    hint = page.find("div", "govuk-hint")
    assert hint.text() == "Choose one answer on each line."
    assert outer.attrs["aria-describedby"] == hint.attrs["id"]
    # the column head shows the option labels once, hidden from assistive technology
    head = grid.find("div", "app-grid__head")
    assert head.attrs.get("aria-hidden") == "true"
    assert [h.text() for h in head.find_all("span", "app-grid__heading")] == OPTIONS
    rows = grid.find_all("div", "app-grid__row")
    assert [r.attrs["data-item"] for r in rows] == ROWS
    for row, label in zip(rows, ROW_LABELS, strict=True):
        assert "app-question" in row.classes and "hidden" not in row.attrs
        fieldset = row.elements()[0]
        assert fieldset.tag == "fieldset"
        assert fieldset.elements()[0].tag == "legend"
        assert fieldset.elements()[0].text() == label
        radios = fieldset.find_all("input")
        assert [r.attrs["type"] for r in radios] == ["radio"] * 5
        assert len({r.attrs["name"] for r in radios}) == 1
        labels = {lab.attrs["for"]: lab for lab in fieldset.find_all("label")}
        # every radio has a label of its own holding the option's text
        assert [labels[r.attrs["id"]].find("span", "app-grid__option-text").text()
                for r in radios] == OPTIONS
    # the first radio of a row has the id the error summary links to
    assert rows[0].find("input").attrs["id"] == name(ROWS[0])


def test_questions_outside_the_grid_and_follow_ups_of_its_rows_stay_outside(alice, uid):
    page = section_page(alice, uid)
    grid = page.find("div", "app-grid")
    inside = {q.attrs["data-item"] for q in grid.find_all(None, "app-question")}
    assert inside == set(ROWS)
    questions = [q.attrs["data-item"] for q in page.find_all(None, "app-question")]
    assert questions == ["ex.contact", *ROWS, "ex.afraid.detail"]
    # the follow-up is not nested in a conditional reveal of the row's option: it follows
    # the grid, hidden until its condition holds
    assert not page.find_all(None, "govuk-radios__conditional")
    detail = page.find_all(None, "app-question")[-1]
    assert "hidden" in detail.attrs and detail.attrs["data-show-when"]
    assert all("data-aria-controls" not in i.attrs for i in grid.find_all("input"))


def test_saved_rows_are_stored_checked_and_scored(alice, uid, store):
    answers = {name("ex.contact"): "yes", name("ex.on_edge"): "often",
               name("ex.sleep"): "sometimes", name("ex.watched"): "never",
               name("ex.afraid"): "always"}
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    response = save_section(alice, uid, "feelings", answers)
    # the row's follow-up appeared: the page asks for it before going on
    assert response.headers["Location"].split("#")[0].endswith("/sections/feelings")
    page = section_page(alice, uid)
    for row, value in zip(ROWS, ["often", "sometimes", "never", "always"], strict=True):
        checked = [i.attrs["value"] for i in page.find_all("input")
                   if i.attrs.get("name") == name(row) and "checked" in i.attrs]
        assert checked == [value]
    save_section(alice, uid, "feelings", {**answers, name("ex.afraid.detail"): "More threats"})
    assessment_id = look.value(store, "assessments", "id", uid=uid)
    stored = store.get_assessment(assessment_id)["answers"]
    assert stored == {"ex.contact": "yes", "ex.on_edge": "often", "ex.sleep": "sometimes",
                      "ex.watched": "never", "ex.afraid": "always",
                      "ex.afraid.detail": "More threats"}
    check = Tree(alice.get(f"/assessments/{uid}/check").get_data(as_text=True)).root
    keys = [k.text() for k in check.find_all("dt", "govuk-summary-list__key")]
    values = [v.text() for v in check.find_all("dd", "govuk-summary-list__value")]
    for label, shown in zip(ROW_LABELS, ["Often", "Sometimes", "Never", "All the time"],
                            strict=True):
        assert values[keys.index(label)] == shown
    # each row's Change link returns to the row on the section page
    anchors = [a.attrs["href"] for a in check.find_all("a") if "/sections/feelings" in
               a.attrs.get("href", "")]
    assert any(h.endswith("#question-" + name("ex.sleep")) for h in anchors)
    assert finalise(alice, uid).status_code == 302
    result = store.get_assessment(assessment_id)["result"]
    assert result["scores"]["distress"] == 6 and result["flags"]["constant_fear"] is True


def test_an_answer_that_is_not_an_option_is_shown_in_its_row(alice, uid):
    response = save_section(alice, uid, "feelings",
                            {name("ex.on_edge"): "often", name("ex.sleep"): "rarely"},
                            expect=400)
    page = Tree(response.get_data(as_text=True)).root
    summary = page.find("div", "govuk-error-summary")
    link = summary.find("a")
    assert link.attrs["href"] == "#" + name("ex.sleep")
    assert link.text() == "Choose one of the answers shown"
    rows = {r.attrs["data-item"]: r for r in page.find_all("div", "app-grid__row")}
    bad = rows["ex.sleep"]
    assert "govuk-form-group--error" in bad.classes
    error = bad.find("p", "govuk-error-message")
    assert "Choose one of the answers shown" in error.text()
    assert error.attrs["id"] in bad.find("fieldset").attrs["aria-describedby"].split()
    assert all("govuk-form-group--error" not in r.classes
               for item, r in rows.items() if item != "ex.sleep")
    # what was typed in the other rows is kept on the page
    assert [i.attrs["value"] for i in rows["ex.on_edge"].find_all("input")
            if "checked" in i.attrs] == ["often"]


def test_the_amendment_page_shows_the_grid(alice, uid):
    save_section(alice, uid, "details", {"f-assessment_date": "2026-03-12"})
    save_section(alice, uid, "feelings", {
        name("ex.contact"): "no", **{name(r): "never" for r in ROWS}})
    assert finalise(alice, uid).status_code == 302
    page = alice.get(f"/assessments/{uid}/amend").get_data(as_text=True)
    grid = Tree(page).root.find("div", "app-grid")
    assert grid.find("legend").text() == GRID_LABEL
    assert [r.attrs["data-item"] for r in grid.find_all("div", "app-grid__row")] == ROWS
    assert len(re.findall(r'type="radio"[^>]*value="never" checked', page)) == 4
