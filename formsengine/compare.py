"""Change over time: one person's scores on one instrument at each occasion.

For every final (current-version) assessment, in date order: the numeric scores, bands and
level; the change of each numeric score from the first occasion; band and level transitions
between consecutive occasions; and threshold crossings in plain words ("crossed into high at
review_3m", "fell to standard at closure").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import StorageError
from .store.reading import final_history

if TYPE_CHECKING:
    from .engine import Engine
    from .instruments import Instrument
    from .store import Store


def history(store: Store, person_ref: str, instrument_id: str) -> dict[str, Any]:
    person = store.get_person(person_ref)
    if person is None:
        raise StorageError(f"no person with reference {person_ref!r}")
    store.engine.instruments.get(instrument_id)  # clear error for an unknown instrument
    rows = final_history(store, person["id"], instrument_id)
    return build_history(store, person_ref, instrument_id, rows)


def _order_for(store: Store, instrument_id: str, version: str) -> dict[str, list[str]]:
    """Band order per band id, from the level order or the cut-off order."""
    inst = store.engine.instruments.get(instrument_id, version)
    orders: dict[str, list[str]] = {}
    params = inst.default_parameters()
    for band in inst.scoring.get("bands", []):
        cut = band["cutoffs"]
        if isinstance(cut, dict):
            cut = params[cut["param"]]
        orders[band["id"]] = [c["band"] for c in cut]
    level = inst.scoring.get("level")
    if level:
        orders["__level__"] = list(level["order"])
    return orders


def build_history(store: Store, person_ref: str, instrument_id: str,
                  rows: list[dict[str, Any]]) -> dict[str, Any]:
    occasions = []
    for r in rows:
        result = json.loads(r["result"])
        occasions.append({
            "occasion": r["occasion"],
            "date": r["assessment_date"],
            "assessment": r["uid"],
            "instrument_version": r["instrument_version"],
            "complete": result.get("complete"),
            "scores": result.get("scores", {}),
            "bands": result.get("bands", {}),
            "level": (result.get("level") or {}).get("final"),
            "flags": sorted(k for k, v in (result.get("flags") or {}).items() if v),
            "criteria_met": sorted(k for k, v in (result.get("criteria") or {}).items() if v),
            "configuration": result.get("configuration", {}).get("hash"),
        })
    first = occasions[0]["scores"] if occasions else {}
    for occ in occasions:
        occ["change_from_first"] = {
            name: value - first[name]
            for name, value in occ["scores"].items()
            if _number(value) and _number(first.get(name))
        }
    transitions = []
    changes = []  # the transitions with their direction, for change_sentences
    crossings = []
    orders = _order_for(store, instrument_id, rows[-1]["instrument_version"]) if rows else {}
    for before, after in zip(occasions, occasions[1:]):
        pairs = [(b, before["bands"].get(b), after["bands"].get(b)) for b in after["bands"]]
        pairs.append(("__level__", before["level"], after["level"]))
        for name, old, new in pairs:
            if old == new or name not in orders:
                continue
            label = "level" if name == "__level__" else name
            order = orders[name]
            transitions.append({"what": label, "from": old, "to": new,
                                "from_occasion": before["occasion"],
                                "to_occasion": after["occasion"]})
            rising = old in order and new in order and order.index(new) > order.index(old)
            changes.append({"what": label, "from": old, "to": new,
                            "from_occasion": before["occasion"],
                            "to_occasion": after["occasion"],
                            "direction": None if old not in order or new not in order
                            else "up" if rising else "down"})
            if old in order and new in order:
                crossings.append(
                    f"{label}: {'crossed into' if rising else 'fell to'} {new} at "
                    f"{after['occasion']} (from {old} at {before['occasion']})")
            else:
                crossings.append(f"{label}: {old or 'not known'} to {new or 'not known'} at "
                                 f"{after['occasion']}")
    flag_labels = {}
    if rows:
        inst = store.engine.instruments.get(instrument_id, rows[-1]["instrument_version"])
        flag_labels = {f["id"]: f["label"] for f in inst.scoring.get("flags", [])}
    return {
        "person": person_ref,
        "instrument": instrument_id,
        "flag_labels": {f: flag_labels.get(f, f) for occ in occasions for f in occ["flags"]},
        "occasions": occasions,
        "transitions": transitions,
        "changes": changes,
        "crossings": crossings,
    }


def change_sentences(inst: Any, data: dict[str, Any], level_label: Callable[[str | None], str],
                     occasion_label: Callable[[str], str]) -> list[str]:
    """Each change of level or band in ``data`` (``history()``) as a sentence in the language
    being written (a page's or a report's), with the definition's labels: "Risk level: fell to
    Standard at Review at 3 months (from High at Intake)". ``crossings`` keeps the
    identifiers and English the command line prints."""
    from .i18n import gettext

    bands = {b["id"]: b.get("label", b["id"]) for b in inst.scoring.get("bands", [])}
    out = []
    for c in data.get("changes", []):
        values = {"what": gettext("Risk level") if c["what"] == "level"
                  else bands.get(c["what"], c["what"]),
                  "old": level_label(c["from"]), "new": level_label(c["to"]),
                  "previous": occasion_label(c["from_occasion"]),
                  "occasion": occasion_label(c["to_occasion"])}
        if c["direction"] == "up":
            out.append(gettext("%(what)s: crossed into %(new)s at %(occasion)s (from %(old)s at "
                               "%(previous)s)", **values))
        elif c["direction"] == "down":
            out.append(gettext("%(what)s: fell to %(new)s at %(occasion)s (from %(old)s at "
                               "%(previous)s)", **values))
        else:
            out.append(gettext("%(what)s: %(old)s at %(previous)s, then %(new)s at %(occasion)s",
                               **values))
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- which score a change chart shows (shared by the web pages and the PDF reports) ---------
def charted_score(inst: Any, occasions: Any = ()) -> tuple[str | None, dict | None]:
    """The score the risk level is based on (or the first banded score, or the first count or
    sum) and its band definition. An instrument scored by a plugin's own Python (its
    definition declares no scores) charts the first score its results give as a number,
    from ``occasions`` (``history()["occasions"]``). (None, None) when nothing numeric can be
    charted."""
    scoring = inst.scoring
    bands = scoring.get("bands", [])
    level = scoring.get("level")
    band = next((b for b in bands if level and b["id"] == level["band"]), None) or (
        bands[0] if bands else None)
    if band:
        return band["score"], band
    spec = next((s for s in scoring.get("scores", []) if s["type"] in ("count", "sum")), None)
    if spec:
        return spec["id"], None
    if not scoring.get("scores"):
        for occ in occasions:
            for name, value in occ.get("scores", {}).items():
                if _number(value):
                    return name, None
    return None, None


def score_label(inst: Any, score_id: str | None) -> str:
    """A score's label: the definition's, or for a score a plugin computes, its id in
    words ('total' -> 'Total')."""
    if score_id is None:
        return ""
    for spec in getattr(inst, "score_specs", inst.scoring.get("scores", [])):
        if spec["id"] == score_id:
            return spec.get("label", score_id)
    return score_id.replace("_", " ").capitalize()


def band_cutoffs(engine: Engine, inst: Instrument, band: dict | None
                 ) -> list[dict[str, Any]]:
    """A band's cut-offs as they apply here: the organisation's configuration included."""
    if not band:
        return []
    raw = band["cutoffs"]
    return engine.parameters_for(inst)[raw["param"]] if isinstance(raw, dict) else raw


def score_maximum(inst: Any, score_id: str) -> int | None:
    """The highest value a count of answers can take (its number of items), else None."""
    spec = next((s for s in getattr(inst, "score_specs", inst.scoring.get("scores", []))
                 if s["id"] == score_id), None)
    if spec and spec["type"] == "count" and "values" in spec:
        return len(inst.item_set(spec["items"]))
    return None
