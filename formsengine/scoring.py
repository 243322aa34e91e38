"""The declarative scoring engine.

Scores are computed from the stored answers, never taken from a client. Answers that say a
thing is not known (``dont_know``, ``declined``, ``not_asked``) never count as ``no``: counts
include only positive answers, ``unknown_if_missing`` scores become null, and indicators are
null rather than false.

Order of evaluation: scores, bands, level (computed, judged, final), flags, criteria. A
criterion that is false because something it reads is not known is listed in
``criteria_not_known``.

Each definition is turned once into a ``Plan`` (item sets resolved, the known values of each
item as a set, conditions compiled to functions) and cached on the instrument, so that
scoring one submission is a few passes over its answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .conditions import (
    Context,
    FormContext,
    compile_condition,
    form_condition,
    resolve,
    unknown_inputs,
)
from .instance_ids import instance_item_id
from .instruments import AT_LEAST

if TYPE_CHECKING:
    from .instruments import Instrument
    from .submission import Submission

Answers = dict[str, Any]
Known = dict[str, Any]


def _matches(value: Any, values: Any) -> bool:
    if isinstance(value, list):
        return any(v in values for v in value)
    return value in values


class Plan:
    """Everything about a definition's scoring that does not depend on the answers."""

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        scoring = inst.scoring
        # For choice items: the values that are real answers (not a "not known" kind).
        self.known_values: dict[str, frozenset[str]] = {
            item.id: frozenset(o.value for o in item.options if o.missing is None)
            for item in inst.items.values() if item.type == "choice"
        }
        self.incomplete_values: dict[str, frozenset[str]] = {
            item.id: frozenset(o.value for o in item.options if o.incomplete)
            for item in inst.items.values() if item.type == "choice"
        }
        completeness = inst.completeness_items()
        self.always_asked = tuple(i for i in completeness if inst.items[i].show_when is None)
        self.sometimes_asked = [(i, shown) for i in completeness
                                if (shown := inst.items[i].show_when) is not None]
        # per repeating group: its required choice items as declared (each instance given
        # asks them, as the section's own items are asked)
        self.repeat_asked = [(group, [i for i in group.item_ids
                                      if inst.items[instance_item_id(i, 1)].type == "choice"
                                      and inst.items[instance_item_id(i, 1)].required])
                             for group in inst.repeats.values()]
        self.scores = [(spec["id"], self._compile_score(spec)) for spec in inst.score_specs
                       if spec["type"] != "age"]
        # ages read fields as well as answers: (id, function of answers and fields)
        self.ages = {spec["id"]: age_score(inst, spec) for spec in inst.score_specs
                     if spec["type"] == "age"}
        self.score_order = [spec["id"] for spec in inst.score_specs]
        # the sums that add up other scores: the scores each adds (a companion
        # <id>_at_least adds the parts' companions) and whether an unknown part makes it
        # not known
        self.score_parts: dict[str, tuple[tuple[str, ...], bool]] = {}
        for spec in inst.score_specs:
            if (parts_of := self.parts_of(spec)) is not None:
                self.score_parts[spec["id"]] = parts_of
        self.bands = [(b["id"], b["score"], b["cutoffs"]) for b in scoring.get("bands", [])]
        self.flags = [(f["id"], compile_condition(f["when"])) for f in scoring.get("flags", [])]
        self.criteria = [(c["id"], compile_condition(c["when"]))
                         for c in scoring.get("criteria", [])]
        self.groups = {
            group: [c["id"] for c in scoring.get("criteria", []) if c.get("group") == group]
            for group in scoring.get("criteria_groups", {})
        }

    def parts_of(self, spec: dict[str, Any]) -> tuple[tuple[str, ...], bool] | None:
        """The scores a sum adds (``scores``) and whether an unknown part makes it not
        known; None for any other score."""
        if spec["type"] != "sum" or not spec.get("scores"):
            return None
        ids = {s["id"] for s in self.inst.score_specs}
        parts = tuple(p + AT_LEAST if "companion_of" in spec and p + AT_LEAST in ids
                      else p for p in spec["scores"])
        strict = (bool(spec.get("unknown_if_missing"))
                  or spec.get("when_unknown") == "not_known")
        return parts, strict

    def score_all(self, answers: Answers, known: Known,
                  fields: dict[str, Any]) -> dict[str, Any]:
        """Every declared score, in the definition's order."""
        scores: dict[str, Any] = {}
        for score_id, fn in self.scores:
            scores[score_id] = fn(answers, known)
            if score_id in self.score_parts:
                parts, strict = self.score_parts[score_id]
                scores[score_id] = add_scores(scores[score_id], parts, scores, strict)
        if self.ages:
            scores.update((score_id, fn(answers, fields)) for score_id, fn in self.ages.items())
            scores = {score_id: scores[score_id] for score_id in self.score_order}
        return scores

    def known(self, answers: Answers) -> Known:
        """The answers that carry information (not unanswered, not a 'not known' kind)."""
        kv = self.known_values
        return {i: v for i, v in answers.items() if i not in kv or v in kv[i]}

    def _compile_score(self, spec: dict[str, Any]) -> Callable[[Answers, Known], Any]:
        inst = self.inst
        kind = spec["type"]
        if "repeat" in spec:
            return self._repeat_score(spec)
        if kind == "indicator":
            item, values = spec["item"], frozenset(spec["values"])

            def indicator(answers: Answers, known: Known) -> Any:
                value = known.get(item)
                return None if value is None else _matches(value, values)

            return indicator
        items = tuple(inst.item_set(spec.get("items", [])))
        strict = (bool(spec.get("unknown_if_missing"))
                  or spec.get("when_unknown") == "not_known")
        value_fn = self._value_fn(kind, spec, items)
        if not strict:
            return value_fn
        top = spec["order"][-1] if kind == "max" and "order" in spec else None

        def strict_score(answers: Answers, known: Known) -> Any:
            if any(i not in known for i in items):
                # A max is settled by a known answer at the top of its order.
                if top is None or not any(_matches(known.get(i), (top,)) for i in items
                                          if i in known):
                    return None
            return value_fn(answers, known)

        return strict_score

    def _repeat_score(self, spec: dict[str, Any]) -> Callable[[Answers, Known], Any]:
        """A score over a repeating group's instances (those given: 1 to the highest
        instance with an answer). A not-known answer of an instance counts as it does
        among ordinary items: never as a no."""
        group = self.inst.repeats[spec["repeat"]]
        if spec["type"] == "instances":
            return lambda answers, known: group.count(answers)
        if spec["type"] == "indicator":
            return self._over_instances(spec, group)
        named = spec.get("items", [])
        # one function per number of instances, over the items of those instances
        per_count = []
        for n in range(group.maximum + 1):
            ids = [instance_item_id(i, k) for k in range(1, n + 1) for i in named]
            flat = {k: v for k, v in spec.items() if k != "repeat"}
            flat["items"] = ids
            per_count.append(self._compile_score(flat) if ids else None)
        kind = spec["type"]
        empty = {"count": 0, "sum": 0, "max": None}[kind]

        def over(answers: Answers, known: Known) -> Any:
            fn = per_count[group.count(answers)]
            return empty if fn is None else fn(answers, known)

        return over

    def _over_instances(self, spec: dict[str, Any], group: Any
                        ) -> Callable[[Answers, Known], Any]:
        """``over: any``: true when an instance's answer is one of ``values``, false when
        every instance's answer is known and none is, not known (None) otherwise.
        ``over: all``: true when every instance's answer is one of them, false when a known
        answer is not, not known otherwise. Both are false with no instances."""
        values = frozenset(spec["values"])
        every = spec["over"] == "all"

        def indicator(answers: Answers, known: Known) -> Any:
            n = group.count(answers)
            if n == 0:
                return False
            found = [known.get(instance_item_id(spec["item"], k)) for k in range(1, n + 1)]
            hits = [v is not None and _matches(v, values) for v in found]
            if every:
                if any(v is not None and not h for v, h in zip(found, hits, strict=True)):
                    return False
                return True if all(hits) else None
            if any(hits):
                return True
            return False if all(v is not None for v in found) else None

        return indicator

    def _value_fn(self, kind: str, spec: dict[str, Any],
                  items: tuple[str, ...]) -> Callable[[Answers, Known], Any]:
        inst = self.inst
        if kind == "count":
            mode = spec.get("missing")
            # map() over C-level methods: these counts run for every item of every score.
            n = len(items)
            if mode == "answered":
                return lambda answers, known: sum(map(answers.__contains__, items))
            if mode == "not_known":
                return lambda answers, known: (sum(map(answers.__contains__, items))
                                               - sum(map(known.__contains__, items)))
            if mode == "unanswered":
                return lambda answers, known: n - sum(map(answers.__contains__, items))
            if mode == "not_known_or_unanswered":
                return lambda answers, known: n - sum(map(known.__contains__, items))
            values = frozenset(spec["values"])
            if all(inst.items[i].type == "choice" for i in items):
                return lambda answers, known: sum(map(values.__contains__,
                                                      map(known.get, items)))
            return lambda answers, known: sum(
                1 for i in items if i in known and _matches(known[i], values))
        if kind == "sum":
            weights = spec.get("weights", {})
            reversed_items = set(spec.get("reverse", ()))
            numbers = {}
            plain = {i for i in items if inst.items[i].type in ("integer", "number")}
            for i in items:
                item = inst.items[i]
                number = {o.value: weights.get(o.value, o.numeric) for o in item.options}
                if item.reverse or i in reversed_items:
                    number = reversed_numbers(number, item)
                numbers[i] = number

            def total(answers: Answers, known: Known) -> Any:
                result: float = 0
                for i in items:
                    if i in plain:
                        value = known.get(i)
                        result += value if isinstance(value, (int, float)) else 0
                    elif i in known:
                        result += numbers[i].get(known[i]) or 0
                return int(result) if float(result).is_integer() else result

            return total
        if kind == "max" and "order" not in spec:  # numbers (a repeating group's)

            def highest_number(answers: Answers, known: Known) -> Any:
                present = [v for i in items if isinstance(v := known.get(i), (int, float))
                           and not isinstance(v, bool)]
                return max(present) if present else None

            return highest_number
        if kind == "max":
            order = spec["order"]
            rank = {v: n for n, v in enumerate(order)}

            def highest(answers: Answers, known: Known) -> Any:
                present = [rank[known[i]] for i in items if known.get(i) in rank]
                return order[max(present)] if present else None

            return highest
        if kind == "combination":
            names = spec.get("names", {})
            labels = [(i, names.get(i, i.split(".")[-1])) for i in items]
            values = frozenset(spec["values"])

            def combination(answers: Answers, known: Known) -> Any:
                chosen = [label for i, label in labels
                          if i in known and _matches(known[i], values)]
                return "+".join(chosen) if chosen else "none"

            return combination
        raise ValueError(f"unknown score type {kind}")  # pragma: no cover - schema forbids


def whole_years(start: dt.date, end: dt.date) -> int | None:
    """Whole years from ``start`` to ``end`` (an age on a date), None when ``end`` is
    before ``start``. Someone born on 29 February is a year older on 1 March in a year
    that has no 29 February."""
    if end < start:
        return None
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def age_score(inst: Instrument, spec: dict[str, Any]) -> Callable[[Answers, dict], Any]:
    """An ``age`` score: whole years between two dates (items or fields), not known (None)
    when either is not known or the second is before the first."""
    start = spec["from"]
    end = spec.get("to") or {"field": inst.assessment_date_field}

    def read(ref: dict[str, str], answers: Answers, fields: dict) -> dt.date | None:
        return _as_date(answers.get(ref["item"]) if "item" in ref else fields.get(ref["field"]))

    def age(answers: Answers, fields: dict) -> Any:
        first, second = read(start, answers, fields), read(end, answers, fields)
        if first is None or second is None:
            return None
        return whole_years(first, second)

    return age


def reversed_numbers(number: dict[str, Any], item: Any) -> dict[str, Any]:
    """An item's option numbers reversed: each becomes highest + lowest - number, over the
    options that say something is known (a 'not known' option keeps no number)."""
    known = [n for o in item.options if o.missing is None
             and (n := number.get(o.value)) is not None]
    if not known:
        return number
    top, bottom = max(known), min(known)
    return {v: (None if n is None else top + bottom - n) for v, n in number.items()}


def add_scores(value: Any, parts: tuple[str, ...], scores: dict[str, Any],
               strict: bool) -> Any:
    """A sum with the scores it adds (``scores`` of a sum): a part that is not known is
    left out, or makes the sum not known when the sum is strict."""
    if value is None:
        return None
    total = value
    for part in parts:
        got = scores.get(part)
        if got is None or isinstance(got, bool) or not isinstance(got, (int, float)):
            if strict:
                return None
            continue
        total += got
    return int(total) if float(total).is_integer() else total


def plan_for(inst: Instrument) -> Plan:
    plan = inst.__dict__.get("_scoring_plan")
    if plan is None:
        plan = Plan(inst)
        inst.__dict__["_scoring_plan"] = plan
    return plan


def compute_score(inst: Instrument, spec: dict[str, Any], answers: Answers,
                  fields: dict[str, Any] | None = None) -> Any:
    """One score of ``spec`` over ``answers`` (for tests and tools; scoring uses the plan)."""
    plan = plan_for(inst)
    if spec["type"] == "age":
        return age_score(inst, spec)(answers, fields or {})
    known = plan.known(answers)
    value = plan._compile_score(spec)(answers, known)
    parts_of = plan.parts_of(spec)
    if parts_of is None:
        return value
    # a sum over other scores adds them as the scoring does
    parts, strict = parts_of
    return add_scores(value, parts, plan.score_all(answers, known, fields or {}), strict)


def band_for(value: Any, cutoffs: list[dict[str, Any]]) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    band = None
    for c in cutoffs:
        if value >= c["min"]:
            band = c["band"]
    return band


def declarative_score(inst: Instrument, sub: Submission, params: dict[str, Any]) -> dict:
    plan = plan_for(inst)
    answers = sub.answers
    known = plan.known(answers)
    warnings: list[str] = []
    ctx = Context(answers=answers, fields=sub.fields, parameters=params)

    # Completeness: every item that is shown must be answered, and not with a value that
    # makes the assessment incomplete (declined, not asked).
    asked = list(plan.always_asked)
    form = FormContext(answers, sub.fields)
    asked += [i for i, cond in plan.sometimes_asked if form_condition(cond)(form)]
    for group, named in plan.repeat_asked:
        for k in range(1, group.count(answers) + 1):
            for base in named:
                item = inst.items[instance_item_id(base, k)]
                if item.show_when is None or form_condition(item.show_when)(form):
                    asked.append(item.id)
    unanswered = [i for i in asked if i not in answers]
    inc = plan.incomplete_values
    incomplete = {i: answers[i] for i in asked
                  if i in answers and i in inc and answers[i] in inc[i]}

    scores = ctx.scores
    scores.update(plan.score_all(answers, known, sub.fields))
    for band_id, score_id, cutoffs in plan.bands:
        ctx.bands[band_id] = band_for(scores.get(score_id), resolve(cutoffs, params))

    level_result = None
    level = inst.scoring.get("level")
    if level:
        order = level["order"]
        computed = ctx.bands.get(level["band"])
        judged = sub.judgement["level"] if sub.judgement else None
        final = computed
        judgement = None
        if sub.judgement:
            raises = computed is None or order.index(judged) > order.index(computed)
            judgement = dict(sub.judgement, applied=raises)
            if raises:
                final = judged
            elif judged != computed:
                warnings.append(
                    f"professional judgement {judged!r} is below the score-based level "
                    f"{computed!r}: judgement may raise the level but never lower it"
                )
        ctx.levels.update(computed=computed, judged=judged, final=final)
        level_result = {"computed": computed, "judged": judged, "final": final,
                        "judgement": judgement}

    for flag_id, rule in plan.flags:
        ctx.flags[flag_id] = rule(ctx)
    criteria = {criterion_id: rule(ctx) for criterion_id, rule in plan.criteria}
    # Not met only for want of information: shown as "not known", never as "not met".
    not_known = [c["id"] for c in inst.scoring.get("criteria", [])
                 if not criteria[c["id"]] and unknown_inputs(c["when"], ctx)]
    groups = {}
    for group, members in plan.groups.items():
        met = [c for c in members if criteria[c]]
        groups[group] = {"met": bool(met), "met_criteria": met}

    if unanswered or incomplete:
        warnings.append(
            f"assessment is incomplete: {len(unanswered)} item(s) unanswered, "
            f"{len(incomplete)} declined or not asked; scores count only what is known"
        )
    return {
        "complete": not unanswered and not incomplete,
        "unanswered_items": unanswered,
        "incomplete_items": incomplete,
        "scores": scores,
        "bands": ctx.bands,
        "level": level_result,
        "flags": ctx.flags,
        "criteria": criteria,
        "criteria_groups": groups,
        "criteria_not_known": not_known,
        "warnings": warnings,
    }
