"""Change over time for one person and instrument: a table and the geometry of a
server-rendered SVG chart with the band cut-offs drawn. The template draws the SVG from
these numbers; no markup is built here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from ..compare import (
    band_cutoffs,
    change_sentences,
    charted_score,
    history,
    score_label,
    score_maximum,
)
from .assessment_pages import headings
from .results import band_label
from .schedule import occasion_label

if TYPE_CHECKING:
    from ..instruments import Instrument
    from ..store import Store

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 120, 20, 48


def instrument_history(store: Store, case: dict, person: dict, inst: Instrument
                       ) -> dict[str, Any]:
    data = history(store, person["ref"], inst.id)
    score_id, band = charted_score(inst, data["occasions"])
    words = headings(inst)  # the reader's language's wording pack, else the definition's
    rows = []
    for occ in data["occasions"]:
        rows.append({
            "occasion": occasion_label(occ["occasion"]),
            "date": occ["date"],
            "assessment": occ["assessment"],
            "score": occ["scores"].get(score_id) if score_id else None,
            "band": occ["bands"].get(band["id"]) if band else None,
            "level": occ["level"],
            "level_name": words.level(occ["level"]) if occ["level"] else None,
            "change": occ["change_from_first"].get(score_id) if score_id else None,
            "flags": occ["flags"],
            "criteria": occ["criteria_met"],
            "complete": occ["complete"],
        })
    cutoffs = [{**c, "label": words.level(c["band"]) or c.get("label", c["band"])}
               for c in band_cutoffs(store.engine, inst, band)]
    label = (words.score_label(score_id, score_label(inst, score_id)) if score_id
             else "") or _("Score")
    return {
        "instrument": inst, "person_role": person["role"], "rows": rows,
        "score_label": label,
        "crossings": change_sentences(inst, data,
                                      lambda v: words.level(v) or band_label(inst, v),
                                      lambda o: occasion_label(o, inst)),
        "chart": _geometry(rows, cutoffs, score_maximum(inst, score_id) if score_id else None,
                           words.title, label),
    }


def _geometry(rows, cutoffs, maximum, title, score_label) -> dict[str, Any] | None:
    values = [r["score"] for r in rows if isinstance(r["score"], (int, float))
              and not isinstance(r["score"], bool)]
    if not rows:
        return None
    top = maximum or max(values + [c["min"] for c in cutoffs] + [1]) * 1.2
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return round(TOP + plot_h - (v / top) * plot_h, 1)

    n = len(rows)
    xs = [round(LEFT + (plot_w * (i + 0.5) / n), 1) for i in range(n)]
    points = []
    for x, r in zip(xs, rows):
        v = r["score"]
        known = isinstance(v, (int, float)) and not isinstance(v, bool)
        points.append({"x": x, "y": y(v) if known else None, "value": v if known else None,
                       "label": r["occasion"]})
    lines = []
    for c in cutoffs:
        if c["min"] <= 0 or c["min"] > top:
            continue
        lowest = format(c["min"], "g")
        lines.append({"y": y(c["min"]), "label": _("%(band)s from %(min)s",
                                                    band=c.get("label", c["band"]),
                                                    min=lowest)})
    ticks = sorted({0, round(top / 2), round(top)})
    unknown = _("not known")
    described = "; ".join(f"{p['label']}: {p['value'] if p['value'] is not None else unknown}"
                          for p in points)
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": TOP + plot_h, "points": points, "cutoffs": lines,
        "path": " ".join(f"{p['x']},{p['y']}" for p in points if p["y"] is not None),
        "ticks": [{"y": y(t), "value": t} for t in ticks],
        "title": _("%(title)s: %(score)s at each occasion", title=title, score=score_label),
        "desc": _("%(score)s by occasion. %(described)s. Band cut-offs are drawn as dashed "
                  "lines. The same figures are in the table below.", score=score_label,
                  described=described),
    }
