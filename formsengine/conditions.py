"""Evaluate definition conditions (``show_when``, flags, criteria).

A condition on something not known (an unanswered item, a missing field, a null score) is
false: a flag or criterion is raised only on positive information.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_COMPARE = {
    "gte": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}


@dataclass
class Context:
    answers: dict[str, Any]
    fields: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)


def resolve(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "param" in value:
        return params[value["param"]]
    return value


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    # clamp to the last day of the month (31 Jan + 1 month = 28/29 Feb)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError("unreachable")  # pragma: no cover


def _compare(c: dict, actual: Any, params: dict[str, Any],
             fields: dict[str, Any] | None = None, today: dt.date | None = None) -> bool:
    """Every test given in ``c`` must hold (``{"field": "n", "gte": 1, "lte": 5}`` is a
    range); a value that is not known satisfies only ``answered: false``."""
    if actual is None:
        return c.get("answered") is False
    tests = []
    if "answered" in c:
        tests.append(c["answered"] is True)
    if "equals" in c:
        tests.append(actual == resolve(c["equals"], params))
    if "in" in c:
        tests.append(actual in c["in"])
    if "includes" in c:
        tests.append(isinstance(actual, list) and c["includes"] in actual)
    numeric = isinstance(actual, (int, float)) and not isinstance(actual, bool)
    for op, fn in _COMPARE.items():
        if op in c:
            tests.append(numeric and fn(actual, resolve(c[op], params)))
    if "between" in c:
        low, high = (resolve(v, params) for v in c["between"])
        tests.append(numeric and low <= actual <= high)
    for op in ("before", "after"):
        if op in c:
            other = _date_of(c[op], fields or {}, today)
            if isinstance(actual, str):
                try:
                    actual = dt.date.fromisoformat(actual)
                except ValueError:
                    pass
            if not isinstance(actual, dt.date) or other is None:
                tests.append(False)
            else:
                tests.append(actual < other if op == "before" else actual > other)
    return bool(tests) and all(tests)


def _date_of(ref: Any, fields: dict[str, Any], today: dt.date | None) -> dt.date | None:
    """The date a ``before``/``after`` test names: ``"today"``, a date written
    ``YYYY-MM-DD``, or ``{"field": name}`` (not known when the field is empty)."""
    if ref == "today":
        return today or dt.date.today()
    if isinstance(ref, dict) and "field" in ref:
        value = fields.get(ref["field"])
        return value if isinstance(value, dt.date) else None
    return dt.date.fromisoformat(ref)


def evaluate(cond: dict, ctx: Context) -> bool:
    if "all" in cond:
        return all(evaluate(c, ctx) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, ctx) for c in cond["any"])
    if "not" in cond:
        return not evaluate(cond["not"], ctx)
    if "item" in cond:
        return _compare(cond, ctx.answers.get(cond["item"]), ctx.parameters, ctx.fields)
    if "field" in cond:
        return _compare(cond, ctx.fields.get(cond["field"]), ctx.parameters, ctx.fields)
    if "score" in cond:
        return _compare(cond, ctx.scores.get(cond["score"]), ctx.parameters, ctx.fields)
    if "band" in cond:
        return _compare(cond, ctx.bands.get(cond["band"]), ctx.parameters, ctx.fields)
    if "level" in cond:
        return _compare(cond, ctx.levels.get(cond["level"]), ctx.parameters, ctx.fields)
    if "flag" in cond:
        return bool(ctx.flags.get(cond["flag"]))
    if "date_within" in cond:
        spec = cond["date_within"]
        start = ctx.fields.get(spec["start"])
        end = ctx.fields.get(spec["end"])
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            return False
        months = int(resolve(spec["months"], ctx.parameters))
        return start <= end <= add_months(start, months)
    raise ValueError(f"unknown condition {sorted(cond)}")


def unknown_inputs(cond: dict, ctx: Context) -> bool:
    """Whether the condition reads something that is not known (an unanswered item, a field
    not recorded, a null score or band). A criterion that is false for that reason is not
    known rather than not met. A level or flag is always known (no judgement is a fact)."""
    if "all" in cond or "any" in cond:
        return any(unknown_inputs(c, ctx) for c in cond.get("all", cond.get("any", [])))
    if "not" in cond:
        return unknown_inputs(cond["not"], ctx)
    if "date_within" in cond:
        spec = cond["date_within"]
        return not all(isinstance(ctx.fields.get(spec[k]), dt.date) for k in ("start", "end"))
    for key, source in (("item", ctx.answers), ("field", ctx.fields), ("score", ctx.scores),
                        ("band", ctx.bands)):
        if key in cond:
            return source.get(cond[key]) is None and cond.get("answered") is None
    return False


_ITEM_TESTS = ("answered", "equals", "in", "includes", *_COMPARE, "between")


def page_program(cond: dict, on_page: set[str] | frozenset[str], ctx: Context) -> dict:
    """The condition in the form a page's script evaluates (static/conditions.js).

    What the page can change, a test of an item answered on this page, is kept, with any
    ``{"param": ...}`` value replaced by the parameter's value; everything else (items of
    other sections, fields, dates) is decided here from ``ctx`` and becomes
    ``{"const": true|false}``. So the script needs no copy of the stored answers and no
    date arithmetic, and what it decides is what ``evaluate`` decides for the same
    answers."""
    for key in ("all", "any"):
        if key in cond:
            parts = [page_program(c, on_page, ctx) for c in cond[key]]
            if all("const" in p for p in parts):
                values = [p["const"] for p in parts]
                return {"const": all(values) if key == "all" else any(values)}
            return {key: parts}
    if "not" in cond:
        inner = page_program(cond["not"], on_page, ctx)
        return {"const": not inner["const"]} if "const" in inner else {"not": inner}
    if "item" in cond and cond["item"] in on_page and not ({"before", "after"} & set(cond)):
        out: dict[str, Any] = {"item": cond["item"]}
        for test in _ITEM_TESTS:
            if test in cond:
                out[test] = resolve(cond[test], ctx.parameters)
        if "between" in out:
            out["between"] = [resolve(v, ctx.parameters) for v in out["between"]]
        return out
    return {"const": bool(evaluate(cond, ctx))}


def evaluate_form_condition(cond: dict, answers: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Conditions used by forms (``show_when``): items and fields only. Each condition is
    compiled once (``form_condition``): every line of an import and every score checks the
    same few conditions of a definition."""
    return form_condition(cond)(FormContext(answers, fields))


_NOTHING: dict[str, Any] = {}


class FormContext:
    """What a form's condition reads: the answers and fields (nothing scored yet). Lighter
    than a ``Context`` made for each condition checked; read only."""

    __slots__ = ("answers", "fields")
    parameters = scores = bands = levels = flags = _NOTHING

    def __init__(self, answers: dict[str, Any], fields: dict[str, Any]) -> None:
        self.answers, self.fields = answers, fields


_FORM_CONDITIONS: dict[int, tuple[dict, Callable[[Any], bool]]] = {}
_FORM_CONDITIONS_KEPT = 4096  # conditions of every installed definition, with room


def form_condition(cond: dict) -> Callable[[Any], bool]:
    """``cond`` compiled (``compile_condition``), kept for the next call with the same
    condition object (the definition's own: definitions are not changed once built)."""
    kept = _FORM_CONDITIONS.get(id(cond))
    if kept is not None and kept[0] is cond:
        return kept[1]
    if len(_FORM_CONDITIONS) >= _FORM_CONDITIONS_KEPT:
        _FORM_CONDITIONS.clear()
    compiled = compile_condition(cond)
    _FORM_CONDITIONS[id(cond)] = (cond, compiled)
    return compiled


def compile_condition(cond: dict) -> Callable[[Context], bool]:
    """The condition as a function of a Context: same meaning as ``evaluate``, decided once
    per definition instead of on every call (the scoring engine's hot path)."""
    if "all" in cond:
        parts = [compile_condition(c) for c in cond["all"]]
        return lambda ctx: all(p(ctx) for p in parts)
    if "any" in cond:
        parts = [compile_condition(c) for c in cond["any"]]
        return lambda ctx: any(p(ctx) for p in parts)
    if "not" in cond:
        inner = compile_condition(cond["not"])
        return lambda ctx: not inner(ctx)
    if "flag" in cond:
        name = cond["flag"]
        return lambda ctx: bool(ctx.flags.get(name))
    if "date_within" in cond:
        return lambda ctx: evaluate(cond, ctx)
    for key, source in _SOURCES.items():
        if key in cond:
            name = cond[key]
            if set(cond) == {key, "equals"} and isinstance(cond["equals"], (str, int, float)):
                expected = cond["equals"]
                if key == "item":  # the common case, kept to one call
                    return lambda ctx: ctx.answers.get(name) == expected
                return lambda ctx: source(ctx).get(name) == expected
            return lambda ctx: _compare(cond, source(ctx).get(name), ctx.parameters, ctx.fields)
    raise ValueError(f"unknown condition {sorted(cond)}")


_SOURCES: dict[str, Callable[[Context], dict]] = {
    "item": lambda ctx: ctx.answers,
    "field": lambda ctx: ctx.fields,
    "score": lambda ctx: ctx.scores,
    "band": lambda ctx: ctx.bands,
    "level": lambda ctx: ctx.levels,
}
