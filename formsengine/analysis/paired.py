"""Paired comparisons of one instrument between two occasions (for example intake and exit).

Only people with a final assessment at both occasions are paired (the latest at each
occasion). For each variable a pair is used only when both values are known: answers that
say a thing is not known (``dont_know``, ``declined``, ``not_asked``, ``not_known``), items
left unanswered and scores that could not be computed are excluded from that variable's
pairs, counted by reason, and never counted as ``no``.

* yes/no items and derived yes/no results (indicator scores, flags, criteria): the 2x2 table
  (first occasion by second), counts and percentages at each occasion, the percent change in
  the number with ``yes``, and the exact McNemar test;
* ordinal items, bands, levels and ``max`` scores: the transition table (rows first
  occasion, columns second), counts and percentages at each level at both occasions, the
  percent change in the number at each level, and how many moved to a worse (higher) level,
  to a better one, or stayed;
* numeric scores: paired n, mean and median change, and the Wilcoxon signed-rank test.

With a grouping variable, the same is computed per group, and for each pair of groups the
difference in proportions (or in mean change) with Fisher's exact test (Mann-Whitney U for
numeric changes).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FormsEngineError
from ..store.reading import final_answers_at, final_assessments_at, final_results_at
from .stats import exact_mcnemar, percent, percent_change, wilcoxon

if TYPE_CHECKING:
    from ..instruments import Instrument
    from ..store import Store

UNANSWERED = "unanswered"
NOT_KNOWN = "not_known"


@dataclass
class Var:
    """One analysed variable: where its value comes from and how it is read."""

    id: str
    label: str
    source: str  # item, score, band, level, flag, criterion, group
    kind: str  # binary, ordinal, numeric
    levels: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # option value -> missing kind

    def read(self, record: dict[str, Any]) -> tuple[Any, str | None]:
        """(value, None) when known, else (None, reason)."""
        if self.source == "item":
            value = record["answers"].get(self.id)
            if value is None:
                return None, UNANSWERED
            if value in self.missing:
                return None, self.missing[value]
            if self.kind == "binary":
                return value == "yes", None
            return (value, None) if value in self.levels else (None, NOT_KNOWN)
        value = record["results"].get((self.source, self.id.split(":", 1)[-1]))
        if value is None:
            return None, NOT_KNOWN
        if self.kind == "binary":
            return bool(value), None
        if self.kind == "ordinal":
            return (value, None) if value in self.levels else (None, NOT_KNOWN)
        return float(value), None


def variables(store: Store, inst: Instrument) -> list[Var]:
    """Every yes/no, ordinal and numeric variable of the instrument's items and results."""
    from ..exports.coding import category_order, result_labels

    out: list[Var] = []
    for item in inst.items.values():
        if item.type != "choice":
            continue
        known = [o.value for o in item.options if o.missing is None]
        missing = {o.value: o.missing for o in item.options if o.missing}
        if set(known) == {"yes", "no"}:
            out.append(Var(item.id, item.label, "item", "binary", ["no", "yes"], missing))
        elif len(known) >= 2:
            out.append(Var(item.id, item.label, "item", "ordinal", known, missing))
    labels = result_labels(inst)
    orders = category_order(inst, store.engine.parameters_for(inst))
    scoring = inst.scoring
    for spec in inst.score_specs:
        label = labels[("score", spec["id"])]
        if spec["type"] == "indicator":
            out.append(Var(f"score:{spec['id']}", label, "score", "binary"))
        elif spec["type"] == "max" and "order" in spec:
            out.append(Var(f"score:{spec['id']}", label, "score", "ordinal",
                           orders[("score", spec["id"])]))
        elif spec["type"] in ("count", "sum", "age", "max", "instances"):
            out.append(Var(f"score:{spec['id']}", label, "score", "numeric"))
    for band in scoring.get("bands", []):
        out.append(Var(f"band:{band['id']}", labels[("band", band["id"])], "band", "ordinal",
                       orders[("band", band["id"])]))
    if scoring.get("level"):
        out.append(Var("level:final", labels[("level", "final")], "level", "ordinal",
                       orders[("level", "final")]))
    for kind, key in (("flag", "flags"), ("criterion", "criteria")):
        for spec in scoring.get(key, []):
            out.append(Var(f"{kind}:{spec['id']}", spec["label"], kind, "binary"))
    for gid, spec in scoring.get("criteria_groups", {}).items():
        out.append(Var(f"group:{gid}", spec["label"], "group", "binary"))
    return out


def load_occasion(store: Store, instrument_id: str, occasion: str) -> dict[int, dict]:
    """person id -> the latest final assessment at the occasion (answers and results)."""
    rows = final_assessments_at(store, instrument_id, occasion)
    latest = {r["person_id"]: r["id"] for r in rows}
    records: dict[int, dict[str, dict[Any, Any]]] = {
        aid: {"answers": {}, "results": {}} for aid in latest.values()}
    for aid, item_id, value in final_answers_at(store, instrument_id, occasion):
        if aid in records:
            records[aid]["answers"][item_id] = json.loads(value)
    for aid, kind, name, num, text in final_results_at(store, instrument_id, occasion):
        if aid in records:
            records[aid]["results"][(kind, name)] = num if text is None else text
    return {person: records[aid] for person, aid in latest.items()}


def _excluded(pairs_missing: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in pairs_missing:
        counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items()))


def _collect(var: Var, pairs: list[tuple[dict, dict]]) -> tuple[list[tuple], dict[str, int]]:
    values, missing = [], []
    for first, second in pairs:
        a, why_a = var.read(first)
        b, why_b = var.read(second)
        why = why_a or why_b
        if why:
            missing.append(why)
        else:
            values.append((a, b))
    return values, _excluded(missing)


def binary_result(var: Var, pairs: list[tuple[dict, dict]]) -> dict[str, Any]:
    values, excluded = _collect(var, pairs)
    yy = sum(1 for a, b in values if a and b)
    yn = sum(1 for a, b in values if a and not b)
    ny = sum(1 for a, b in values if not a and b)
    nn = sum(1 for a, b in values if not a and not b)
    n = len(values)
    return {
        "id": var.id, "label": var.label, "source": var.source, "n": n,
        "excluded": excluded,
        "table": {"yes_yes": yy, "yes_no": yn, "no_yes": ny, "no_no": nn},
        "first": {"yes": yy + yn, "no": ny + nn, "percent_yes": percent(yy + yn, n)},
        "second": {"yes": yy + ny, "no": yn + nn, "percent_yes": percent(yy + ny, n)},
        "percent_change_yes": percent_change(yy + yn, yy + ny),
        "mcnemar": {"yes_to_no": yn, "no_to_yes": ny, "p_exact": exact_mcnemar(yn, ny)},
    }


def ordinal_result(var: Var, pairs: list[tuple[dict, dict]]) -> dict[str, Any]:
    values, excluded = _collect(var, pairs)
    levels = var.levels
    index = {level: i for i, level in enumerate(levels)}
    table = [[0] * len(levels) for _ in levels]
    for a, b in values:
        table[index[a]][index[b]] += 1
    n = len(values)
    first = {lv: sum(table[i]) for i, lv in enumerate(levels)}
    second = {lv: sum(row[j] for row in table) for j, lv in enumerate(levels)}
    worse = sum(table[i][j] for i in range(len(levels)) for j in range(len(levels)) if j > i)
    better = sum(table[i][j] for i in range(len(levels)) for j in range(len(levels)) if j < i)
    return {
        "id": var.id, "label": var.label, "source": var.source, "n": n,
        "excluded": excluded, "levels": levels, "transitions": table,
        "first": {lv: {"count": c, "percent": percent(c, n)} for lv, c in first.items()},
        "second": {lv: {"count": c, "percent": percent(c, n)} for lv, c in second.items()},
        "percent_change": {lv: percent_change(first[lv], second[lv]) for lv in levels},
        "moved_worse": worse, "moved_better": better, "same": n - worse - better,
    }


def numeric_result(var: Var, pairs: list[tuple[dict, dict]]) -> dict[str, Any]:
    values, excluded = _collect(var, pairs)
    changes = [b - a for a, b in values]
    n = len(values)
    return {
        "id": var.id, "label": var.label, "source": var.source, "n": n,
        "excluded": excluded,
        "mean_first": _round(statistics.fmean(a for a, _ in values)) if n else None,
        "mean_second": _round(statistics.fmean(b for _, b in values)) if n else None,
        "mean_change": _round(statistics.fmean(changes)) if n else None,
        "median_change": _round(statistics.median(changes)) if n else None,
        "wilcoxon": wilcoxon(changes) if n else {"statistic": None, "p": None, "nonzero": 0},
        "changes": changes,
    }


def _round(value: float) -> float:
    return round(value, 4)


def analyse_pairs(variables_: list[Var], pairs: list[tuple[dict, dict]]) -> dict[str, Any]:
    out: dict[str, Any] = {"paired": len(pairs), "binary": [], "ordinal": [], "numeric": []}
    for var in variables_:
        if var.kind == "binary":
            out["binary"].append(binary_result(var, pairs))
        elif var.kind == "ordinal":
            out["ordinal"].append(ordinal_result(var, pairs))
        else:
            out["numeric"].append(numeric_result(var, pairs))
    return out


def paired(store: Store, instrument_id: str, first: str, second: str,
           group: str | None = None) -> dict[str, Any]:
    """The whole paired analysis as plain data (see the module docstring)."""
    inst = store.engine.instruments.get(instrument_id)
    for occ in (first, second):
        if occ not in inst.occasions and occ != "after_incident":
            raise FormsEngineError(f"instrument {inst.id} is not used at occasion {occ!r} "
                                   f"(occasions: {', '.join(inst.occasions)})")
    a = load_occasion(store, inst.id, first)
    b = load_occasion(store, inst.id, second)
    people = sorted(set(a) & set(b))
    vars_ = variables(store, inst)
    result: dict[str, Any] = {
        "instrument": {"id": inst.id, "version": inst.version, "title": inst.title},
        "first": first, "second": second,
        "people": {"at_first": len(a), "at_second": len(b), "paired": len(people),
                   "only_first": len(set(a) - set(b)), "only_second": len(set(b) - set(a))},
        "group": None, "groups": {}, "differences": [],
    }
    all_pairs = [(a[p], b[p]) for p in people]
    result["all"] = analyse_pairs(vars_, all_pairs)
    if group:
        from .groups import group_values

        values, spec = group_values(store, group, people)
        result["group"] = spec
        names = sorted({v for v in values.values() if v is not None}, key=str)
        result["people"]["excluded_no_group"] = sum(1 for v in values.values() if v is None)
        result["groups"] = {str(g): analyse_pairs(
            vars_, [(a[p], b[p]) for p in people if values[p] == g]) for g in names}
        from .groups import differences

        result["differences"] = differences(result["groups"])
    _drop_changes(result)
    return result


def _drop_changes(result: dict[str, Any]) -> None:
    """Raw paired changes are used for group differences only; they are not reported."""
    sections = [result["all"], *result.get("groups", {}).values()]
    for section in sections:
        for entry in section["numeric"]:
            entry.pop("changes", None)
