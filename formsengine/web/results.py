"""A scored result and the answers, in plain language for the pages: labels and
explanations come from the instrument definition."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import plainwords
from ..dates import date_text
from ..wording import Headings, item_text
from . import formbuild
from .db import get_engine


def _cutoff_lists(inst) -> list[list[dict]]:
    params = inst.default_parameters()
    out = []
    for band in inst.scoring.get("bands", []):
        raw = band["cutoffs"]
        out.append(params[raw["param"]] if isinstance(raw, dict) else raw)
    return out


def band_label(inst, value: str | None, pack=None) -> str:
    """A level's name: the wording pack's, else the definition's cut-off label (the usual
    level names in the page's language)."""
    if value is None:
        return _("Not known")
    worded = Headings(inst, pack).level(value)
    if worded:
        return worded
    for cutoffs in _cutoff_lists(inst):
        for c in cutoffs:
            if c["band"] == value and c.get("label"):
                # the usual level names in the page's language; an instrument's own as given
                return _(c["label"])
    return _(value.replace("_", " ").capitalize())


def result_view(inst, result: dict[str, Any] | None, pack=None) -> dict[str, Any] | None:
    """A result for the pages, its labels in the wording ``pack``'s words where it gives
    them (else the definition's)."""
    if not result:
        return None
    scoring = inst.scoring
    words = Headings(inst, pack)

    def level_name(value):
        return band_label(inst, value, pack)

    scores = [{"label": words.score_label(k), "value": _shown(words.score_value(k, v))}
              for k, v in (result.get("scores") or {}).items()]
    bands = [{"label": words.band_label(k), "value": level_name(v)}
             for k, v in (result.get("bands") or {}).items()]
    level = result.get("level")
    level_view = None
    if level:
        judgement = level.get("judgement") or {}
        level_view = {
            "computed": level_name(level.get("computed")),
            "judged": level_name(level["judged"]) if level.get("judged") else None,
            "final": level_name(level.get("final")),
            "final_value": level.get("final"),
            "high": level.get("final") is not None and level.get("final") == scoring["level"][
                "order"][-1],
            "reason": judgement.get("reason"),
            "by": judgement.get("by"),
            "applied": judgement.get("applied"),
        }
    criteria = criteria_view(inst, result, pack)
    groups = []
    for gid, spec in (scoring.get("criteria_groups") or {}).items():
        members = [c for c in criteria if c["group"] == gid]
        met = [c for c in members if c["status"] == "met"]
        not_known = [c for c in members if c["status"] == "not_known"]
        groups.append({"id": gid, "label": _group_heading(gid, spec, bool(met)),
                       "explanation": plain(spec.get("explanation")), "met": bool(met),
                       "met_count": len(met), "not_known_count": len(not_known),
                       "criteria": members})
    flags_raised = result.get("flags") or {}
    flags = [{"id": k, "label": words.flag(k)["label"],
              "explanation": plain(words.flag(k)["explanation"])}
             for k, v in flags_raised.items() if v]
    return {
        "scores": scores, "bands": bands, "level": level_view, "criteria": criteria,
        "ungrouped": [c for c in criteria if not c["group"] or c["group"] not in
                      (scoring.get("criteria_groups") or {})],
        "groups": groups, "flags": flags, "complete": result.get("complete"),
        "warnings": plainwords.warnings(result, level_name),
        "unanswered": len(result.get("unanswered_items") or []),
        "incomplete": len(result.get("incomplete_items") or {}),
        "wording": result.get("wording"),
        "configuration": (result.get("configuration") or {}).get("name"),
    }


def _group_heading(group_id: str, spec: dict[str, Any], met: bool) -> str:
    """``plainwords.group_heading`` in the page's language."""
    if met:
        return spec["label"]
    if group_id == "marac":
        return _("MARAC referral criteria")
    return _("Criteria: %(label)s", label=spec["label"])


def plain(text: str | None) -> str | None:
    return plainwords.plain(text, _instrument_ids())


def _instrument_ids() -> set[str]:
    return {i.id for i in get_engine().instruments}


def criteria_view(inst, result: dict[str, Any], pack=None) -> list[dict[str, Any]]:
    """Each criterion as met, not met, or not known (what it needs was not recorded)."""
    out = []
    words = Headings(inst, pack)
    for c in inst.scoring.get("criteria", []):
        status = plainwords.criterion_status(result, c["id"])
        worded = words.criterion(c["id"])
        out.append({"id": c["id"], "label": worded["label"],
                    "explanation": plain(worded["explanation"]),
                    "group": c.get("group"), "met": status == "met", "status": status,
                    "status_label": _(plainwords.STATUS_LABELS[status])})
    return out


def _shown(value: Any) -> str:
    if value is None:
        return _("Not known")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


NOT_KNOWN_YET = _l("Not known yet")


def calculated(inst, result: dict[str, Any] | None,
               pack=None) -> dict[str, list[dict[str, Any]]]:
    """Per section, the scores it shows while the assessment is completed (the section's
    ``calculated``), from a result the engine scored from the answers saved so far: each
    with its label, its value as shown, and whether it is known yet."""
    scores = (result or {}).get("scores") or {}
    words = Headings(inst, pack)
    worded = (pack.headings.get("scores", {}) if words.pack is not None else {})
    out: dict[str, list[dict[str, Any]]] = {}
    for sec in inst.definition.get("sections", []):
        for entry in sec.get("calculated", []):
            value = scores.get(entry["score"])
            out.setdefault(sec["id"], []).append({
                "score": entry["score"],
                # the pack's name for the score, else the definition's for this place
                "label": (worded[entry["score"]]["label"] if entry["score"] in worded
                          else entry.get("label") or words.score_label(entry["score"])),
                "value": str(NOT_KNOWN_YET) if value is None else _shown(value),
                "known": value is not None})
    return out


def answer_summary(inst, data: dict[str, Any], pack) -> list[dict[str, Any]]:
    """Per section, every shown question with the answer given (or 'Not answered'); a
    question that pipes in an earlier answer shows it (``piping.py``); an answer carried
    forward from an earlier assessment has the date it was carried from (``carried``)."""
    fields = formbuild.typed_fields(inst, data.get("fields", {}))
    shown = formbuild.visible_items(inst, data["answers"], fields)
    typed, _fields = formbuild.shown_answers(inst, data)
    words = Headings(inst, pack)
    out = []
    if inst.fields:
        given = data.get("fields", {})
        rows = [{"question": words.field(f.id)["label"],
                 "answer": _field_answer(f, given.get(f.id), words.field(f.id)["options"]),
                 "comment": None, "source": None, "anchor": formbuild.field_name(f.id)}
                for f in inst.fields.values()]
        out.append({"id": formbuild.DETAILS, "title": _("Assessment details"), "rows": rows})
    for section in inst.sections:
        rows = []
        every = [(item_id, "") for item_id in section.item_ids]
        group = section.repeat
        if group is not None:  # each instance given, its questions headed "Child 2: ..."
            every += [(item_id, f"{words.repeat(group)['label']} {k}: ")
                      for k in range(1, group.count(data["answers"], data.get("comments", {}),
                                                    data.get("sources", {})) + 1)
                      for item_id in group.ids(k)]
        for item_id, prefix in every:
            if item_id not in shown:
                continue
            text = item_text(inst, item_id, pack, typed, fields)
            value = data["answers"].get(item_id)
            if value is None:
                answer = _("Not answered")
            elif isinstance(value, list):
                answer = ", ".join(text["options"].get(v, v) for v in value) or _("None")
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
        out.append({"id": section.id, "title": words.section_title(section.id), "rows": rows})
    return out


def _field_answer(f, value: Any, options: dict[str, str]) -> str:
    """A field's recorded value as shown: a date as people read it, an option by its label
    (in the wording shown), else as recorded."""
    if f.type == "date":
        return date_text(value) or _("Not given")
    if value is None or value == "":
        return _("Not given")
    return options.get(str(value), str(value))
