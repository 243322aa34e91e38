"""FHIR R4 Questionnaire (an instrument definition) and QuestionnaireResponse (a stored
assessment).

The resources use only elements that are the same in FHIR R4 (4.0.1) and R4B (4.3.0). They
are validated with ``fhir.resources``, whose 8.x releases carry R5 at the top level and R4B
in ``fhir.resources.R4B`` (there is no separate R4 module): ``validate`` uses R4B.

Mapping:

* each section is a ``group`` item; each item keeps its id as ``linkId``; the rows of a grid
  are gathered into a ``group`` (``linkId`` ``grid.<id>``, item control ``grid``) in the
  Questionnaire and in the response alike; choice items become
  ``choice`` items whose options are codings in a code system named after the instrument
  (multiple-choice items repeat); not-known options stay distinct codes, never "no";
* a ``show_when`` becomes ``enableWhen`` with ``enableBehavior``: tests of one answer
  (``equals``, ``in``, ``includes``, ``answered``, ``gt``/``gte``/``lt``/``lte``, ``not`` of
  one of these) and ``all``/``any`` of such tests. FHIR gives a question whose controlling
  answer is missing ``false`` for every operator but ``exists``, so a ``not`` is shown only
  once the other question is answered. A condition ``enableWhen`` cannot say (``all`` inside
  ``any``, a limit taken from a parameter) is described in words in the item's ``text`` as
  "(asked only when ...)" and left to the form;
* help text is a ``display`` child with the ``questionnaire-itemControl`` extension ``help``;
  the ``minimum`` and ``maximum`` of number items and fields are the ``minValue`` and
  ``maxValue`` extensions, as is a date's ``earliest`` or ``latest`` written as a date (a
  bound of ``today`` or of another answer is a ``targetConstraint`` in FHIRPath); a
  text's ``min_length`` and ``pattern`` are the ``minLength`` and ``regex`` extensions; an
  exclusive option carries ``questionnaire-optionExclusive``; an item of
  ``required_to_finalise`` stays ``required`` under its ``enableWhen``;
* items that take a comment get a ``<id>.comment`` text child;
* a repeating group is a ``group`` item that ``repeats`` (``minOccurs`` and ``maxOccurs``
  extensions) inside its section's group, its items with their declared ids
  (``children.age``); the response repeats it once per instance given, in order;
* an answer carried forward from the person's previous assessment (an item that says
  ``prefill``, confirmed by a person) has, on its response item, the project's extension
  ``urn:formsengine:extension:carried-forward`` whose ``valueDate`` is the date of the
  assessment it was carried from;
* non-item fields are a ``fields`` group; the scored result is a read-only ``result`` group
  (scores, bands, level, flags, criteria), filled in the response from the stored score,
  which the server computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import StorageError
from ..instance_ids import instance_item_id, same_instance, split_instance_id
from ..instruments import instance_condition
from ..store.reading import person_by_id

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


COMPARISONS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<"}
EXTENSION = "http://hl7.org/fhir/StructureDefinition"
# the project's own extension on a QuestionnaireResponse item: the answer was carried forward
# from the person's previous assessment and confirmed (valueDate: that assessment's date)
CARRIED_FORWARD = f"{BASE}:extension:carried-forward"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"


def _target(inst: Instrument, cond: dict) -> tuple[str, Any] | None:
    """(linkId, item or field) that a test of one answer is about."""
    if "item" in cond and cond["item"] in inst.items:
        return cond["item"], inst.items[cond["item"]]
    if "field" in cond and cond["field"] in inst.fields:
        return f"field.{cond['field']}", inst.fields[cond["field"]]
    return None


def _answer_value(inst: Instrument, spec, value: Any) -> dict[str, Any] | None:
    """An enableWhen ``answer[x]`` for ``value`` of ``spec``, or None if it cannot be one."""
    if isinstance(value, (dict, list)) or value is None or isinstance(value, bool):
        return None
    if spec.type in ("choice", "multi_choice"):
        option = spec.option(value) if isinstance(value, str) else None
        return {"answerCoding": _coding(inst, option)} if option else None
    if spec.type == "integer" and isinstance(value, int):
        return {"answerInteger": value}
    if spec.type == "number" and isinstance(value, (int, float)):
        return {"answerDecimal": value}
    if spec.type == "date" and isinstance(value, str):
        return {"answerDate": value}
    if spec.type == "text" and isinstance(value, str):
        return {"answerString": value}
    return None


def _one_answer(inst: Instrument, cond: dict) -> tuple[list[dict], str] | None:
    """enableWhen entries and their behaviour ('all' or 'any') for a test of one answer."""
    found = _target(inst, cond)
    if found is None:
        return None
    question, spec = found
    tests = {k: v for k, v in cond.items() if k not in ("item", "field")}
    entries: list[dict] = []
    if set(tests) == {"in"}:
        for value in tests["in"]:
            answer = _answer_value(inst, spec, value)
            if answer is None:
                return None
            entries.append({"question": question, "operator": "=", **answer})
        return entries, "any"
    for key, value in tests.items():
        if key in ("equals", "includes"):
            answer = _answer_value(inst, spec, value)
            operator = "="
        elif key == "answered" and isinstance(value, bool):
            answer, operator = {"answerBoolean": value}, "exists"
        elif key in COMPARISONS:
            answer, operator = _answer_value(inst, spec, value), COMPARISONS[key]
        else:
            return None
        if answer is None:
            return None
        entries.append({"question": question, "operator": operator, **answer})
    return (entries, "all") if entries else None


def _negated(entries: list[dict]) -> list[dict] | None:
    if len(entries) != 1:
        return None
    entry = dict(entries[0])
    if entry["operator"] == "exists":
        entry["answerBoolean"] = not entry["answerBoolean"]
        return [entry]
    flipped = {"=": "!=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
    entry["operator"] = flipped[entry["operator"]]
    return [entry]


def _simple(inst: Instrument, cond: dict) -> tuple[list[dict], str] | None:
    if "not" in cond:
        inner = _simple(inst, cond["not"])
        negated = _negated(inner[0]) if inner else None
        return (negated, "all") if negated else None
    return _one_answer(inst, cond)


def _enable_when(inst: Instrument, cond: dict | None) -> tuple[list[dict], str | None, str | None]:
    """(enableWhen entries, enableBehavior, or a description in words when enableWhen cannot
    say it)."""
    if not cond:
        return [], None, None
    for key, behaviour in (("all", "all"), ("any", "any")):
        if key in cond:
            entries: list[dict] = []
            for sub in cond[key]:
                found = _simple(inst, sub)
                if found is None or (len(found[0]) > 1 and found[1] != behaviour):
                    return [], None, describe_condition(cond)
                entries.extend(found[0])
            return entries, behaviour if len(entries) > 1 else None, None
    found = _simple(inst, cond)
    if found is None:
        return [], None, describe_condition(cond)
    entries, behaviour = found
    return entries, behaviour if len(entries) > 1 else None, None


WORDS = {"equals": "is", "includes": "includes", "gt": "is more than",
         "gte": "is at least", "lt": "is less than", "lte": "is at most"}


def _value_words(value: Any) -> str:
    if isinstance(value, dict) and "param" in value:
        return f"the parameter {value['param']}"
    return str(value)


def describe_condition(cond: dict) -> str:
    """A condition in words, for a reader of the questionnaire: 'dash.injury is yes and
    (field.incidents is at least the parameter escalation or ...)'."""
    if "all" in cond or "any" in cond:
        key = "all" if "all" in cond else "any"
        parts = [describe_condition(c) for c in cond[key]]
        joined = f" {'and' if key == 'all' else 'or'} ".join(
            f"({p})" if (" and " in p or " or " in p) else p for p in parts)
        return joined
    if "not" in cond:
        return f"not ({describe_condition(cond['not'])})"
    subject = (cond.get("item") or (f"field.{cond['field']}" if "field" in cond else None)
               or next((f"{k} {cond[k]}" for k in ("score", "band", "level", "flag")
                        if k in cond), "the answers"))
    parts = []
    for key, value in cond.items():
        if key in WORDS:
            parts.append(f"{subject} {WORDS[key]} {_value_words(value)}")
        elif key == "in":
            parts.append(f"{subject} is {' or '.join(map(_value_words, value))}")
        elif key == "answered":
            parts.append(f"{subject} is {'answered' if value else 'not answered'}")
    if "date_within" in cond:
        spec = cond["date_within"]
        parts.append(f"field.{spec['end']} is within {_value_words(spec['months'])} months "
                     f"after field.{spec['start']}")
    return " and ".join(parts) or subject


def _details(inst: Instrument, spec, item: dict[str, Any], link_id: str) -> None:
    """Help text and numeric limits, kept as FHIR says them."""
    number = {"integer": "valueInteger", "number": "valueDecimal"}.get(spec.type)
    limits = []
    for name, value in (("minValue", spec.minimum), ("maxValue", spec.maximum)):
        if number and value is not None:
            value = int(value) if number == "valueInteger" else value
            limits.append({"url": f"{EXTENSION}/{name}", number: value})
    if spec.type == "date":
        for name, bound in (("minValue", spec.earliest), ("maxValue", spec.latest)):
            if isinstance(bound, str) and bound != "today":  # a written date
                limits.append({"url": f"{EXTENSION}/{name}", "valueDate": bound})
            elif isinstance(bound, dict) and _sibling(inst, spec, bound):
                continue  # checked by the repeating group (_sibling_constraints)
            elif bound is not None:  # today, or another date of the form
                limits.append(_date_constraint(inst, name, bound, link_id))
    if spec.type == "text":
        if spec.min_length:
            limits.append({"url": f"{EXTENSION}/minLength", "valueInteger": spec.min_length})
        if spec.pattern:
            limits.append({"url": f"{EXTENSION}/regex", "valueString": spec.pattern})
    if limits:
        item["extension"] = limits
    if spec.help:
        item.setdefault("item", []).append({
            "linkId": f"{link_id}.help", "text": spec.help, "type": "display",
            "extension": [{"url": f"{EXTENSION}/questionnaire-itemControl",
                           "valueCodeableConcept": {"coding": [{
                               "system": ITEM_CONTROL, "code": "help",
                               "display": "Help-Button"}], "text": "Help-Button"}}]})


def _date_constraint(inst: Instrument, name: str, bound: Any,
                     link_id: str) -> dict[str, Any]:
    """A date bound that is not a written date (``today``, or another item's or field's
    answer) as a ``targetConstraint``: a FHIRPath test of the answer and the words shown
    when it fails. The bound read from another answer holds only once that one is given."""
    if bound == "today":
        other, words = "today()", "today"
    else:
        if "item" in bound:
            other_id, label = bound["item"], inst.items[bound["item"]].label
        else:
            other_id, label = f"field.{bound['field']}", inst.fields[bound["field"]].label
        other = f"%resource.repeat(item).where(linkId='{other_id}').answer.value"
        words = f"the date given for \u201c{label}\u201d"
    test = ">=" if name == "minValue" else "<="
    human = (f"The date cannot be before {words}" if name == "minValue"
             else f"The date cannot be after {words}")
    if other == "today()":
        expression = f"answer.value.empty() or answer.value {test} today()"
    else:
        expression = f"answer.value.empty() or {other}.empty() or answer.value {test} {other}"
    return {"url": f"{EXTENSION}/targetConstraint", "extension": [
        {"url": "key", "valueId": f"{link_id.replace('_', '-')}-{name.lower()}"[:64]},
        {"url": "severity", "valueCode": "error"},
        {"url": "expression", "valueExpression": {"language": "text/fhirpath",
                                                  "expression": expression}},
        {"url": "human", "valueString": human},
    ]}


def _sibling(inst: Instrument, spec: Any, bound: dict[str, Any]) -> bool:
    """Whether a date bound names another question of the same repeating group."""
    return "item" in bound and same_instance(inst, spec, bound["item"]) != bound["item"]


def _sibling_constraints(inst: Instrument, group: Any) -> list[dict[str, Any]]:
    """The date bounds between questions of a repeating group, as ``targetConstraint``s
    of the group: tested in each repetition, so each instance's date is compared with the
    date given in the same repetition."""
    out = []
    for item_id in group.item_ids:
        spec = inst.items[instance_item_id(item_id, 1)]
        for name, bound in (("minValue", spec.earliest), ("maxValue", spec.latest)):
            if not isinstance(bound, dict) or not _sibling(inst, spec, bound):
                continue
            label = inst.items[instance_item_id(bound["item"], 1)].label
            mine = f"item.where(linkId='{item_id}').answer.value"
            other = f"item.where(linkId='{bound['item']}').answer.value"
            test = ">=" if name == "minValue" else "<="
            human = (f"\u201c{spec.label}\u201d cannot be "
                     f"{'before' if name == 'minValue' else 'after'} the date given for "
                     f"\u201c{label}\u201d for the same {group.label.lower()}")
            out.append({"url": f"{EXTENSION}/targetConstraint", "extension": [
                {"url": "key",
                 "valueId": f"{item_id.replace('_', '-')}-{name.lower()}"[:64]},
                {"url": "severity", "valueCode": "error"},
                {"url": "expression", "valueExpression": {
                    "language": "text/fhirpath",
                    "expression": f"{mine}.empty() or {other}.empty() or "
                                  f"{mine} {test} {other}"}},
                {"url": "human", "valueString": human},
            ]})
    return out


def _answer_option(inst: Instrument, option) -> dict[str, Any]:
    out: dict[str, Any] = {"valueCoding": _coding(inst, option)}
    if option.exclusive:  # "none of these": stands alone
        out["extension"] = [{"url": f"{EXTENSION}/questionnaire-optionExclusive",
                             "valueBoolean": True}]
    return out


def _question(inst: Instrument, spec, link_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": link_id, "text": spec.label, "type": TYPES[spec.type],
                            "required": bool(spec.required)}
    if spec.type in ("choice", "multi_choice"):
        item["answerOption"] = [_answer_option(inst, o) for o in spec.options]
    if spec.type == "multi_choice":
        item["repeats"] = True
    if getattr(spec, "max_length", None) and spec.type == "text":
        item["maxLength"] = int(spec.max_length)
    _details(inst, spec, item, link_id)
    return item


def _condition_and_comment(item: dict[str, Any], spec,
                           condition: tuple[list[dict], str | None, str | None], *,
                           required: bool) -> None:
    """Put a question's show condition on its Questionnaire item (``enableWhen`` with
    ``enableBehavior``, or the condition in words in its text when ``enableWhen`` cannot say
    it) and its comment child. FHIR asks a required question only while it is enabled:
    under an ``enableWhen`` the item is ``required`` as ``required`` says; a condition left
    to the form in words makes it not required."""
    enable, behaviour, note = condition
    if enable:
        item["enableWhen"] = enable
        if behaviour:
            item["enableBehavior"] = behaviour
        item["required"] = required
    elif note:
        item["text"] += f" (asked only when {note})"
        item["required"] = False
    if spec.comment:
        item.setdefault("item", []).insert(
            0, {"linkId": f"{item['linkId']}.comment", "text": "Comment", "type": "text",
                "required": False})


def _in_grids(section, inst: Instrument,
              children: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """A section's items with the rows of each grid gathered into a ``group`` under the
    grid's label (item control ``grid``: its rows share one set of answers); rows of one
    grid follow one another, as the definition checks."""
    out: list[dict[str, Any]] = []
    open_grid = None
    for item_id, child in children:
        grid_id = inst.items[item_id].grid if item_id in inst.items else None
        grid = section.grid(grid_id) if grid_id else None
        if grid is None:
            open_grid = None
            out.append(child)
            continue
        if open_grid is None or open_grid["linkId"] != f"grid.{grid.id}":
            open_grid = {"linkId": f"grid.{grid.id}", "text": grid.label, "item": []}
            out.append(open_grid)
        open_grid["item"].append(child)
    return out


def _grid_group(group: dict[str, Any], section) -> dict[str, Any]:
    """The Questionnaire's form of a gathered grid: a group shown as a grid."""
    grid = section.grid(group["linkId"].removeprefix("grid."))
    group.update(type="group", extension=[{
        "url": f"{EXTENSION}/questionnaire-itemControl",
        "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL, "code": "grid",
                                             "display": "Grid"}], "text": "Grid"}}])
    if grid.help:
        group["item"].insert(0, {"linkId": f"{group['linkId']}.help", "text": grid.help,
                                 "type": "display"})
    return group


def questionnaire(inst: Instrument) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    finalise_needs = set(inst.definition.get("required_to_finalise", []))
    for section in inst.sections:
        children = []
        for item_id in section.item_ids:
            spec = inst.items[item_id]
            item = _question(inst, spec, item_id)
            _condition_and_comment(item, spec, _enable_when(inst, spec.show_when),
                                   required=item_id in finalise_needs)
            children.append((item_id, item))
        if section.repeat is not None:
            children.append((section.repeat.id, _repeating_group(inst, section.repeat)))
        items = [_grid_group(c, section) if c["linkId"].startswith("grid.") else c
                 for c in _in_grids(section, inst, children)]
        groups.append({"linkId": section.id, "text": section.title, "type": "group",
                       "item": items})
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


MIN_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-minOccurs"
MAX_OCCURS = "http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs"


def _repeating_group(inst: Instrument, group: Any) -> dict[str, Any]:
    """A repeating group as a ``group`` item that ``repeats``: its items keep their ids as
    declared (``children.age``), and a condition between them is an ``enableWhen`` on the
    sibling of the same repetition; ``min`` and ``max`` are the ``minOccurs`` and
    ``maxOccurs`` extensions."""
    children = []
    for item_id in group.item_ids:
        spec = inst.items[instance_item_id(item_id, 1)]
        item = _question(inst, spec, item_id)
        declared = _declared_condition(spec.show_when, group.id)
        _condition_and_comment(item, spec, _enable_when_declared(inst, declared, group.id),
                               required=False)
        children.append(item)
    out: dict[str, Any] = {"linkId": group.id, "text": group.label, "type": "group",
                           "repeats": True, "required": group.minimum > 0,
                           "extension": [{"url": MAX_OCCURS, "valueInteger": group.maximum}],
                           "item": children}
    if group.minimum > 0:
        out["extension"].insert(0, {"url": MIN_OCCURS, "valueInteger": group.minimum})
    out["extension"] += _sibling_constraints(inst, group)
    return out


def _declared_condition(cond: Any, group_id: str) -> Any:
    """An instance's show condition with its own instance's ids back to the declared ids
    (``children[1].witnessed`` -> ``children.witnessed``)."""
    if isinstance(cond, dict):
        out = {k: _declared_condition(v, group_id) if k in ("all", "any", "not") else v
               for k, v in cond.items()}
        parts = split_instance_id(cond.get("item", "")) if isinstance(cond.get("item"),
                                                                       str) else None
        if parts is not None and parts[0] == group_id:
            out["item"] = parts[2]
        return out
    if isinstance(cond, list):
        return [_declared_condition(c, group_id) for c in cond]
    return cond


def _enable_when_declared(inst: Instrument, cond: Any, group_id: str
                          ) -> tuple[list[dict], str | None, str | None]:
    """``_enable_when`` for a condition between a group's declared items: read against
    instance 1 (every instance has the same items and options), written with the declared
    ids."""
    if cond is None:
        return [], None, None
    enable, behaviour, note = _enable_when(inst, instance_condition(cond, group_id, 1))
    for entry in enable:
        parts = split_instance_id(entry.get("question", ""))
        if parts is not None:
            entry["question"] = parts[2]
    if note:
        note = note.replace(f"{group_id}[1].", f"{group_id}.")
    return enable, behaviour, note


def _result_items(inst: Instrument) -> list[dict[str, Any]]:
    scoring = inst.scoring
    items = []
    for spec in inst.score_specs:
        kind = {"indicator": "boolean", "count": "integer", "sum": "decimal",
                "age": "integer"}.get(spec["type"], "string")
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


def _response_item(inst: Instrument, row: dict[str, Any], stored: str,
                   link_id: str) -> dict[str, Any] | None:
    """The response's item for the answer and comment stored under ``stored`` (None when
    there is neither); an answer carried forward from an earlier assessment carries the
    ``CARRIED_FORWARD`` extension with the date of the assessment it came from."""
    spec = inst.items[stored]
    answers = _answers(inst, spec, row["answers"].get(stored))
    comment = row["comments"].get(stored)
    if not answers and not comment:
        return None
    entry: dict[str, Any] = {"linkId": link_id, "text": spec.label}
    carried = (row.get("carried") or {}).get(stored)
    if answers and carried:
        entry["extension"] = [{"url": CARRIED_FORWARD, "valueDate": str(carried)}]
    if answers:
        entry["answer"] = answers
    if comment:
        entry["item"] = [{"linkId": f"{link_id}.comment", "answer": [{"valueString": comment}]}]
    return entry


def questionnaire_response(store: Store, assessment_id: int) -> dict[str, Any]:
    row = store.get_assessment(assessment_id)
    if row is None:
        raise StorageError("no assessment with that id")
    inst = store.engine.instruments.get(row["instrument_id"], row["instrument_version"])
    person = person_by_id(store, row["person_id"])
    if person is None:
        raise StorageError("the assessment's person is missing")
    groups = []
    for section in inst.sections:
        children = []
        for item_id in section.item_ids:
            entry = _response_item(inst, row, item_id, item_id)
            if entry is not None:
                children.append((item_id, entry))
        group = section.repeat
        if group is not None:  # one repetition of the group per instance given
            for k in range(1, group.count(row["answers"], row["comments"]) + 1):
                given = []
                for item_id in group.item_ids:
                    entry = _response_item(inst, row, instance_item_id(item_id, k), item_id)
                    if entry is not None:
                        given.append(entry)
                if given:
                    children.append((group.id, {"linkId": group.id,
                                                 "text": f"{group.label} {k}",
                                                 "item": given}))
        if children:
            groups.append({"linkId": section.id, "text": section.title,
                           "item": _in_grids(section, inst, children)})
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

    models: dict[str, type[Questionnaire] | type[QuestionnaireResponse]] = {
        "Questionnaire": Questionnaire, "QuestionnaireResponse": QuestionnaireResponse}
    model = models[resource["resourceType"]]
    return model.model_validate(resource)
