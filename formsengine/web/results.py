"""A scored result and the answers, in plain language for the pages: labels and
explanations come from the instrument definition."""

from __future__ import annotations

from typing import Any

from .. import plainwords
from ..dates import date_text
from ..wording import item_text
from . import formbuild
from .db import get_engine


def _cutoff_lists(inst) -> list[list[dict]]:
    params = inst.default_parameters()
    out = []
    for band in inst.scoring.get("bands", []):
        raw = band["cutoffs"]
        out.append(params[raw["param"]] if isinstance(raw, dict) else raw)
    return out


def band_label(inst, value: str | None) -> str:
    if value is None:
        return "Not known"
    for cutoffs in _cutoff_lists(inst):
        for c in cutoffs:
            if c["band"] == value and c.get("label"):
                return c["label"]
    return value.replace("_", " ").capitalize()


def result_view(inst, result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result:
        return None
    scoring = inst.scoring
    score_labels = {s["id"]: s.get("label", s["id"].replace("_", " ").capitalize())
                    for s in inst.score_specs}
    scores = [{"label": score_labels.get(k, k), "value": _shown(v)}
              for k, v in (result.get("scores") or {}).items()]
    band_labels = {b["id"]: b.get("label", b["id"].replace("_", " ").capitalize())
                   for b in scoring.get("bands", [])}
    bands = [{"label": band_labels.get(k, k), "value": band_label(inst, v)}
             for k, v in (result.get("bands") or {}).items()]
    level = result.get("level")
    level_view = None
    if level:
        judgement = level.get("judgement") or {}
        level_view = {
            "computed": band_label(inst, level.get("computed")),
            "judged": band_label(inst, level["judged"]) if level.get("judged") else None,
            "final": band_label(inst, level.get("final")),
            "final_value": level.get("final"),
            "high": level.get("final") is not None and level.get("final") == scoring["level"][
                "order"][-1],
            "reason": judgement.get("reason"),
            "by": judgement.get("by"),
            "applied": judgement.get("applied"),
        }
    criteria = criteria_view(inst, result)
    groups = []
    for gid, spec in (scoring.get("criteria_groups") or {}).items():
        members = [c for c in criteria if c["group"] == gid]
        met = [c for c in members if c["status"] == "met"]
        not_known = [c for c in members if c["status"] == "not_known"]
        groups.append({"id": gid, "label": plainwords.group_heading(gid, spec, bool(met)),
                       "explanation": plain(spec.get("explanation")), "met": bool(met),
                       "met_count": len(met), "not_known_count": len(not_known),
                       "criteria": members})
    flags_raised = result.get("flags") or {}
    flag_specs = {f["id"]: f for f in scoring.get("flags", [])}
    flags = [{"id": k, "label": flag_specs.get(k, {}).get("label", k.replace("_", " ")),
              "explanation": plain(flag_specs.get(k, {}).get("explanation"))}
             for k, v in flags_raised.items() if v]
    return {
        "scores": scores, "bands": bands, "level": level_view, "criteria": criteria,
        "ungrouped": [c for c in criteria if not c["group"] or c["group"] not in
                      (scoring.get("criteria_groups") or {})],
        "groups": groups, "flags": flags, "complete": result.get("complete"),
        "warnings": plainwords.warnings(result, lambda v: band_label(inst, v)),
        "unanswered": len(result.get("unanswered_items") or []),
        "incomplete": len(result.get("incomplete_items") or {}),
        "wording": result.get("wording"),
        "configuration": (result.get("configuration") or {}).get("name"),
    }


def plain(text: str | None) -> str | None:
    return plainwords.plain(text, _instrument_ids())


def _instrument_ids() -> set[str]:
    return {i.id for i in get_engine().instruments}


def criteria_view(inst, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each criterion as met, not met, or not known (what it needs was not recorded)."""
    out = []
    for c in inst.scoring.get("criteria", []):
        status = plainwords.criterion_status(result, c["id"])
        out.append({"id": c["id"], "label": c["label"], "explanation": plain(c.get("explanation")),
                    "group": c.get("group"), "met": status == "met", "status": status,
                    "status_label": plainwords.STATUS_LABELS[status]})
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "Not known"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


NOT_KNOWN_YET = "Not known yet"


def calculated(inst, result: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Per section, the scores it shows while the assessment is completed (the section's
    ``calculated``), from a result the engine scored from the answers saved so far: each
    with its label, its value as shown, and whether it is known yet."""
    scores = (result or {}).get("scores") or {}
    labels = {s["id"]: s.get("label", s["id"].replace("_", " ").capitalize())
              for s in inst.score_specs}
    out: dict[str, list[dict[str, Any]]] = {}
    for sec in inst.definition.get("sections", []):
        for entry in sec.get("calculated", []):
            value = scores.get(entry["score"])
            out.setdefault(sec["id"], []).append({
                "score": entry["score"],
                "label": entry.get("label") or labels.get(entry["score"], entry["score"]),
                "value": NOT_KNOWN_YET if value is None else _shown(value),
                "known": value is not None})
    return out


def answer_summary(inst, data: dict[str, Any], pack) -> list[dict[str, Any]]:
    """Per section, every shown question with the answer given (or 'Not answered'); a
    question that pipes in an earlier answer shows it (``piping.py``); an answer carried
    forward from an earlier assessment has the date it was carried from (``carried``)."""
    fields = formbuild.typed_fields(inst, data.get("fields", {}))
    shown = formbuild.visible_items(inst, data["answers"], fields)
    typed, _fields = formbuild.shown_answers(inst, data)
    out = []
    if inst.fields:
        given = data.get("fields", {})
        rows = [{"question": f.label, "answer": (date_text(given.get(f.id)) if f.type == "date"
                                                 else str(given.get(f.id, ""))) or "Not given",
                 "comment": None, "source": None, "anchor": formbuild.field_name(f.id)}
                for f in inst.fields.values()]
        out.append({"id": formbuild.DETAILS, "title": "Assessment details", "rows": rows})
    for section in inst.sections:
        rows = []
        every = [(item_id, "") for item_id in section.item_ids]
        group = section.repeat
        if group is not None:  # each instance given, its questions headed "Child 2: ..."
            every += [(item_id, f"{group.label} {k}: ")
                      for k in range(1, group.count(data["answers"], data.get("comments", {}),
                                                    data.get("sources", {})) + 1)
                      for item_id in group.ids(k)]
        for item_id, prefix in every:
            if item_id not in shown:
                continue
            text = item_text(inst, item_id, pack, typed, fields)
            value = data["answers"].get(item_id)
            if value is None:
                answer = "Not answered"
            elif isinstance(value, list):
                answer = ", ".join(text["options"].get(v, v) for v in value) or "None"
            elif inst.items[item_id].type == "date":
                answer = date_text(value)
            else:
                answer = text["options"].get(value, str(value)) if text["options"] else str(value)
            carried = data.get("carried", {}).get(item_id)
            rows.append({"question": prefix + text["label"], "answer": answer,
                         "carried": date_text(carried) if carried else None,
                         "comment": data.get("comments", {}).get(item_id),
                         "source": data.get("sources", {}).get(item_id),
                         "anchor": "question-" + formbuild.answer_name(item_id)})
        out.append({"id": section.id, "title": section.title, "rows": rows})
    return out
