"""Number and date comparisons in conditions: gt/gte/lt/lte/between on items, fields and
scores; before/after another date field, a written date or today; the validator refuses
them where they cannot apply."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from formsengine.conditions import Context, evaluate, page_program
from formsengine.errors import DefinitionError
from formsengine.instruments import build_instrument
from tests.conftest import DefinitionsPlugin, make_engine

EXAMPLE = Path(__file__).resolve().parents[1] / "docs/examples/definitions/comparisons.json"


def ctx(answers=None, fields=None, scores=None, parameters=None) -> Context:
    return Context(answers=answers or {}, fields=fields or {}, scores=scores or {},
                   parameters=parameters or {})


@pytest.mark.parametrize(("value", "expected"), [
    (0, False), (1, True), (3, True), (5, True), (6, False), (2.5, True), (None, False),
    ("3", False), (True, False)])
def test_between_is_an_inclusive_number_range(value, expected):
    cond = {"item": "n", "between": [1, 5]}
    assert evaluate(cond, ctx(answers={"n": value})) is expected
    cond = {"field": "n", "between": [1, {"param": "top"}]}
    assert evaluate(cond, ctx(fields={"n": value}, parameters={"top": 5})) is expected


def test_number_tests_on_scores_and_items():
    assert evaluate({"score": "s", "gt": 2}, ctx(scores={"s": 3}))
    assert not evaluate({"score": "s", "gt": 2}, ctx(scores={"s": None}))
    assert evaluate({"item": "n", "lte": 2}, ctx(answers={"n": 2}))
    assert not evaluate({"item": "n", "lt": 2}, ctx(answers={"n": 2}))


def test_dates_before_and_after_another_field_a_written_date_or_today():
    day = dt.date(2026, 3, 12)
    fields = {"a": day, "b": dt.date(2026, 3, 13), "empty": None}
    assert evaluate({"field": "a", "before": {"field": "b"}}, ctx(fields=fields))
    assert not evaluate({"field": "b", "before": {"field": "a"}}, ctx(fields=fields))
    assert evaluate({"field": "b", "after": {"field": "a"}}, ctx(fields=fields))
    assert not evaluate({"field": "a", "after": {"field": "a"}}, ctx(fields=fields))  # strict
    assert not evaluate({"field": "a", "after": {"field": "empty"}}, ctx(fields=fields))
    assert not evaluate({"field": "empty", "before": "today"}, ctx(fields=fields))
    assert evaluate({"field": "a", "after": "2026-03-11"}, ctx(fields=fields))
    assert evaluate({"field": "a", "before": "today"}, ctx(fields=fields))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert not evaluate({"field": "t", "before": "today"}, ctx(fields={"t": tomorrow}))
    # a date item's stored answer is its ISO text
    assert evaluate({"item": "d", "before": {"field": "b"}},
                    ctx(answers={"d": "2026-03-12"}, fields=fields))
    assert not evaluate({"item": "d", "before": "2026-01-01"}, ctx(answers={"d": "no date"}))


def test_the_page_program_keeps_between_with_parameters_resolved_and_decides_dates():
    c = ctx(fields={"a": dt.date(2020, 1, 1)}, parameters={"top": 4})
    assert page_program({"item": "n", "between": [1, {"param": "top"}]}, {"n"}, c) == {
        "item": "n", "between": [1, 4]}
    assert page_program({"field": "a", "before": "today"}, {"n"}, c) == {"const": True}
    assert page_program({"item": "d", "after": "2020-01-01"}, {"d"}, c) == {"const": False}


def example() -> dict:
    return json.loads(EXAMPLE.read_text())


def test_the_documented_example_loads_and_its_conditions_work():
    inst = build_instrument(example(), plugin="docs", plugin_version="1", source=None)
    engine = make_engine(DefinitionsPlugin(example()))
    data = {"instrument": inst.id,
            "answers": {"ex.children": 3, "ex.school_contact": "yes"},
            "fields": {"assessment_date": "2026-03-12", "order_end": "2026-01-01",
                       "incident_date": "2026-02-01"}}
    result = engine.score_data(data)
    flags = json.dumps(result, default=str)
    assert "several_children" in flags and "school_told" in flags and "past_incident" in flags
    # an answer to the order question while the order has ended before the assessment date
    # is refused: it is hidden by the answers given
    hidden = copy.deepcopy(data)
    hidden["answers"]["ex.order_details"] = "Stay away"
    with pytest.raises(Exception, match="ex.order_details"):
        engine.score_data(hidden)
    hidden["fields"]["order_end"] = "2026-12-01"
    engine.score_data(hidden)
    # no children: the school question is hidden
    none = copy.deepcopy(data)
    none["answers"]["ex.children"] = 0
    with pytest.raises(Exception, match="ex.school_contact"):
        engine.score_data(none)


def refused(change) -> str:
    d = example()
    change(d)
    with pytest.raises(DefinitionError) as info:
        build_instrument(d, plugin="docs", plugin_version="1", source=None)
    return str(info.value)


def test_number_tests_on_a_choice_item_are_refused_in_plain_words():
    def change(d):
        d["sections"][0]["items"][2]["show_when"] = {"item": "ex.school_contact", "gt": 1}
    assert "ex.school_contact' is of type choice, not a number" in refused(change)


def test_a_range_upside_down_is_refused():
    def change(d):
        d["sections"][0]["items"][1]["show_when"] = {"item": "ex.children", "between": [5, 1]}
    assert "the low end 5 is above the high end 1" in refused(change)


def test_date_tests_on_numbers_and_unknown_date_fields_are_refused():
    def on_number(d):
        d["sections"][0]["items"][1]["show_when"] = {"item": "ex.children", "before": "today"}
    assert "ex.children' is of type integer, not a date" in refused(on_number)

    def unknown_field(d):
        d["sections"][0]["items"][3]["show_when"] = {
            "field": "order_end", "after": {"field": "nowhere"}}
    assert "'nowhere' is not a date field" in refused(unknown_field)


def test_a_badly_written_date_or_range_is_refused_by_the_schema():
    def bad_date(d):
        d["sections"][0]["items"][3]["show_when"] = {"field": "order_end", "after": "tomorrow"}
    assert "show_when" in refused(bad_date)

    def short_range(d):
        d["sections"][0]["items"][1]["show_when"] = {"item": "ex.children", "between": [1]}
    assert "show_when" in refused(short_range)


def test_the_example_passes_the_cli_validator():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMSENGINE_")}
    out = subprocess.run([sys.executable, "-m", "formsengine.cli", "instruments", "validate",
                          str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ok:" in out.stdout


def test_the_documented_snippets_are_those_of_the_example():
    text = (EXAMPLE.parents[2] / "definitions.md").read_text(encoding="utf-8")
    i = text.index("docs/examples/definitions/comparisons.json")
    block = text[text.index("```json\n", i) + 8:]
    shown = json.loads(block[:block.index("```")])
    d = example()
    present = d["sections"][0]["items"] + d["scoring"]["flags"]
    for part in shown:
        assert part in present, part["id"]
