"""The researcher's page: what data exist, as counts only.

Researchers see no case content. This page shows, for each instrument and occasion, how many
people have a final assessment, so that an export can be planned; counts below the research
export's default k are shown as "fewer than k" and no totals are given (a total could give a
hidden count away). The export itself is made with ``formsengine export research`` by whoever
holds the project's pseudonymisation key (docs/research.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, render_template

from ..store.caseviews import final_assessment_counts
from . import access
from .db import get_engine
from .schedule import occasion_label

if TYPE_CHECKING:
    from ..engine import Engine
    from ..store import Store

bp = Blueprint("research", __name__)


def summary(store: Store, engine: Engine, small: int) -> list[dict]:
    """One row per instrument with final assessments: its title and, per occasion, the number
    of people (None where fewer than ``small``)."""
    rows = final_assessment_counts(store)
    titles = {i.id: i.title for i in engine.instruments}
    table: dict[str, dict] = {}
    for r in rows:
        entry = table.setdefault(r["instrument_id"], {
            "id": r["instrument_id"], "title": titles.get(r["instrument_id"], r["instrument_id"]),
            "counts": {}})
        entry["counts"][r["occasion"]] = r["people"] if r["people"] >= small else None
    return sorted(table.values(), key=lambda e: e["title"])


@bp.get("/research")
@access.roles_required("researcher", "administrator")
def index():
    from ..exports import DEFAULT_K
    rows = summary(access.store(), get_engine(), DEFAULT_K)
    occasions = sorted({o for r in rows for o in r["counts"]},
                       key=lambda o: (occasion_label(o), o))
    access.audit_view("research_summary", None)
    return render_template("research/index.html", rows=rows, small=DEFAULT_K,
                           occasions=[(o, occasion_label(o)) for o in occasions])
