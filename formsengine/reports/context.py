"""The data each report shows, read from the store: plain dicts for the templates.

Answers are shown in the wording that was shown when the assessment was completed: the
instrument's paraphrase, or the licensed wording pack recorded on the assessment (when that
pack is still installed; otherwise the paraphrase, with a note saying so).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..dates import date_text, time_text
from ..errors import StorageError
from ..i18n import gettext as _
from ..i18n import language
from ..occasions import standard_label
from ..plainwords import STATUS_LABELS, criterion_status, plain, warnings
from ..store.reading import (
    assessment_id_by_uid,
    case_people,
    case_reference,
    case_summary,
    person_by_id,
    person_final_instruments,
)
from ..wording import PARAPHRASE, Headings, item_text

if TYPE_CHECKING:
    from ..instruments import Instrument
    from ..store import Store

MISSING_KINDS = ("dont_know", "declined", "not_asked", "not_known")


def assessment_id_for(store: Store, uid: str) -> int:
    found = assessment_id_by_uid(store, uid)
    if found is None:
        raise StorageError("no assessment with that id")
    return found


def case_id_for(store: Store, uid: str) -> int:
    """The case with this uid or reference."""
    row = store.find_case(uid)
    if row is None:
        raise StorageError("no case with that id or reference")
    return row["id"]


def _wording(store: Store, inst: Instrument, ref: str) -> tuple[Any, str]:
    if not ref or ref == PARAPHRASE:
        return None, _("the instrument's own paraphrased wording")
    pack = store.engine.wording.get(ref)
    if pack is None or not pack.fits(inst):
        return None, _("licensed wording pack %(ref)s, which is not installed here: the "
                       "paraphrased wording is shown instead", ref=ref)
    return pack, _("licensed wording pack %(ref)s (%(holder)s; %(licence)s)", ref=ref,
                   holder=pack.holder, licence=pack.licence)


def _answer_text(item, text: dict[str, Any], value: Any) -> tuple[str, str]:
    """(shown answer, css class)."""
    if value is None:
        return _("Not answered"), "answer-missing"
    if item.type == "choice":
        option = item.option(value)
        css = "answer-missing" if option and option.missing else (
            "answer-yes" if value == "yes" else "")
        return text["options"].get(value, value), css
    if item.type == "multi_choice":
        return "; ".join(text["options"].get(v, v) for v in value) or _("None chosen"), ""
    if item.type == "date":
        return date_text(value), ""
    return str(value), ""


def _field_text(field, value: Any, options: dict[str, str] | None = None) -> str:
    if value is None or value == "":
        return _("Not recorded")
    if field.type == "choice":
        labels = options if options is not None else {o.value: o.label for o in field.options}
        return labels.get(value, str(value))
    if field.type == "date":
        return date_text(value)
    return str(value)


def assessment_context(store: Store, assessment_id: int) -> dict[str, Any]:
    row = store.get_assessment(assessment_id)
    if row is None:
        raise StorageError("no assessment with that id")
    inst = store.engine.instruments.get(row["instrument_id"], row["instrument_version"])
    pack, wording_note = _wording(store, inst, row["wording"])
    words = Headings(inst, pack)  # the instrument's headings in the wording shown
    person = person_by_id(store, row["person_id"])
    case = case_reference(store, row["case_id"]) if row["case_id"] else None
    sections = []
    for section in inst.sections:
        items = []
        every = [(item_id, "") for item_id in section.item_ids]
        group = section.repeat
        if group is not None:  # each instance given, its questions headed "Child 2: ..."
            every += [(item_id, f"{words.repeat(group)['label']} {k}: ")
                      for k in range(1, group.count(row["answers"], row["comments"],
                                                    row["sources"]) + 1)
                      for item_id in group.ids(k)]
        for item_id, prefix in every:
            item = inst.items[item_id]
            value = row["answers"].get(item_id)
            if value is None and item.show_when is not None:
                continue  # a follow-up question that was not asked
            text = item_text(inst, item_id, pack)
            shown, css = _answer_text(item, text, value)
            items.append({"id": item_id, "label": prefix + text["label"], "answer": shown,
                          "css": css,
                          "comment": row["comments"].get(item_id),
                          "source": row["sources"].get(item_id),
                          "carried": date_text(row["carried"][item_id])
                          if item_id in row.get("carried", {}) else None})
        sections.append({"title": words.section_title(section.id), "items": items})
    fields = [{"label": words.field(f.id)["label"],
               "value": _field_text(f, row["fields"].get(f.id), words.field(f.id)["options"])}
              for f in inst.fields.values()]
    return {
        "assessment": row, "instrument": inst, "instrument_title": words.title,
        "person": person, "case": case,
        "sections": sections, "fields": fields, "wording_note": wording_note,
        "result": result_context(inst, row.get("result"),
                                 {i.id for i in store.engine.instruments}, pack),
        "recorded": {"created": time_text(row["created_at"]),
                     "finalised": time_text(row.get("finalised_at"))},
        "occasion": occasion_text(row["occasion"]),
    }


def occasion_text(occasion: str | None) -> str:
    """An occasion as words ("after incident"); in Welsh, the standard occasion's name."""
    if language() != "en" and occasion:
        return _(standard_label(occasion))
    return (occasion or "").replace("_", " ")


def level_label(inst: Instrument, value: str | None, pack: Any = None) -> str:
    """A level or band by the label the wording pack gives it, else its definition's ("No
    risk factors identified")."""
    if value is None:
        return _("not known")
    worded = Headings(inst, pack).level(value)
    if worded:
        return worded
    params = inst.default_parameters()
    for band in inst.scoring.get("bands", []):
        raw = band["cutoffs"]
        for c in params[raw["param"]] if isinstance(raw, dict) else raw:
            if c["band"] == value and c.get("label"):
                return _(c["label"])  # the usual level names in the report's language
    return _(value.replace("_", " "))


def result_context(inst: Instrument, result: dict[str, Any] | None,
                   instrument_ids: Any = (), pack: Any = None) -> dict[str, Any] | None:
    """A result for the reports, its labels in the wording ``pack``'s words where it gives
    them (else the definition's)."""
    if not result:
        return None
    scoring = inst.scoring
    words = Headings(inst, pack)
    # a declared score or band without a label is shown by its id, as the exports name it
    labels = {s["id"]: s.get("label", s["id"]) for s in inst.score_specs}
    labels.update(words.worded("scores"))
    band_labels = {b["id"]: b.get("label", b["id"]) for b in scoring.get("bands", [])}
    band_labels.update(words.worded("bands"))
    criteria = {c["id"]: c for c in scoring.get("criteria", [])}

    def level_name(value):
        return level_label(inst, value, pack)

    groups = []
    for gid, spec in scoring.get("criteria_groups", {}).items():
        members = [c for c in scoring.get("criteria", []) if c.get("group") == gid]
        rows = []
        for c in members:
            status = criterion_status(result, c["id"])
            worded = words.criterion(c["id"])
            rows.append({"label": worded["label"],
                         "explanation": plain(worded["explanation"], instrument_ids),
                         "met": status == "met", "status": _(STATUS_LABELS[status])})
        met = any(r["met"] for r in rows)
        groups.append({
            "id": gid, "label": _group_heading(gid, spec, met),
            "explanation": plain(spec.get("explanation"), instrument_ids),
            "met": met, "criteria": rows})
    level = result.get("level")
    return {
        "complete": result.get("complete"),
        "scores": [{"label": labels.get(k, k), "value": words.score_value(k, v)}
                   for k, v in (result.get("scores") or {}).items()],
        "bands": [{"label": band_labels.get(k, k),
                   "value": level_name(v) if v is not None else None}
                  for k, v in (result.get("bands") or {}).items()],
        "level": level,
        "level_labels": {k: level_name((level or {}).get(k))
                         for k in ("final", "computed", "judged")},
        "flags": [{"label": words.flag(k)["label"],
                   "explanation": plain(words.flag(k)["explanation"], instrument_ids)}
                  for k, v in (result.get("flags") or {}).items() if v],
        "criteria_groups": groups,
        "other_criteria": [{"label": words.criterion(k)["label"], "met": bool(v)}
                           for k, v in (result.get("criteria") or {}).items()
                           if k in criteria and not criteria[k].get("group")],
        "warnings": warnings(result, level_name),
        "scorer": result.get("scorer"), "configuration": result.get("configuration"),
        "wording": result.get("wording"),
    }


def _group_heading(group_id: str, spec: dict[str, Any], met: bool) -> str:
    """``plainwords.group_heading`` in the report's language."""
    if met:
        return spec["label"]
    if group_id == "marac":
        return _("MARAC referral criteria")
    return _("Criteria: %(label)s", label=spec["label"])


def has_marac(inst: Instrument) -> bool:
    return "marac" in inst.scoring.get("criteria_groups", {})


def marac_context(store: Store, assessment_id: int) -> dict[str, Any]:
    context = assessment_context(store, assessment_id)
    inst = context["instrument"]
    if not has_marac(inst):
        raise StorageError(f"instrument {inst.id} has no MARAC criteria: a MARAC referral "
                           "summary needs a DASH-type assessment")
    result = context["result"] or {}
    context["marac"] = next((g for g in result.get("criteria_groups", [])
                             if g["id"] == "marac"), None)
    context["yes_items"] = [i for s in context["sections"] for i in s["items"]
                            if i["css"] == "answer-yes"]
    context["not_known_items"] = [i for s in context["sections"] for i in s["items"]
                                  if i["css"] == "answer-missing"]
    return context


def case_context(store: Store, case_id: int) -> dict[str, Any]:
    from ..compare import history
    from .charts import chart_for

    case = case_summary(store, case_id)
    if case is None:
        raise StorageError("no case with that id")
    case["schedule"] = json.loads(case["schedule"] or "[]")
    people = case_people(store, case_id)
    blocks = []
    for person in people:
        for inst_id in person_final_instruments(store, person["id"]):
            if inst_id not in store.engine.instruments:
                continue
            inst = store.engine.instruments.get(inst_id)
            data = history(store, person["ref"], inst_id)
            blocks.append({"person": person, "instrument": inst, "history": data,
                           "chart": chart_for(store, inst, data),
                           "columns": _history_columns(inst, data),
                           "words": _history_words(inst, data)})
    return {"case": case, "people": people, "blocks": blocks}


def _history_words(inst: Instrument, data: dict[str, Any]) -> dict[str, Any]:
    """Per occasion its level, flags and criteria met by their labels, and each change of
    level or band in words."""
    from ..compare import change_sentences

    flags = {f["id"]: f.get("label", f["id"]) for f in inst.scoring.get("flags", [])}
    criteria = {c["id"]: c.get("label", c["id"]).split(":")[0]
                for c in inst.scoring.get("criteria", [])}
    rows = [{"occasion": occasion_text(o["occasion"]), "level": level_label(inst, o["level"])
             if o["level"] else "",
             "flags": [flags.get(f, f.replace("_", " ")) for f in o["flags"]],
             "criteria": [criteria.get(c, c.replace("_", " ")) for c in o["criteria_met"]]}
            for o in data["occasions"]]
    changes = change_sentences(inst, data, lambda v: level_label(inst, v), occasion_text)
    return {"rows": rows, "changes": changes}


def _history_columns(inst: Instrument, data: dict[str, Any]) -> list[dict[str, str]]:
    """The score charted (the one the level is based on), or else the first two numeric
    scores, with their labels."""
    from ..compare import charted_score, score_label

    score_id, _ = charted_score(inst, data["occasions"])
    names: list[str] = [score_id] if score_id else []
    for occ in data["occasions"]:
        for k, v in occ["scores"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in names:
                names.append(k)
    return [{"id": n, "label": score_label(inst, n)} for n in names[:1 if score_id else 2]]
