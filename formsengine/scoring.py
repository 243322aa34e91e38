"""The declarative scoring engine.

Scores are computed from the stored answers, never taken from a client. Answers that say a
thing is not known (``dont_know``, ``declined``, ``not_asked``) never count as ``no``: counts
include only positive answers, ``unknown_if_missing`` scores become null, and indicators are
null rather than false.

Order of evaluation: scores, bands, level (computed, judged, final), flags, criteria.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .conditions import Context, evaluate, evaluate_form_condition, resolve

if TYPE_CHECKING:
    from .instruments import Instrument
    from .submission import Submission


def _is_known(inst: Instrument, item_id: str, value: Any) -> bool:
    if value is None:
        return False
    item = inst.items[item_id]
    if item.type == "choice":
        opt = item.option(value)
        return opt is not None and opt.missing is None
    return True


def _matches(value: Any, values: list[str]) -> bool:
    if isinstance(value, list):
        return any(v in values for v in value)
    return value in values


def _max_settled(inst: Instrument, spec: dict[str, Any], answers: dict[str, Any]) -> bool:
    """A max score is settled, whatever the unknown items hold, once a known answer has the
    highest value in its order."""
    if spec["type"] != "max":
        return False
    top = spec["order"][-1]
    return any(_is_known(inst, i, answers.get(i)) and _matches(answers.get(i), [top])
               for i in inst.item_set(spec["items"]))


def compute_score(inst: Instrument, spec: dict[str, Any], answers: dict[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "indicator":
        value = answers.get(spec["item"])
        if not _is_known(inst, spec["item"], value):
            return None
        return _matches(value, spec["values"])
    item_ids = inst.item_set(spec["items"])
    values = [answers.get(i) for i in item_ids]
    any_unknown = any(not _is_known(inst, i, v) for i, v in zip(item_ids, values))
    if spec.get("unknown_if_missing") and any_unknown and not _max_settled(inst, spec, answers):
        return None
    if kind == "count":
        mode = spec.get("missing")
        if mode == "answered":
            return sum(1 for v in values if v is not None)
        if mode == "not_known":
            return sum(1 for i, v in zip(item_ids, values)
                       if v is not None and not _is_known(inst, i, v))
        if mode == "unanswered":
            return sum(1 for v in values if v is None)
        if mode == "not_known_or_unanswered":
            return sum(1 for i, v in zip(item_ids, values) if not _is_known(inst, i, v))
        return sum(1 for i, v in zip(item_ids, values)
                   if _is_known(inst, i, v) and _matches(v, spec["values"]))
    if kind == "sum":
        weights = spec.get("weights", {})
        total: float = 0
        for i, v in zip(item_ids, values):
            if not _is_known(inst, i, v):
                continue
            opt = inst.items[i].option(v)
            number = weights.get(v, opt.numeric if opt else None)
            total += number or 0
        return int(total) if float(total).is_integer() else total
    if kind == "max":
        order = spec["order"]
        present = [order.index(v) for i, v in zip(item_ids, values)
                   if _is_known(inst, i, v) and v in order]
        return order[max(present)] if present else None
    if kind == "combination":
        names = spec.get("names", {})
        chosen = [names.get(i, i.split(".")[-1]) for i, v in zip(item_ids, values)
                  if _is_known(inst, i, v) and _matches(v, spec["values"])]
        return "+".join(chosen) if chosen else "none"
    raise ValueError(f"unknown score type {kind}")  # pragma: no cover - schema forbids


def band_for(value: Any, cutoffs: list[dict[str, Any]]) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    band = None
    for c in cutoffs:
        if value >= c["min"]:
            band = c["band"]
    return band


def declarative_score(inst: Instrument, sub: Submission, params: dict[str, Any]) -> dict:
    scoring = inst.scoring
    answers = sub.answers
    warnings: list[str] = []
    ctx = Context(answers=answers, fields=sub.fields, parameters=params)

    # Completeness: every item that is shown must be answered, and not with a value that
    # makes the assessment incomplete (declined, not asked).
    unanswered, incomplete = [], {}
    for item_id in inst.completeness_items():
        item = inst.items[item_id]
        if item.show_when is not None and not evaluate_form_condition(
            item.show_when, answers, sub.fields
        ):
            continue
        value = answers.get(item_id)
        if value is None:
            unanswered.append(item_id)
        elif item.type == "choice" and (opt := item.option(value)) and opt.incomplete:
            incomplete[item_id] = value

    for spec in scoring.get("scores", []):
        ctx.scores[spec["id"]] = compute_score(inst, spec, answers)
    for spec in scoring.get("bands", []):
        cutoffs = resolve(spec["cutoffs"], params)
        ctx.bands[spec["id"]] = band_for(ctx.scores.get(spec["score"]), cutoffs)

    level_result = None
    level = scoring.get("level")
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

    for spec in scoring.get("flags", []):
        ctx.flags[spec["id"]] = evaluate(spec["when"], ctx)
    criteria: dict[str, bool] = {}
    for spec in scoring.get("criteria", []):
        criteria[spec["id"]] = evaluate(spec["when"], ctx)
    groups = {}
    for group in scoring.get("criteria_groups", {}):
        members = [c["id"] for c in scoring.get("criteria", []) if c.get("group") == group]
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
        "scores": ctx.scores,
        "bands": ctx.bands,
        "level": level_result,
        "flags": ctx.flags,
        "criteria": criteria,
        "criteria_groups": groups,
        "warnings": warnings,
    }
