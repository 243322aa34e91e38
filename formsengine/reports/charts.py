"""Change charts for the case progress report: the geometry of an SVG line chart of one
score across occasions, with the band cut-offs drawn as shaded bands. The template draws
the SVG from these numbers (``templates/_chart.html``); no markup is built here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compare import band_cutoffs, charted_score, score_label, score_maximum
from ..i18n import gettext as _

if TYPE_CHECKING:
    from ..instruments import Instrument
    from ..store import Store
    from ..wording import Headings

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 16, 40
SHADES = ["#ffffff", "#f3f2f1", "#fff2d6", "#f6d7d2", "#eed2d0"]


def chart_for(store: Store, inst: Instrument, data: dict[str, Any],
              words: Headings) -> dict[str, Any] | None:
    """The chart's geometry, its words in the report's language and the instrument's
    headings in ``words`` (the wording pack's where it gives them)."""
    from .context import level_label, occasion_text

    occasions = data["occasions"]
    score_id, band = charted_score(inst, occasions)
    if score_id is None or not occasions:
        return None
    cutoffs = band_cutoffs(store.engine, inst, band)
    values = [o["scores"].get(score_id) for o in occasions]
    known = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    maximum = score_maximum(inst, score_id)
    top = float(maximum or max(known + [c["min"] for c in cutoffs] + [1]) * 1.15)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return round(TOP + plot_h - (min(v, top) / top) * plot_h, 1)

    regions = []
    for i, c in enumerate(cutoffs):
        upper = cutoffs[i + 1]["min"] if i + 1 < len(cutoffs) else top
        if c["min"] >= top:
            continue
        height = round(y(c["min"]) - y(upper), 1)
        regions.append({"y": y(upper), "height": height,
                        "fill": SHADES[min(i, len(SHADES) - 1)],
                        "label": f"{level_label(inst, c['band'], words.pack)} ({c['min']:g}+)"
                        if height >= 10 else "",
                        "label_y": round((y(upper) + y(c["min"])) / 2 + 4, 1)})
    n = len(occasions)
    points = []
    for i, (occ, v) in enumerate(zip(occasions, values)):
        x = round(LEFT + plot_w * (i + 0.5) / n, 1)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        points.append({"x": x, "y": y(v) if ok else None, "value": v if ok else None,
                       "label": occasion_text(occ["occasion"], words)})
    label = words.score_label(score_id, score_label(inst, score_id))
    unknown = _("not known")
    described = "; ".join(f"{p['label']}: {p['value'] if p['value'] is not None else unknown}"
                          for p in points)
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": TOP + plot_h, "regions": regions, "points": points,
        "path": " ".join(f"{p['x']},{p['y']}" for p in points if p["y"] is not None),
        "ticks": [{"y": y(t), "value": f"{t:g}"} for t in sorted({0, round(top / 2),
                                                                   round(top)})],
        "title": _("%(title)s: %(score)s at each occasion", title=words.title, score=label),
        "desc": _("%(score)s by occasion. %(described)s.", score=label, described=described),
    }
