"""One condition semantics: the page's evaluator (static/conditions.js, loaded by every
page through app.js) decides what the server (formsengine/conditions.py) decides.

Hypothesis generates conditions over choice, multiple-choice, whole-number, number and
text items and raw answers as a person types them (numbers with spaces, underscores,
exponents, words, values out of range); the server types each answer as the save does
(``check_value``; a value it would refuse is not known) and evaluates the condition; the
page's evaluator, in Chromium, reads the same raw answers (``numberOf`` for numbers) and
evaluates the page program the server compiles (``page_program``). Then every condition in
the shipped plugins, for every answer of the items it reads."""

from __future__ import annotations

import json
from importlib import resources
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formsengine.conditions import Context, evaluate_form_condition, page_program
from formsengine.submission import check_value

from .conftest import TEST_DEFINITIONS, axe_check

pytestmark = pytest.mark.browser

ITEMS = {
    "a": SimpleNamespace(id="a", type="choice", values=["yes", "no", "dont_know"],
                         minimum=None, maximum=None),
    "b": SimpleNamespace(id="b", type="multi_choice", values=["x", "y", "z"],
                         options=(), minimum=None, maximum=None),
    "n": SimpleNamespace(id="n", type="integer", values=[], minimum=0, maximum=20),
    "f": SimpleNamespace(id="f", type="number", values=[], minimum=None, maximum=None),
    "t": SimpleNamespace(id="t", type="text", values=[], minimum=None, maximum=None,
                         max_length=200),
}

JS = """(cases) => {
  const { holds, numberOf } = globalThis.formsengineConditions
  return cases.map(({ program, raw, kinds, bounds }) => holds(program, (id) => {
    const value = raw[id]
    if (value === undefined) return undefined
    const kind = kinds[id]
    if (kind === 'multi_choice') return value.length ? value : undefined
    if (kind === 'integer' || kind === 'number') {
      return value.trim() === '' ? undefined : numberOf(value, kind, bounds[id][0], bounds[id][1])
    }
    return value === '' ? undefined : value
  }))
}"""

integers_typed = st.one_of(
    st.integers(-5, 30).map(str),
    st.integers(-5, 30).map(lambda n: f"  {n} "),
    st.integers(0, 9).map(lambda n: f"+{n}"),
    st.sampled_from(["1_0", "1__0", "_1", "3.0", "1e1", "", " ", "abc", "0x10", "07",
                     "12a", "-0", "21", "20", "²"]),
)
numbers_typed = st.one_of(
    st.floats(-100, 100, allow_nan=False).map(repr),
    st.integers(-100, 100).map(str),
    st.sampled_from([".5", "5.", "-.5", "1_000.5", "1e-3", "1E+2", "inf", "-Infinity",
                     "nan", "1.5_0", "1e", "e1", "..1", "", "  2.5 ", "1,5", "1e1_0"]),
)
raw_answers = st.fixed_dictionaries({}, optional={
    "a": st.sampled_from(ITEMS["a"].values),
    "b": st.lists(st.sampled_from(ITEMS["b"].values), unique=True).map(
        lambda v: [x for x in ITEMS["b"].values if x in v]),
    "n": integers_typed,
    "f": numbers_typed,
    "t": st.sampled_from(["", "word", " word ", "yes"]),
})

number_value = st.one_of(st.integers(-3, 25), st.floats(-50, 50, allow_nan=False,
                                                         allow_infinity=False))
leaf = st.one_of(
    st.builds(lambda v: {"item": "a", "equals": v}, st.sampled_from(["yes", "no", "maybe"])),
    st.builds(lambda v: {"item": "a", "in": v},
              st.lists(st.sampled_from(["yes", "no", "dont_know", "x"]), min_size=1,
                       max_size=3)),
    st.builds(lambda v: {"item": "b", "includes": v}, st.sampled_from(["x", "y", "z", "w"])),
    st.builds(lambda i, v: {"item": i, "answered": v}, st.sampled_from(list(ITEMS)),
              st.booleans()),
    st.builds(lambda i, op, v: {"item": i, op: v}, st.sampled_from(["n", "f"]),
              st.sampled_from(["gt", "gte", "lt", "lte", "equals"]), number_value),
    st.builds(lambda i, lo, hi: {"item": i, "gte": lo, "lte": hi}, st.sampled_from(["n", "f"]),
              number_value, number_value),
    st.builds(lambda i, lo, hi: {"item": i, "between": [lo, hi]}, st.sampled_from(["n", "f"]),
              number_value, number_value),
    st.builds(lambda v: {"item": "t", "equals": v}, st.sampled_from(["word", "yes"])),
    st.builds(lambda v: {"item": "n", "in": v}, st.lists(st.integers(0, 5), min_size=1)),
)
conditions = st.recursive(
    leaf, lambda inner: st.one_of(
        st.builds(lambda c: {"all": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"any": c}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, inner)),
    max_leaves=6)


def server_decides(cond: dict, raw: dict, items=ITEMS) -> bool:
    typed = {}
    for item_id, value in raw.items():
        spec = items[item_id]
        if spec.type not in ("text",) and isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            continue
        try:
            typed[item_id] = check_value(spec, value)
        except ValueError:
            continue  # refused by the save: not known
    return evaluate_form_condition(cond, typed, {})


def case_for(cond: dict, raw: dict, items=ITEMS) -> dict:
    program = page_program(cond, frozenset(items), Context(answers={}, fields={}))
    return {"program": program, "raw": raw,
            "kinds": {i: s.type for i, s in items.items()},
            "bounds": {i: [s.minimum, s.maximum] for i, s in items.items()}}


@pytest.fixture(scope="module")
def page(server, browser_factory):
    page = browser_factory().new_page()
    page.goto(server["url"] + "/sign-in")
    page.wait_for_function("() => globalThis.formsengineConditions !== undefined")
    axe_check(page, "sign-in page (its script loads the evaluator)")
    return page


def test_browser_and_server_agree_on_generated_conditions(page):
    cases: list[tuple[dict, dict]] = []

    @settings(max_examples=500, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(conditions, raw_answers)
    def collect(cond, raw):
        cases.append((cond, raw))

    collect()
    assert len(cases) >= 400
    expected = [server_decides(c, r) for c, r in cases]
    got = page.evaluate(JS, [case_for(c, r) for c, r in cases])
    wrong = [(json.dumps(c), r, e) for (c, r), e, g in zip(cases, expected, got) if e != g]
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, e.g. {wrong[:3]}"
    assert any(expected) and not all(expected)  # both outcomes were exercised


def _shipped():
    """(instrument, item specs, condition) for every show condition of every shipped
    definition (the newest and older versions alike)."""
    from formsengine.config import Settings
    from formsengine.engine import Engine

    engine = Engine(Settings())
    for inst in engine.instruments:
        for item in inst.items.values():
            if item.show_when is not None:
                yield inst, item.show_when


def _answers_for(inst, cond: dict) -> list[dict]:
    """Every single answer (and none) of each item the condition reads, one at a time, and
    all of them together at their first and last options."""
    read: list[str] = []

    def walk(c):
        for key in ("all", "any"):
            for part in c.get(key, []):
                walk(part)
        if "not" in c:
            walk(c["not"])
        if "item" in c and c["item"] not in read:
            read.append(c["item"])

    walk(cond)
    out: list[dict] = [{}]
    for item_id in read:
        spec = inst.items[item_id]
        if spec.type == "choice":
            out += [{item_id: v} for v in spec.values]
        elif spec.type == "multi_choice":
            out += [{item_id: [v]} for v in spec.values] + [{item_id: list(spec.values)}]
        elif spec.type in ("integer", "number"):
            out += [{item_id: v} for v in ("0", "1", "3", "10", "x")]
        else:
            out += [{item_id: "text"}]
    for pick in (0, -1):
        together = {}
        for item_id in read:
            spec = inst.items[item_id]
            if spec.type in ("choice", "multi_choice"):
                together[item_id] = spec.values[pick] if spec.type == "choice" \
                    else [spec.values[pick]]
        out.append(together)
    return out


def test_browser_and_server_agree_on_every_shipped_condition(page):
    cases, expected, count = [], [], 0
    for inst, cond in _shipped():
        count += 1
        items = {i: s for i, s in inst.items.items()}
        for raw in _answers_for(inst, cond):
            cases.append(case_for(cond, raw, items))
            expected.append(server_decides(cond, raw, items))
    assert count >= 20  # the plugins' follow-up questions are all here
    got = page.evaluate(JS, cases)
    wrong = [(c["program"], c["raw"], e) for c, e, g in zip(cases, expected, got) if e != g]
    assert not wrong, wrong[:3]


def test_the_evaluator_file_is_the_one_the_application_ships():
    shipped = resources.files("formsengine.web").joinpath("static/conditions.js").read_text()
    assert "export function holds" in shipped and "formsengineConditions" in shipped


@pytest.fixture(scope="module")
def ana(server, browser_factory):
    from .journey import sign_in

    context = browser_factory()
    page = context.pages[0] if context.pages else context.new_page()
    sign_in(page, server["url"], "ana", server["accounts"]["ana"],
            new_password="conditions are one thing")
    return page


def _follow_up():
    """A shipped (or test) instrument's first follow-up question: (instrument, section,
    parent item, follow-up item)."""
    from formsengine.config import Settings
    from formsengine.engine import Engine

    from .journey import INSTRUMENT

    inst = Engine(Settings()).instruments.get(INSTRUMENT) if INSTRUMENT != "test-risk" else \
        Engine(Settings(definitions_dir=TEST_DEFINITIONS)).instruments.get(INSTRUMENT)
    for section in inst.sections:
        for item_id in section.item_ids:
            cond = inst.items[item_id].show_when
            if cond and cond.get("equals") == "yes" and cond["item"] in section.item_ids \
                    and inst.items[item_id].type == "text":
                return inst, section.id, cond["item"], item_id
    raise AssertionError("no follow-up question found")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_section_shows_follow_ups_as_the_server_would_and_asks_before_removing(
        server, ana, width):
    from formsengine.web.formbuild import visible_items

    from .journey import go, name, new_case, start_assessment

    ana.set_viewport_size({"width": width, "height": 800})
    inst, section, parent, follow = _follow_up()
    uid = start_assessment(ana, new_case(ana, server["url"]))
    ana.goto(f"{server['url']}/assessments/{uid}/sections/{section}")
    question = ana.locator(f".app-question[data-item='{follow}']")
    assert question.is_hidden()
    ana.check(f"input[name='{name(parent)}'][value='yes']")
    assert question.is_visible()  # shown at once, as the server shows it for yes
    assert follow in visible_items(inst, {parent: "yes"}, {})
    ana.fill(f"[name='{name(follow)}']", "details typed here")
    axe_check(ana, "section with a follow-up shown")
    ana.check(f"input[name='{name(parent)}'][value='no']")
    assert question.is_hidden() and follow not in visible_items(inst, {parent: "no"}, {})
    go(ana, "button:has-text('Save and continue')")
    # nothing was dropped unsaid: the page asks, keeping what was typed
    assert "/sections/" + section in ana.url
    assert ana.locator("h2:has-text('Answers to questions no longer asked')").is_visible()
    assert ana.locator(".govuk-error-summary a[href='#remove-hidden']").is_visible()
    assert ana.input_value(f"[name='{name(follow)}']") == "details typed here"
    axe_check(ana, "section asking about an answer no longer asked")
    ana.check("#remove-hidden")
    go(ana, "button:has-text('Save and continue')")
    assert "/sections/" + section not in ana.url
    ana.goto(f"{server['url']}/assessments/{uid}/sections/{section}")
    assert ana.input_value(f"[name='{name(follow)}']") == ""
    assert ana.is_checked(f"input[name='{name(parent)}'][value='no']")
