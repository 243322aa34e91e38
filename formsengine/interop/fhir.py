"""FHIR R4 Questionnaire (an instrument definition) and QuestionnaireResponse (a stored
assessment).

The resources use only elements that are the same in FHIR R4 (4.0.1) and R4B (4.3.0). They
are validated with ``fhir.resources``, whose 8.x releases carry R5 at the top level and R4B
in ``fhir.resources.R4B`` (there is no separate R4 module): ``validate`` uses R4B.

Mapping:

* each section is a ``group`` item; each item keeps its id as ``linkId``; choice items become
  ``choice`` items whose options are codings in a code system named after the instrument
  (multiple-choice items repeat); not-known options stay distinct codes, never "no";
* a ``show_when`` that tests one answer becomes ``enableWhen``; other conditions are noted
  in the item's extension-free ``text`` as "(asked only when ...)" and left to the form;
* items that take a comment get a ``<id>.comment`` text child;
* non-item fields are a ``fields`` group; the scored result is a read-only ``result`` group
  (scores, bands, level, flags, criteria), filled in the response from the stored score,
  which the server computed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import StorageError

if TYPE_CHECKING:
    from ..instruments import Instrument
    from ..store import Store

BASE = "urn:formsengine"
TYPES = {"choice": "choice", "multi_choice": "choice", "integer": "integer",
         "number": "decimal", "date": "date", "text": "text"}
STATUS = {"draft": "in-progress", "final": "completed", "superseded": "completed"}


def canonical(inst: Instrument) -> str:
    return f"{BASE}:questionnaire:{inst.id}"


def codesystem(inst: Instrument) -> str:
    return f"{BASE}:codesystem:{inst.id}"


def _coding(inst: Instrument, option) -> dict[str, Any]:
    return {"system": codesystem(inst), "code": option.value, "display": option.label}


def _enable_when(inst: Instrument, cond: dict | None) -> tuple[list[dict], str | None]:
    if not cond:
        return [], None
    if "item" in cond and "equals" in cond and isinstance(cond["equals"], str):
        target = inst.items.get(cond["item"])
        option = target.option(cond["equals"]) if target else None
        if option is not None:
            return [{"question": cond["item"], "operator": "=",
                     "answerCoding": _coding(inst, option)}], None
    return [], json.dumps(cond, separators=(",", ":"))


def _question(inst: Instrument, spec, link_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": spec.label, "type": TYPES[spec.type],
                            "required": bool(spec.required)}
    if spec.type in ("choice", "multi_choice"):
        item["answerOption"] = [{"valueCoding": _coding(inst, o)} for o in spec.options]
    if spec.type == "multi_choice":
        item["repeats"] = True
    if getattr(spec, "max_length", None) and spec.type == "text":
        item["maxLength"] = int(spec.max_length)
    return item


def questionnaire(inst: Instrument) -> dict[str, Any]:
    groups = []
    for section in inst.sections:
        children = []
        for item_id in section.item_ids:
            spec = inst.items[item_id]
            item = _question(inst, spec, item_id)
            enable, note = _enable_when(inst, spec.show_when)
            if enable:
                item["enableWhen"] = enable
                item["required"] = False
            elif note:
                item["text"] += f" (asked only when {note})"
                item["required"] = False
            if spec.comment:
                item["item"] = [{"linkId": f"{item_id}.comment", "text": "Comment",
                                 "type": "text", "required": False}]
            children.append(item)
        groups.append({"linkId": section.id, "text": section.title, "type": "group",
                       "item": children})
    if inst.fields:
        groups.append({"linkId": "fields", "text": "Other information", "type": "group",
                       "item": [_question(inst, f, f"field.{f.id}")
                                for f in inst.fields.values()]})
    result = _result_items(inst)
    if result:
        groups.append({"linkId": "result", "text": "Result (computed on the server)",
                       "type": "group", "readOnly": True, "item": result})
    return {
        "resourceType": "Questionnaire", "id": inst.id, "url": canonical(inst),
        "version": inst.version, "name": inst.id.replace("-", "_"), "title": inst.title,
        "status": "active", "subjectType": ["Patient"],
        "description": inst.definition.get("description") or inst.title,
        "copyright": inst.definition["licence"][:2000],
        "publisher": f"formsengine {__version__}, plugin {inst.plugin} {inst.plugin_version}",
        "item": groups,
    }


def _result_items(inst: Instrument) -> list[dict[str, Any]]:
    scoring = inst.scoring
    items = []
    for spec in scoring.get("scores", []):
        kind = {"indicator": "boolean", "count": "integer", "sum": "decimal"}.get(
            spec["type"], "string")
        items.append({"linkId": f"score.{spec['id']}", "text": spec.get("label", spec["id"]),
                      "type": kind, "readOnly": True})
    for band in scoring.get("bands", []):
        items.append({"linkId": f"band.{band['id']}", "text": band.get("label", band["id"]),
                      "type": "string", "readOnly": True})
    if scoring.get("level"):
        items.append({"linkId": "level.final", "text": "Final risk level", "type": "string",
                      "readOnly": True})
    for kind, key in (("flag", "flags"), ("criterion", "criteria")):
        for spec in scoring.get(key, []):
            items.append({"linkId": f"{kind}.{spec['id']}", "text": spec["label"],
                          "type": "boolean", "readOnly": True})
    return items


def _answers(inst: Instrument, spec, value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if spec.type in ("choice", "multi_choice"):
        values = value if isinstance(value, list) else [value]
        options = {o.value: o for o in spec.options}
        return [{"valueCoding": _coding(inst, options[v])} for v in values if v in options]
    if spec.type == "integer":
        return [{"valueInteger": int(value)}]
    if spec.type == "number":
        return [{"valueDecimal": value}]
    if spec.type == "date":
        return [{"valueDate": str(value)}]
    return [{"valueString": str(value)}]


def _result_answer(kind: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if kind == "boolean":
        return [{"valueBoolean": bool(value)}]
    if kind == "integer":
        return [{"valueInteger": int(value)}]
    if kind == "decimal":
        return [{"valueDecimal": value}]
    return [{"valueString": str(value)}]


def questionnaire_response(store: Store, assessment_id: int) -> dict[str, Any]:
    row = store.get_assessment(assessment_id)
    if row is None:
        raise StorageError("no assessment with that id")
    inst = store.engine.instruments.get(row["instrument_id"], row["instrument_version"])
    person = store.one("SELECT ref FROM people WHERE id = ?", [row["person_id"]])
    groups = []
    for section in inst.sections:
        children = []
        for item_id in section.item_ids:
            spec = inst.items[item_id]
            answers = _answers(inst, spec, row["answers"].get(item_id))
            comment = row["comments"].get(item_id)
            if not answers and not comment:
                continue
            entry: dict[str, Any] = {"linkId": item_id, "text": spec.label}
            if answers:
                entry["answer"] = answers
            if comment:
                entry["item"] = [{"linkId": f"{item_id}.comment",
                                  "answer": [{"valueString": comment}]}]
            children.append(entry)
        if children:
            groups.append({"linkId": section.id, "text": section.title, "item": children})
    fields = [{"linkId": f"field.{f.id}", "answer": _answers(inst, f, row["fields"].get(f.id))}
              for f in inst.fields.values() if row["fields"].get(f.id) not in (None, "")]
    if fields:
        groups.append({"linkId": "fields", "item": fields})
    result = row.get("result") or {}
    if result:
        values = {f"score.{k}": v for k, v in (result.get("scores") or {}).items()}
        values.update({f"band.{k}": v for k, v in (result.get("bands") or {}).items()})
        values["level.final"] = (result.get("level") or {}).get("final")
        values.update({f"flag.{k}": v for k, v in (result.get("flags") or {}).items()})
        values.update({f"criterion.{k}": v for k, v in (result.get("criteria") or {}).items()})
        items = [{"linkId": q["linkId"], "answer": _result_answer(q["type"],
                                                                  values.get(q["linkId"]))}
                 for q in _result_items(inst) if values.get(q["linkId"]) is not None]
        if items:
            groups.append({"linkId": "result", "item": items})
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse", "id": fhir_id(row["uid"]),
        "identifier": {"system": f"{BASE}:assessment", "value": row["uid"]},
        "questionnaire": f"{canonical(inst)}|{inst.version}",
        "status": "amended" if row["status"] == "final" and row["version_no"] > 1
        else STATUS[row["status"]],
        "subject": {"identifier": {"system": f"{BASE}:person", "value": person["ref"]}},
        "authored": _instant(row["finalised_at"] or row["created_at"]),
        "item": groups,
    }
    if row["status"] == "superseded":
        response["meta"] = {"tag": [{"system": f"{BASE}:status", "code": "superseded",
                                     "display": "replaced by an amended version"}]}
    if row["assessor"]:
        response["author"] = {"display": row["assessor"]}
    return response


def fhir_id(uid: str) -> str:
    """An opaque uid (URL-safe base64) as a FHIR id, which allows no '_': '_' becomes '.',
    which the uid alphabet does not use, so the mapping can be reversed."""
    return uid.replace("_", ".")


def _instant(value: str) -> str:
    """Stored UTC times as FHIR dateTime (seconds precision is enough)."""
    return value[:19] + "Z" if value and len(value) >= 19 else value


def validate(resource: dict[str, Any]) -> Any:
    """Parse the resource with fhir.resources (R4B models); raises on any problem."""
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    model = {"Questionnaire": Questionnaire,
             "QuestionnaireResponse": QuestionnaireResponse}[resource["resourceType"]]
    return model.model_validate(resource)
