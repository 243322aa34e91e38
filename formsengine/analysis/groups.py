"""Grouping people for paired comparisons, and the differences between groups.

A grouping variable names an answer or a result of any instrument:

* ``INSTRUMENT:ITEM`` (for example ``drive-closure:drive_closure.direct_contact``),
* ``INSTRUMENT:SCORE`` (for example ``drive-closure:direct_contact``),
* or a bare item id when only one instrument has that item.

Each person's group is the value in their latest final assessment of that instrument. A
person whose value is not known is left out of the grouped results (and counted).
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from ..errors import FormsEngineError
from ..store.reading import final_answer_by_person, final_score_by_person
from .stats import fisher, percent

if TYPE_CHECKING:
    from ..store import Store


def resolve_group(store: Store, spec: str) -> tuple[str, str, str]:
    """(instrument id, 'item' or 'score', id) named by a grouping variable."""
    engine = store.engine
    if ":" in spec:
        inst_id, name = spec.split(":", 1)
        inst = engine.instruments.get(inst_id)
        if name in inst.items:
            return inst.id, "item", name
        if any(s["id"] == name for s in inst.score_specs):
            return inst.id, "score", name
        raise FormsEngineError(f"grouping variable {spec!r}: {inst.id} has no item or score "
                               f"{name!r}")
    owners = sorted({i.id for i in engine.instruments if spec in i.items})
    if len(owners) == 1:
        return owners[0], "item", spec
    if not owners:
        raise FormsEngineError(f"grouping variable {spec!r}: no instrument has this item; "
                               "name it as INSTRUMENT:ITEM or INSTRUMENT:SCORE")
    raise FormsEngineError(f"grouping variable {spec!r} is an item of {', '.join(owners)}; "
                           "name it as INSTRUMENT:ITEM")


def group_values(store: Store, spec: str, people: list[int]
                 ) -> tuple[dict[int, str | None], dict[str, str]]:
    inst_id, what, name = resolve_group(store, spec)
    inst = store.engine.instruments.get(inst_id)
    missing = set()
    if what == "item":
        missing = {o.value for o in inst.items[name].options if o.missing}
        found = final_answer_by_person(store, inst_id, name)
    else:
        found = final_score_by_person(store, inst_id, name)
    latest: dict[int, Any] = {}
    for person, value in found:  # in date order: each person's latest is kept
        latest[person] = value
    values: dict[int, str | None] = {}
    for person in people:
        raw = latest.get(person)
        if what == "item" and raw is not None:
            raw = json.loads(raw)
            raw = None if raw in missing or not isinstance(raw, str) else raw
        elif isinstance(raw, float):
            raw = {1.0: "yes", 0.0: "no"}.get(raw, f"{raw:g}")
        values[person] = raw
    return values, {"spec": spec, "instrument": inst_id, "source": what, "id": name}


def differences(groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For every pair of groups: the difference in proportions (percentage points, first
    group minus second) with Fisher's exact test, and the difference in mean change."""
    out = []
    for g1, g2 in itertools.combinations(sorted(groups), 2):
        a, b = groups[g1], groups[g2]
        entry: dict[str, Any] = {"groups": [g1, g2], "binary": [], "ordinal": [],
                                 "numeric": []}
        for x, y in zip(a["binary"], b["binary"]):
            entry["binary"].append({
                "id": x["id"], "label": x["label"],
                "yes_at_second": _share(x["second"]["yes"], x["n"], y["second"]["yes"],
                                        y["n"]),
                "stopped": _share(x["table"]["yes_no"], x["first"]["yes"],
                                  y["table"]["yes_no"], y["first"]["yes"]),
            })
        for x, y in zip(a["ordinal"], b["ordinal"]):
            entry["ordinal"].append({
                "id": x["id"], "label": x["label"],
                "moved_better": _share(x["moved_better"], x["n"], y["moved_better"], y["n"]),
                "moved_worse": _share(x["moved_worse"], x["n"], y["moved_worse"], y["n"]),
                "at_second": {lv: _share(x["second"][lv]["count"], x["n"],
                                         y["second"][lv]["count"], y["n"])
                              for lv in x["levels"]},
            })
        for x, y in zip(a["numeric"], b["numeric"]):
            entry["numeric"].append(_mean_difference(x, y))
        out.append(entry)
    return out


def _share(k1: int, n1: int, k2: int, n2: int) -> dict[str, Any]:
    p1, p2 = percent(k1, n1), percent(k2, n2)
    diff = None if p1 is None or p2 is None else round(p1 - p2, 1)
    p = fisher([[k1, n1 - k1], [k2, n2 - k2]]) if n1 and n2 else None
    return {"first_group": {"count": k1, "n": n1, "percent": p1},
            "second_group": {"count": k2, "n": n2, "percent": p2},
            "difference_points": diff, "p_fisher": p}


def _mean_difference(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu

    p = None
    if x["changes"] and y["changes"] and len(set(x["changes"] + y["changes"])) > 1:
        p = float(mannwhitneyu(x["changes"], y["changes"]).pvalue)
    diff = None
    if x["mean_change"] is not None and y["mean_change"] is not None:
        diff = round(x["mean_change"] - y["mean_change"], 4)
    return {"id": x["id"], "label": x["label"], "mean_change": [x["mean_change"],
                                                                y["mean_change"]],
            "difference": diff, "p_mann_whitney": p}
