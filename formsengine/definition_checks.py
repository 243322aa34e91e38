"""Checks of meaning that a JSON Schema cannot express.

Every reference in a definition must resolve: item ids in score sets and conditions, answer
values named in scoring, parameters, scores named by bands, the band named by the level.
Each problem is returned as 'JSON path: what is wrong (what would be valid)'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .instance_ids import instance_item_id, same_instance, split_instance_id

if TYPE_CHECKING:
    from .instruments import Instrument


def _walk_conditions(cond: Any, path: str) -> Iterator[tuple[str, dict]]:
    if not isinstance(cond, dict):
        return
    yield path, cond
    for key in ("all", "any"):
        for i, sub in enumerate(cond.get(key, [])):
            yield from _walk_conditions(sub, f"{path}.{key}[{i}]")
    if "not" in cond:
        yield from _walk_conditions(cond["not"], f"{path}.not")


def _param_refs(obj: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(obj, dict):
        if set(obj) == {"param"}:
            yield path, obj["param"]
            return
        for k, v in obj.items():
            yield from _param_refs(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _param_refs(v, f"{path}[{i}]")


def semantic_problems(inst: Instrument) -> list[str]:
    problems: list[str] = []
    scoring = inst.scoring
    items = inst.items
    section_ids = {s.id for s in inst.sections}
    score_ids: list[str] = []
    band_ids: list[str] = []
    flag_ids: list[str] = []

    def one_of(name: str, known) -> str:
        shown = sorted(known)
        text = ", ".join(shown[:30]) + (" ..." if len(shown) > 30 else "")
        return f"(known {name}: {text or 'none'})"

    def check_item_set(spec: Any, path: str) -> list[str]:
        if spec == "all":
            groups = list(inst.repeats.values())
            if groups:  # "all" would leave out the groups' questions without a word
                problems.append(
                    f"{path}: \"all\" is every choice question asked once, and this "
                    f"instrument has repeating group {groups[0].id!r}, whose questions are "
                    f"asked once for each {groups[0].label.lower()} and would be left out: "
                    "list the items, and score the group with \"repeat\"")
            return inst.item_set(spec)
        if isinstance(spec, dict):
            if spec["section"] not in section_ids:
                problems.append(
                    f"{path}.section: unknown section {spec['section']!r} "
                    f"{one_of('sections', section_ids)}"
                )
                return []
            group = next((s.repeat for s in inst.sections
                          if s.id == spec["section"] and s.repeat is not None), None)
            if group is not None:  # the section's item set would leave out its group
                problems.append(
                    f"{path}.section: section {spec['section']!r} holds repeating group "
                    f"{group.id!r}, whose questions are asked once for each "
                    f"{group.label.lower()} and would be left out: list the section's own "
                    "items, and score the group with \"repeat\"")
            return inst.item_set(spec)
        out = []
        for i, item_id in enumerate(spec):
            if item_id not in items:
                problems.append(f"{path}[{i}]: unknown item {item_id!r} {one_of('items', items)}")
            else:
                out.append(item_id)
        return out

    def check_values(item_ids: list[str], values: list[str], path: str) -> None:
        for value in values:
            if not any(value in items[i].values for i in item_ids):
                allowed = sorted({v for i in item_ids for v in items[i].values})
                problems.append(
                    f"{path}: value {value!r} is not an answer option of any of these items "
                    f"(options: {', '.join(allowed)})"
                )

    # Parameters: references resolve and defaults fit their type.
    for name, spec in inst.parameters.items():
        default = spec["default"]
        ptype = spec["type"]
        where = f"$.parameters.{name}.default"
        if ptype == "integer" and not (isinstance(default, int) and not isinstance(default, bool)):
            problems.append(f"{where}: must be a whole number")
        elif ptype == "number" and not isinstance(default, (int, float)):
            problems.append(f"{where}: must be a number")
        elif ptype == "cutoffs":
            problems.extend(cutoff_problems(default, where))
        problems.extend(parameter_limit_problems(name, spec))
    for path, name in _param_refs(inst.definition.get("scoring", {}), "$.scoring"):
        if name not in inst.parameters:
            problems.append(
                f"{path}: unknown parameter {name!r} {one_of('parameters', inst.parameters)}"
            )

    # Completeness: every item named must exist (scoring looks each one up).
    if "completeness_items" in scoring:
        check_item_set(scoring["completeness_items"], "$.scoring.completeness_items")

    # Items: show_when references and numeric limits.
    problems.extend(option_set_problems(inst))
    shared = _items_using_option_sets(inst)
    for item in items.values():
        if item.show_when is not None:
            check_condition(item.show_when, f"$.items[{item.id}].show_when", problems, inst,
                            [], [], [], form_only=True)
        if item.type in ("choice", "multi_choice") and item.id not in shared:
            for value in _repeated(item.values):
                problems.append(f"$.items[{item.id}].options: option value {value!r} is used "
                                "more than once (each option needs its own value)")
        problems.extend(_limit_problems(f"$.items[{item.id}]", item))
    for field in inst.fields.values():
        problems.extend(_limit_problems(f"$.fields[{field.id}]", field))
    problems.extend(answer_check_problems(inst))
    problems.extend(show_when_cycles(inst))
    problems.extend(pipe_problems(inst))
    problems.extend(grid_problems(inst))
    problems.extend(repeat_reference_problems(inst))

    # Scores.
    for index, score in enumerate(scoring.get("scores", [])):
        path = f"$.scoring.scores[{index}]"
        if score["id"] in score_ids:
            problems.append(f"{path}.id: score id {score['id']!r} is used twice")
        score_ids.append(score["id"])
        if score["type"] == "age":
            problems.extend(age_problems(score, path, inst))
            continue
        for key in ("from", "to"):
            if key in score:
                problems.append(f"{path}.{key}: only an age score reads dates "
                                f"(this is a {score['type']} score)")
        if "repeat" in score or score["type"] == "instances" or "over" in score:
            problems.extend(repeat_score_problems(inst, score, path))
            continue
        problems.extend(_sum_problems(path, score, score_ids[:-1], scoring, items))
        if score["type"] == "indicator":
            item_ids = check_item_set([score["item"]], f"{path}.item")
        else:
            item_ids = check_item_set(score.get("items", []), f"{path}.items")
        if not item_ids:
            continue
        for i in item_ids:
            if items[i].type not in ("choice", "multi_choice"):
                problems.append(
                    f"{path}: item {i!r} is of type {items[i].type}; scores use choice items"
                )
        if score["type"] in ("max", "sum"):
            for i in item_ids:
                if items[i].type != "choice":
                    problems.append(f"{path}: {score['type']} scores take single-choice items;"
                                    f" {i!r} is {items[i].type}")
        if "values" in score:
            check_values(item_ids, score["values"], f"{path}.values")
            not_known = sorted({o.value for i in item_ids for o in items[i].options
                                if o.missing and o.value in score["values"]})
            if not_known:
                problems.append(
                    f"{path}.values: {', '.join(not_known)} say(s) the answer is not known, "
                    "and scores count only known answers; count them with "
                    "\"missing\": \"not_known\" instead")
        if score.get("when_unknown") is not None:
            if score["type"] not in ("count", "sum") or "missing" in score:
                problems.append(f"{path}.when_unknown: only a count of values or a sum "
                                "declares what an unknown answer does to it")
            elif score.get("unknown_if_missing"):
                problems.append(f"{path}: give when_unknown or unknown_if_missing, not both "
                                "(when_unknown \"not_known\" says the same and adds "
                                f"{score['id']}_at_least)")
        if score["type"] == "max":
            check_values(item_ids, score["order"], f"{path}.order")
        if score["type"] == "sum":
            for i in item_ids:
                for opt in items[i].options:
                    weight = score.get("weights", {}).get(opt.value)
                    if weight is None and opt.numeric is None and opt.missing is None:
                        problems.append(
                            f"{path}: option {opt.value!r} of item {i!r} has no number "
                            "(give it 'numeric' or add it to 'weights')"
                        )
    for spec in inst.score_specs:  # the companions (<id>_at_least) the language adds
        if "companion_of" in spec:
            if spec["id"] in score_ids:
                problems.append(f"$.scoring.scores: score id {spec['id']!r} is the companion "
                                f"of {spec['companion_of']!r} (when_unknown \"not_known\"); "
                                "give the declared score another id")
            score_ids.append(spec["id"])
    # Calculated values shown while completing: scores the definition declares.
    for s_index, sec in enumerate(inst.definition.get("sections", [])):
        for c_index, shown in enumerate(sec.get("calculated", [])):
            if shown["score"] not in score_ids:
                problems.append(f"$.sections[{s_index}].calculated[{c_index}].score: unknown "
                                f"score {shown['score']!r} {one_of('scores', score_ids)}")
    # Bands.
    for index, band in enumerate(scoring.get("bands", [])):
        path = f"$.scoring.bands[{index}]"
        if band["id"] in band_ids:
            problems.append(f"{path}.id: band id {band['id']!r} is used twice")
        band_ids.append(band["id"])
        if band["score"] not in score_ids:
            problems.append(f"{path}.score: unknown score {band['score']!r} "
                            f"{one_of('scores', score_ids)}")
        if isinstance(band["cutoffs"], list):
            problems.extend(cutoff_problems(band["cutoffs"], f"{path}.cutoffs"))
    level = scoring.get("level")
    if level:
        if level["band"] not in band_ids:
            problems.append(f"$.scoring.level.band: unknown band {level['band']!r} "
                            f"{one_of('bands', band_ids)}")
        else:
            band = next(b for b in scoring["bands"] if b["id"] == level["band"])
            cut = band["cutoffs"]
            if isinstance(cut, dict):
                cut = inst.parameters.get(cut["param"], {}).get("default", [])
            names = [c["band"] for c in cut] if isinstance(cut, list) else []
            for name in names:
                if name not in level["order"]:
                    problems.append(
                        f"$.scoring.level.order: band {name!r} is missing from the order "
                        f"(order: {', '.join(level['order'])})"
                    )
    # Flags, then criteria (criteria may name flags).
    for kind in ("flags", "criteria"):
        seen: list[str] = []
        for index, spec in enumerate(scoring.get(kind, [])):
            path = f"$.scoring.{kind}[{index}]"
            if spec["id"] in seen:
                problems.append(f"{path}.id: {kind[:-1]} id {spec['id']!r} is used twice")
            seen.append(spec["id"])
            check_condition(spec["when"], f"{path}.when", problems, inst, score_ids, band_ids,
                            flag_ids if kind == "criteria" else [],
                            in_flag=kind == "flags")
            if kind == "criteria":
                group = spec.get("group")
                if group and group not in scoring.get("criteria_groups", {}):
                    problems.append(
                        f"{path}.group: unknown group {group!r} "
                        f"{one_of('groups', scoring.get('criteria_groups', {}))}"
                    )
        if kind == "flags":
            flag_ids.extend(seen)
    # offered_when conditions name another instrument's items: checked by the engine once
    # every plugin has registered.
    return problems


AGE_UNUSED = ("items", "item", "values", "missing", "order", "weights", "names",
              "when_unknown", "unknown_if_missing")


def age_problems(score: dict[str, Any], path: str, inst: Instrument) -> list[str]:
    """An age counts whole years between two dates: ``from`` and ``to`` name date items
    or date fields (``to`` defaults to the assessment's date field)."""
    problems = [f"{path}.{key}: an age score does not use {key!r} (it reads 'from' and 'to')"
                for key in AGE_UNUSED if key in score]
    refs = [("from", score["from"])]
    if "to" in score:
        refs.append(("to", score["to"]))
    else:
        date_field = inst.fields.get(inst.assessment_date_field)
        if date_field is None or date_field.type != "date":
            problems.append(f"{path}: an age score without 'to' counts to the assessment's "
                            f"date, and there is no date field {inst.assessment_date_field!r}; "
                            "give 'to' ({\"field\": ...} or {\"item\": ...})")
    for key, ref in refs:
        if "item" in ref:
            item = inst.items.get(ref["item"])
            group = _group_of(inst, ref["item"])
            if group is not None:
                problems.append(f"{path}.{key}.item: {ref['item']!r} is a question of "
                                f"repeating group {group!r}, asked once for each "
                                f"{inst.repeats[group].label.lower()}; an age reads a date "
                                "asked once (a date item outside the group or a date field)")
            elif item is None:
                problems.append(f"{path}.{key}.item: unknown item {ref['item']!r}")
            elif item.type != "date":
                problems.append(f"{path}.{key}.item: {ref['item']!r} is a {item.type} item; "
                                "an age reads a date item or a date field")
        else:
            field = inst.fields.get(ref["field"])
            if field is None:
                problems.append(f"{path}.{key}.field: unknown field {ref['field']!r} "
                                f"(fields: {', '.join(inst.fields) or 'none'})")
            elif field.type != "date":
                problems.append(f"{path}.{key}.field: {ref['field']!r} is a {field.type} "
                                "field; an age reads a date item or a date field")
    if "to" in score and score["to"] == score["from"]:
        problems.append(f"{path}.to: the age counts from and to the same date (always 0)")
    return problems


def pipe_problems(inst: Instrument) -> list[str]:
    """Pipes in labels and hints (``{{item.<id>|<fallback>}}``, ``{{field.<id>|<fallback>}}``)
    name an item that comes earlier in the definition, or a field, and give a fallback."""
    problems = []
    for item in inst.items.values():
        if item.instance > 1:  # a group's item is written once: checked at instance 1
            continue
        written = item.base or item.id
        for key, text in (("label", item.label_source), ("help", item.help_source)):
            problems.extend(text_pipe_problems(inst, item.id, text, f"$.items[{written}].{key}"))
    problems.extend(misplaced_pipe_problems(inst.definition))
    return problems


def misplaced_pipe_problems(definition: Any) -> list[str]:
    """``{{`` anywhere but in an item's label or hint: pipes are filled only there, so
    anywhere else (a title, an option's label, a grid's heading, a score's label) it would
    be shown as typed."""
    from .piping import OPEN

    problems: list[str] = []

    def walk(node: Any, path: str, in_items: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "test_vectors":
                    continue
                if isinstance(value, str):
                    if OPEN in value and not (in_items and key in ("label", "help")):
                        problems.append(f"{path}.{key}: '{{{{' starts a pipe, and pipes are "
                                        "filled only in an item's label and hint; here it "
                                        "would be shown as typed")
                else:
                    walk(value, f"{path}.{key}", key == "items")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                if isinstance(value, str):
                    if OPEN in value:
                        problems.append(f"{path}[{n}]: '{{{{' starts a pipe, and pipes are "
                                        "filled only in an item's label and hint")
                else:
                    walk(value, f"{path}[{n}]", in_items)

    walk(definition, "$", False)
    return problems


def text_pipe_problems(inst: Instrument, item_id: str, text: str | None,
                       path: str) -> list[str]:
    """The pipes of one label or hint of item ``item_id`` (a definition's or a wording
    pack's), each checked as ``pipe_problems`` says."""
    from .piping import OPEN, pipes

    if not text or OPEN not in text:
        return []
    problems = []
    order = list(inst.items)
    position = order.index(item_id)
    item = inst.items[item_id]
    form = "{{item.<item id>|<fallback>}} or {{field.<field id>|<fallback>}}"
    found = list(pipes(text))
    if text.count(OPEN) != len(found):
        problems.append(f"{path}: '{{{{' opens a pipe that is never closed with "
                        f"'}}}}' (write {form})")
    for pipe in found:
        shown = pipe.text if len(pipe.text) <= 80 else pipe.text[:77] + "..."
        if pipe.kind is None:
            problems.append(f"{path}: {shown} is not a pipe (write {form})")
        elif not pipe.fallback:
            problems.append(f"{path}: {shown} has no fallback: write the words to "
                            f"show when there is no answer after '|' ({form})")
        elif pipe.kind == "field" and pipe.target not in inst.fields:
            problems.append(f"{path}: {shown} names unknown field {pipe.target!r} "
                            f"(fields: {', '.join(inst.fields) or 'none'})")
        elif pipe.kind == "item" and (group := _group_of(inst, str(pipe.target))) is not None \
                and group != item.repeat:
            problems.append(f"{path}: {shown} names {pipe.target!r}, a question of repeating "
                            f"group {group!r}, which is asked once for each "
                            f"{inst.repeats[group].label.lower()}: only the group's own "
                            "questions can pipe in its answers (each shows the answer given "
                            "for the same one); elsewhere, show a score over the group "
                            "instead")
        elif pipe.kind == "item" and (target := piped_item(inst, item, str(pipe.target))
                                      ) not in inst.items:
            problems.append(f"{path}: {shown} names unknown item {pipe.target!r}")
        elif pipe.kind == "item" and target == item_id:
            problems.append(f"{path}: {shown} names the item itself; a pipe shows the "
                            "answer to an earlier question")
        elif pipe.kind == "item" and order.index(target) > position:
            problems.append(f"{path}: {shown} names {pipe.target!r}, which comes "
                            "later in the definition; a pipe shows the answer to an "
                            "earlier question")
    return problems


def _group_of(inst: Instrument, item_id: str) -> str | None:
    """The repeating group whose item ``item_id`` is, as declared (``children.name``) or as
    an instance stores it (``children[2].name``); None for any other id."""
    parts = split_instance_id(item_id)
    if parts is not None:
        return parts[0] if parts[0] in inst.repeats else None
    head = item_id.split(".")[0]
    return head if head in inst.repeats and item_id in inst.repeats[head].item_ids else None


def piped_item(inst: Instrument, item: Any, target: str) -> str:
    """The item whose answer a pipe in ``item``'s label or hint shows: in a repeating
    group's question, the group's item named as declared (``children.name``) is the same
    instance's (``children[2].name``); any other name is the item itself."""
    return same_instance(inst, item, target)


TEXT_ONLY = ("min_length", "pattern", "pattern_message")
DATE_ONLY = ("earliest", "latest")


def answer_check_problems(inst: Instrument) -> list[str]:
    """The checks on answers that items and fields declare: exclusive options only on
    multiple choice and after the others; text lengths and patterns only on text (the
    pattern compiles; the shortest no longer than the longest); date bounds only on dates,
    naming a date that comes earlier in the form; reverse only on single choice; prefill
    never on text; the
    items required to finalise exist, each once."""
    import re

    problems: list[str] = []
    order = [("field", f.id) for f in inst.fields.values()]
    order += [("item", i) for i in inst.items]
    specs: list[tuple[str, str, Any]] = [
        (f"$.fields[{f.id}]", "field", f) for f in inst.fields.values()]
    specs += [(f"$.items[{i.id}]", "item", i) for i in inst.items.values()]
    for path, kind, spec in specs:
        exclusive = [o.value for o in spec.options if o.exclusive]
        if exclusive and spec.type != "multi_choice":
            problems.append(f"{path}.options: option {exclusive[0]!r} is exclusive, but only "
                            "a multiple-choice item has answers to exclude (a single choice "
                            "already allows one answer)")
        elif exclusive:
            later = [o.value for o in spec.options[spec.options.index(
                next(o for o in spec.options if o.exclusive)):] if not o.exclusive]
            if later:
                problems.append(f"{path}.options: exclusive options come after the others "
                                f"(move {later[0]!r} before {exclusive[0]!r})")
            if len(exclusive) == len(spec.options):
                problems.append(f"{path}.options: every option is exclusive; a multiple "
                                "choice needs at least one option that is not")
        for key in TEXT_ONLY:
            if getattr(spec, key, None) is not None and spec.type != "text":
                problems.append(f"{path}.{key}: only a text {kind} takes {key} "
                                f"(this one is {spec.type})")
        for key in DATE_ONLY:
            if getattr(spec, key, None) is not None and spec.type != "date":
                problems.append(f"{path}.{key}: only a date {kind} takes {key} "
                                f"(this one is {spec.type})")
        if getattr(spec, "prefill", False) and spec.type == "text":
            problems.append(f"{path}.prefill: a text item is not carried forward (what is "
                            "written in words belongs to the occasion it describes): remove "
                            "prefill, or ask it as a choice, number or date")
        if getattr(spec, "reverse", False) and spec.type != "choice":
            problems.append(f"{path}.reverse: only a single-choice item is reversed "
                            f"(this one is {spec.type})")
        shortest, longest = spec.min_length, spec.max_length
        if shortest is not None and longest is not None and shortest > longest:
            problems.append(f"{path}.min_length: the shortest length ({shortest}) is above "
                            f"the longest (max_length {longest})")
        if spec.pattern_message is not None and spec.pattern is None:
            problems.append(f"{path}.pattern_message: give the pattern it explains")
        if spec.pattern is not None:
            try:
                re.compile(spec.pattern)
            except re.error as exc:
                problems.append(f"{path}.pattern: not a regular expression Python can use "
                                f"({exc})")
            else:
                slow = slow_pattern(spec.pattern)
                if slow:
                    problems.append(f"{path}.pattern: {slow}")
        if spec.type == "date" and getattr(spec, "instance", 0) <= 1:
            # a repeating group's question is checked once, as declared
            where = f"$.items[{spec.base}]" if getattr(spec, "repeat", None) else path
            problems.extend(_bound_problems(where, kind, spec, inst, order))
    required = inst.definition.get("required_to_finalise", [])
    for index, item_id in enumerate(required):
        if item_id not in inst.items:
            problems.append(f"$.required_to_finalise[{index}]: unknown item {item_id!r}")
    for item_id in _repeated(required):
        problems.append(f"$.required_to_finalise: item {item_id!r} is listed more than once")
    return problems


def slow_pattern(pattern: str) -> str | None:
    """Why a pattern could take very long to check an answer, or None: a repetition inside
    a repetition (``(a+)+``, ``(\\w*)*``) or a back-reference, the forms whose checking time
    can grow exponentially with the answer's length."""
    import re._parser as sre  # type: ignore[import-not-found]

    def walk(parsed, inside: bool) -> str | None:
        for op, arg in parsed:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                repeats = high is sre.MAXREPEAT or high > 1
                if repeats and inside:
                    return ("a repetition inside a repetition (such as (a+)+) can take very "
                            "long to check; write it without the nesting")
                found = walk(sub, inside or repeats)
                if found:
                    return found
            elif name == "GROUPREF" or name == "GROUPREF_EXISTS":
                return "back-references are not allowed in a pattern"
            elif name == "SUBPATTERN":
                found = walk(arg[-1], inside)
                if found:
                    return found
            elif name == "BRANCH":
                for branch in arg[1]:
                    found = walk(branch, inside)
                    if found:
                        return found
            elif name in ("ASSERT", "ASSERT_NOT"):
                found = walk(arg[1], inside)
                if found:
                    return found
        return None

    return walk(sre.parse(pattern), False)


def _bound_problems(path: str, kind: str, spec: Any, inst: Instrument,
                    order: list[tuple[str, str]]) -> list[str]:
    import datetime as dt

    problems = []
    fixed = {}
    for key in DATE_ONLY:
        bound = getattr(spec, key, None)
        if isinstance(bound, str) and bound != "today":
            fixed[key] = dt.date.fromisoformat(bound)
        if key == "earliest" and bound == "today":
            problems.append(f"{path}.earliest: \"today\" can only be the latest date: an "
                            "answer that must not be in the past would become wrong as days "
                            "pass, and a saved answer is checked again at every save and "
                            "rescoring")
        if not isinstance(bound, dict):
            continue
        if "item" in bound:
            refused = _group_bound_problem(inst, spec, str(bound["item"]))
            if refused:
                problems.append(f"{path}.{key}: {refused}")
                continue
            target = ("item", same_instance(inst, spec, bound["item"]))
        else:
            target = ("field", bound["field"])
        other = (inst.fields if target[0] == "field" else inst.items).get(target[1])
        named = bound.get("item", bound.get("field"))  # as written: ``kids.born``
        if other is None:
            problems.append(f"{path}.{key}: unknown {target[0]} {named!r}")
        elif other.type != "date":
            problems.append(f"{path}.{key}: {target[0]} {named!r} is {other.type}, "
                            "not a date")
        elif target == (kind, spec.id):
            problems.append(f"{path}.{key}: a date cannot be bounded by itself")
        elif order.index(target) > order.index((kind, spec.id)):
            problems.append(f"{path}.{key}: {target[0]} {named!r} comes later in the "
                            "form; a date can only be bounded by one asked before it")
    if len(fixed) == 2 and fixed["earliest"] > fixed["latest"]:
        problems.append(f"{path}.earliest: the earliest date ({fixed['earliest']}) is after "
                        f"the latest ({fixed['latest']})")
    return problems


def _group_bound_problem(inst: Instrument, spec: Any, target: str) -> str | None:
    """Why a date bound naming item ``target`` cannot be checked, when it names a question
    of a repeating group from outside the group (which instance's date would it be?). An
    instance's stored id (``kids[1].born``) never gets here: the schema refuses it."""
    group = _group_of(inst, target)
    if group is None or group == getattr(spec, "repeat", None):
        return None
    one = inst.repeats[group].label.lower()
    return (f"names {target!r}, a question of repeating group {group!r}, which is asked "
            f"once for each {one}: only the group's own date questions can be bounded by it "
            f"(each by the date given for the same {one}); elsewhere, bound the date by a "
            "question or field asked once")


def _sum_problems(path: str, score: dict[str, Any], earlier: list[str],
                  scoring: dict[str, Any], items: dict[str, Any]) -> list[str]:
    """A sum's ``reverse`` names items of the sum; its ``scores`` name earlier counts or
    sums. Both belong to sums only."""
    problems = []
    for key in ("reverse", "scores"):
        if key in score and score["type"] != "sum":
            problems.append(f"{path}.{key}: only a sum takes {key}")
            return problems
    listed = score.get("items")
    for index, item_id in enumerate(score.get("reverse", [])):
        if not isinstance(listed, list) or item_id not in listed:
            problems.append(f"{path}.reverse[{index}]: item {item_id!r} is not one of the "
                            "sum's items (list them in items)")
        elif item_id in items and items[item_id].reverse:
            problems.append(f"{path}.reverse[{index}]: item {item_id!r} is reversed by its "
                            "own definition (reverse: true); reversing it again would undo it")
    kinds = {s["id"]: s["type"] for s in scoring.get("scores", [])}
    for index, part in enumerate(score.get("scores", [])):
        if part == score["id"]:
            problems.append(f"{path}.scores[{index}]: a sum cannot add itself")
        elif part not in earlier:
            problems.append(f"{path}.scores[{index}]: {part!r} is not a score declared "
                            "before this one (a sum adds scores computed before it)")
        elif kinds.get(part) not in ("count", "sum"):
            problems.append(f"{path}.scores[{index}]: {part!r} is a {kinds.get(part)} score; "
                            "a sum adds counts and sums")
    return problems


def cutoff_problems(cutoffs: Any, where: str) -> list[str]:
    if not isinstance(cutoffs, list) or not cutoffs:
        return [f"{where}: cut-offs must be a non-empty list of {{min, band}}"]
    problems = []
    previous = None
    for i, c in enumerate(cutoffs):
        if not isinstance(c, dict) or "min" not in c or "band" not in c:
            problems.append(f"{where}[{i}]: each cut-off needs 'min' and 'band'")
            continue
        if not isinstance(c["min"], (int, float)) or isinstance(c["min"], bool):
            problems.append(f"{where}[{i}].min: must be a number")
            continue
        if previous is not None and c["min"] <= previous:
            problems.append(f"{where}[{i}].min: cut-offs must rise ({c['min']} after {previous})")
        previous = c["min"]
    names = [c["band"] for c in cutoffs if isinstance(c, dict) and "band" in c]
    for name in _repeated(names):
        problems.append(f"{where}: band name {name!r} is used by more than one cut-off "
                        "(each band needs its own name)")
    return problems


def _repeated(values: Any) -> list[Any]:
    """Values that occur more than once, each once, in order of first repeat."""
    seen: list[Any] = []
    out: list[Any] = []
    for v in values:
        if v in seen and v not in out:
            out.append(v)
        seen.append(v)
    return out


def _items_using_option_sets(inst: Instrument) -> set[str]:
    return {raw["id"] for sec in inst.definition.get("sections", [])
            for raw in sec.get("items", []) if isinstance(raw.get("options"), str)}


def option_set_problems(inst: Instrument) -> list[str]:
    """A repeated value in a named option set, reported once at the set (not at every item
    that uses it)."""
    problems = []
    for name, options in inst.definition.get("option_sets", {}).items():
        values = [o.get("value") for o in options if isinstance(o, dict)]
        for value in _repeated(values):
            problems.append(f"$.option_sets.{name}: option value {value!r} is used more than "
                            "once (each option needs its own value)")
    return problems


def _limit_problems(path: str, spec: Any) -> list[str]:
    low, high = getattr(spec, "minimum", None), getattr(spec, "maximum", None)
    if low is not None and high is not None and low > high:
        return [f"{path}.minimum: the minimum ({low}) is above the maximum ({high})"]
    return []


def parameter_limit_problems(name: str, spec: dict[str, Any]) -> list[str]:
    """A parameter's minimum above its maximum, or a default outside its own limits (for
    cut-offs: any cut-off's ``min``)."""
    path = f"$.parameters.{name}"
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and high is not None and low > high:
        return [f"{path}.minimum: the minimum ({low}) is above the maximum ({high})"]
    default = spec.get("default")
    if spec.get("type") == "cutoffs":
        values = [c["min"] for c in default if isinstance(c, dict)
                  and isinstance(c.get("min"), (int, float))] if isinstance(default, list) else []
    elif isinstance(default, (int, float)) and not isinstance(default, bool):
        values = [default]
    else:
        values = []
    problems = []
    for value in values:
        if low is not None and value < low:
            problems.append(f"{path}.default: {value} is below the parameter's own minimum "
                            f"({low})")
        if high is not None and value > high:
            problems.append(f"{path}.default: {value} is above the parameter's own maximum "
                            f"({high})")
    return problems


def grid_problems(inst: Instrument) -> list[str]:
    """Grids (Likert and matrix layouts) whose rows cannot be shown as one grid: each grid
    id used once, each row a single-choice item of the grid's own section, the rows one
    unbroken run of at least two items, every row with the same options (values and
    labels, in the same order), and no row with a comment, a source or option hints (a
    grid has no room for them)."""
    problems: list[str] = []
    declared: dict[str, str] = {}  # grid id -> the section that declares it
    for s_index, section in enumerate(inst.sections):
        for g_index, grid in enumerate(section.grids):
            path = f"$.sections[{s_index}].grids[{g_index}].id"
            if grid.id in declared:
                where = ("this section" if declared[grid.id] == section.id
                         else f"section {declared[grid.id]!r}")
                problems.append(f"{path}: grid id {grid.id!r} is already used in {where} "
                                "(each grid needs its own id)")
            else:
                declared[grid.id] = section.id
    for s_index, section in enumerate(inst.sections):
        rows: dict[str, list[int]] = {}  # grid id -> positions of its rows in the section
        for position, item_id in enumerate(section.item_ids):
            item = inst.items[item_id]
            if item.grid is None:
                continue
            path = f"$.items[{item_id}].grid"
            if section.grid(item.grid) is None:
                if item.grid in declared:
                    problems.append(
                        f"{path}: grid {item.grid!r} belongs to section "
                        f"{declared[item.grid]!r}; a grid's rows must be items of the "
                        "section that declares it")
                else:
                    known = ", ".join(g.id for g in section.grids) or "none"
                    problems.append(f"{path}: there is no grid {item.grid!r} in section "
                                    f"{section.id!r} (its grids: {known})")
                continue
            rows.setdefault(item.grid, []).append(position)
            if item.type != "choice":
                problems.append(f"{path}: {item_id!r} is of type {item.type}; the rows of a "
                                "grid must be single-choice questions (type choice)")
            extras = [name for name, on in (("a comment", item.comment),
                                            ("a source", item.source)) if on]
            if extras:
                problems.append(f"{path}: {item_id!r} offers {' and '.join(extras)}; a grid "
                                "has no room for them, so take them off or the item out of "
                                "the grid")
            if any(o.hint for o in item.options):
                problems.append(f"{path}: {item_id!r} has options with hints; a grid shows "
                                "only the option labels, so give the hints in the grid's "
                                "help instead")
        for g_index, grid in enumerate(section.grids):
            path = f"$.sections[{s_index}].grids[{g_index}]"
            positions = rows.get(grid.id, [])
            if len(positions) < 2:
                problems.append(
                    f"{path}: grid {grid.id!r} has {len(positions) or 'no'} "
                    f"row{'' if len(positions) == 1 else 's'}; a grid needs at least two "
                    f"items that say \"grid\": \"{grid.id}\"")
                continue
            if positions != list(range(positions[0], positions[0] + len(positions))):
                between = [section.item_ids[p] for p in range(positions[0], positions[-1])
                           if p not in positions]
                problems.append(
                    f"{path}: the rows of grid {grid.id!r} must follow one another in the "
                    f"section, but {', '.join(map(repr, between))} "
                    f"{'comes' if len(between) == 1 else 'come'} between them; "
                    "move the rows together (a follow-up question goes after the grid)")
            first = inst.items[section.item_ids[positions[0]]]
            want = [(o.value, o.label) for o in first.options]
            for p in positions[1:]:
                other = inst.items[section.item_ids[p]]
                if other.type == "choice" and first.type == "choice" and [
                        (o.value, o.label) for o in other.options] != want:
                    problems.append(
                        f"$.items[{other.id}].options: every row of grid {grid.id!r} must "
                        f"have the same options as its first row {first.id!r} (the same "
                        "values and labels in the same order); an option set shared by the "
                        "rows does this")
    return problems


def _items_named(cond: Any) -> list[str]:
    return [c["item"] for _, c in _walk_conditions(cond, "$") if "item" in c]


def show_when_cycles(inst: Instrument) -> list[str]:
    """Show conditions that depend on themselves, directly (an item shown when it is
    answered) or through other items (a shown when b, b shown when a): such an item can
    never be shown."""
    graph = {item.id: [i for i in _items_named(item.show_when) if i in inst.items]
             for item in inst.items.values() if item.show_when is not None}
    problems: list[str] = []
    reported: set[frozenset[str]] = set()
    for start in graph:
        if start in graph[start]:
            problems.append(f"$.items[{start}].show_when: the item is shown only when it is "
                            "already answered (its condition tests itself)")
            reported.add(frozenset([start]))
            continue
        # depth-first search for a path back to ``start``
        stack: list[tuple[str, list[str]]] = [(n, [start, n]) for n in graph[start]]
        visited: set[str] = set()
        while stack:
            node, trail = stack.pop()
            if node == start:
                cycle = frozenset(trail)
                if cycle not in reported:
                    reported.add(cycle)
                    problems.append(
                        f"$.items[{start}].show_when: circular show conditions "
                        f"({' -> '.join(trail)}): none of these items can ever be shown")
                break
            if node in visited:
                continue
            visited.add(node)
            stack.extend((n, trail + [n]) for n in graph.get(node, []))
    return problems


def _value_type_problems(sub_path: str, c: dict, kind: str, target: Any) -> list[str]:
    """A condition value of the wrong type: a number (or true/false) tested against text
    answer options (``"equals": 3`` where the option is ``"3"``), or text tested against a
    number."""
    values = []
    if "equals" in c and not isinstance(c["equals"], dict):
        values.append(("equals", c["equals"]))
    values += [(f"in[{i}]", v) for i, v in enumerate(c.get("in", []))]
    if "includes" in c:
        values.append(("includes", c["includes"]))
    problems = []
    if target.type in ("choice", "multi_choice"):
        for key, v in values:
            if v is None or isinstance(v, str):
                continue
            shown = json_text(v)
            hint = (f"; write \"{shown}\" to test the option" if shown in target.values
                    else f" (options: {', '.join(target.values)})")
            problems.append(f"{sub_path}.{key}: {shown} is a {_kind_of(v)}, but the answer "
                            f"options of {kind} {target.id!r} are text{hint}")
    elif target.type in ("integer", "number"):
        for key, v in values:
            if isinstance(v, (str, bool)):
                problems.append(f"{sub_path}.{key}: {json_text(v)} is a {_kind_of(v)}, but "
                                f"{kind} {target.id!r} holds a number")
    return problems


_NUMBER_TESTS = ("gte", "gt", "lte", "lt", "between")


def comparison_problems(sub_path: str, c: dict, kind: str, target: Any,
                        inst: Instrument) -> list[str]:
    """Number tests (``gt``, ``between`` ...) only on numbers, date tests (``before``,
    ``after``) only on dates, a range whose low end is not above its high end, and a date
    named by ``{"field": ...}`` that is a date field."""
    problems = []
    name = f"{kind} {target.id!r}"
    for test in _NUMBER_TESTS:
        if test in c and target.type not in ("integer", "number"):
            problems.append(f"{sub_path}.{test}: {name} is of type {target.type}, not a number; "
                            "number tests apply to integer and number questions only")
    between = c.get("between")
    if (isinstance(between, list) and len(between) == 2
            and all(isinstance(v, (int, float)) for v in between) and between[0] > between[1]):
        problems.append(f"{sub_path}.between: the low end {json_text(between[0])} is above "
                        f"the high end {json_text(between[1])}")
    for test in ("before", "after"):
        if test not in c:
            continue
        if target.type != "date":
            problems.append(f"{sub_path}.{test}: {name} is of type {target.type}, not a date; "
                            "date tests apply to date questions and fields only")
        ref = c[test]
        if isinstance(ref, dict):
            other = inst.fields.get(ref.get("field", ""))
            if other is None or other.type != "date":
                problems.append(f"{sub_path}.{test}.field: {ref.get('field')!r} is not a "
                                "date field")
    return problems


def json_text(v: Any) -> str:
    import json

    return v if isinstance(v, str) else json.dumps(v)


def _kind_of(v: Any) -> str:
    if isinstance(v, bool):
        return "true/false value"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "text"
    return "list" if isinstance(v, list) else "value"


def check_condition(cond: dict, path: str, problems: list[str], inst: Instrument,
                    score_ids: list[str], band_ids: list[str], flag_ids: list[str],
                    *, form_only: bool = False, in_flag: bool = False) -> None:
    for sub_path, c in _walk_conditions(cond, path):
        if "item" in c:
            item = inst.items.get(c["item"])
            if item is None:
                problems.append(f"{sub_path}.item: unknown item {c['item']!r}")
                continue
            type_problems = (_value_type_problems(sub_path, c, "item", item)
                             + comparison_problems(sub_path, c, "item", item, inst))
            if type_problems:
                problems.extend(type_problems)
                continue
            named = []
            if "equals" in c and isinstance(c["equals"], str):
                named.append(c["equals"])
            named += [v for v in c.get("in", []) if isinstance(v, str)]
            if "includes" in c:
                named.append(c["includes"])
            if item.type in ("choice", "multi_choice"):
                for v in named:
                    if v not in item.values:
                        problems.append(
                            f"{sub_path}: {v!r} is not an answer option of {item.id} "
                            f"(options: {', '.join(item.values)})"
                        )
        elif "field" in c and c["field"] not in inst.fields:
            problems.append(f"{sub_path}.field: unknown field {c['field']!r} "
                            f"(fields: {', '.join(inst.fields) or 'none'})")
        elif "field" in c:
            target = inst.fields[c["field"]]
            problems.extend(_value_type_problems(sub_path, c, "field", target))
            problems.extend(comparison_problems(sub_path, c, "field", target, inst))
        elif "date_within" in c:
            for end in ("start", "end"):
                name = c["date_within"][end]
                f = inst.fields.get(name)
                if f is None or f.type != "date":
                    problems.append(f"{sub_path}.date_within.{end}: {name!r} is not a date field")
        elif form_only and any(k in c for k in ("score", "band", "level", "flag")):
            problems.append(f"{sub_path}: only items and fields can be tested here")
        elif "score" in c and c["score"] not in score_ids:
            problems.append(f"{sub_path}.score: unknown score {c['score']!r} "
                            f"(scores: {', '.join(score_ids) or 'none'})")
        elif "band" in c and c["band"] not in band_ids:
            problems.append(f"{sub_path}.band: unknown band {c['band']!r}")
        elif "flag" in c and in_flag and c["flag"] in {
                f.get("id") for f in inst.scoring.get("flags", [])}:
            problems.append(f"{sub_path}.flag: flags cannot test flags ({c['flag']!r} is a "
                            "flag); test the items, scores or bands that raise it, or make "
                            "this a criterion, which can test flags")
        elif "flag" in c and c["flag"] not in flag_ids:
            problems.append(f"{sub_path}.flag: unknown flag {c['flag']!r} "
                            f"(flags: {', '.join(flag_ids) or 'none'})")
        elif "level" in c and not inst.scoring.get("level"):
            problems.append(f"{sub_path}.level: the instrument declares no level")


def repeat_score_problems(inst: Instrument, score: dict[str, Any], path: str) -> list[str]:
    """A score over a repeating group's instances: the group exists, the items named are
    its items as declared (``children.age``), of a type the score can use."""
    kind = score["type"]
    group = inst.repeats.get(score.get("repeat", ""))
    if "repeat" not in score:
        return [f"{path}: only a score over a repeating group (\"repeat\") takes "
                + ("\"over\"" if "over" in score else "the type instances")]
    if group is None:
        return [f"{path}.repeat: unknown repeating group {score['repeat']!r} "
                f"(groups: {', '.join(inst.repeats) or 'none'})"]
    if kind == "instances":
        extra = sorted(set(score) & {"items", "item", "values", "order", "over"})
        return [f"{path}: an instances score counts the instances and takes no "
                f"{', '.join(extra)}"] if extra else []
    if kind not in ("count", "sum", "max", "indicator"):
        return [f"{path}.type: a score over a repeating group is instances, count, sum, max "
                "or indicator (with over any or all)"]
    if kind == "indicator" and "over" not in score:
        return [f"{path}: an indicator over a repeating group says \"over\": \"any\" or "
                "\"all\" (any instance, or every instance)"]
    if "missing" in score or "scores" in score or "when_unknown" in score:
        return [f"{path}: a score over a repeating group takes no missing, scores or "
                "when_unknown (it reads the instances given)"]
    named = [score["item"]] if kind == "indicator" else score.get("items", [])
    if not isinstance(named, list) or not named:
        return [f"{path}.items: name the group's items, for example "
                f"[\"{group.item_ids[0]}\"]"]
    problems = []
    for i, item_id in enumerate(named):
        if item_id not in group.item_ids:
            problems.append(f"{path}.items[{i}]: {item_id!r} is not an item of repeating group "
                            f"{group.id!r} (its items: {', '.join(group.item_ids)})")
    if problems:
        return problems
    specs = [inst.items[instance_item_id(i, 1)] for i in named]
    for item in specs:
        numeric = item.type in ("integer", "number")
        if kind in ("count", "indicator") and item.type not in ("choice", "multi_choice"):
            problems.append(f"{path}: {item.base!r} is of type {item.type}; a {kind} takes "
                            "choice items")
        elif kind == "sum" and not (numeric or item.type == "choice"):
            problems.append(f"{path}: {item.base!r} is of type {item.type}; a sum takes "
                            "numbers or single-choice items with numbered options")
        elif kind == "sum" and item.type == "choice":
            for opt in item.options:
                if (score.get("weights", {}).get(opt.value) is None and opt.numeric is None
                        and opt.missing is None):
                    problems.append(f"{path}: option {opt.value!r} of item {item.base!r} has "
                                    "no number (give it 'numeric' or add it to 'weights')")
        elif kind == "max" and numeric and "order" in score:
            problems.append(f"{path}.order: {item.base!r} is a number; a max of numbers is "
                            "the highest number and takes no order")
        elif kind == "max" and not numeric and (item.type != "choice" or "order" not in score):
            problems.append(f"{path}: {item.base!r} is of type {item.type}; a max takes "
                            "numbers, or single-choice items and an order")
    for key in ("values", "order"):
        allowed = {v for item in specs for v in item.values}
        for value in score.get(key, []):
            if value not in allowed:
                problems.append(f"{path}.{key}: value {value!r} is not an answer option of "
                                f"{', '.join(i.base or i.id for i in specs)} "
                                f"(options: {', '.join(sorted(allowed))})")
    return problems


def repeat_reference_problems(inst: Instrument) -> list[str]:
    """Items of a repeating group are tested only inside the group (an instance's show
    condition): a condition elsewhere, a required_to_finalise entry or a score that names
    one instance would read one child of many."""
    if not inst.repeats:
        return []
    problems = []

    def named(cond: Any) -> list[str]:
        return [c["item"] for _, c in _walk_conditions(cond, "$") if "item" in c]

    def in_group(item_id: str) -> str | None:
        parts = split_instance_id(item_id)
        if parts is not None and parts[0] in inst.repeats:
            return parts[0]
        head = item_id.split(".")[0]
        return head if head in inst.repeats and item_id in inst.repeats[head].item_ids else None

    for item in inst.items.values():
        if item.show_when is None or item.instance > 1:
            continue
        for ref in named(item.show_when):
            if item.repeat is not None and in_group(ref) not in (None, item.repeat):
                problems.append(f"$.items[{item.base}].show_when: {ref!r} is an item of "
                                f"repeating group {in_group(ref)!r}; a group's items can "
                                "test only the group's own items (of the same instance), "
                                "ordinary items and fields")
            elif item.repeat is None and in_group(ref):
                problems.append(f"$.items[{item.id}].show_when: {ref!r} is an item of "
                                f"repeating group {in_group(ref)!r}; only the group's own "
                                "items can test it (score it with \"repeat\" instead)")
    scoring = inst.scoring
    for kind in ("flags", "criteria"):
        for index, entry in enumerate(scoring.get(kind, [])):
            for ref in named(entry["when"]):
                if in_group(ref):
                    problems.append(f"$.scoring.{kind}[{index}].when: {ref!r} is an item of "
                                    f"repeating group {in_group(ref)!r}; test a score over "
                                    "the group (\"repeat\") instead")
    for index, score in enumerate(scoring.get("scores", [])):
        if "repeat" in score:
            continue
        refs = [score["item"]] if "item" in score else score.get("items", [])
        for ref in refs if isinstance(refs, list) else []:
            if in_group(ref):
                problems.append(f"$.scoring.scores[{index}]: {ref!r} is an item of repeating "
                                f"group {in_group(ref)!r}; a score over the group gives "
                                "\"repeat\"")
    for index, ref in enumerate(inst.definition.get("required_to_finalise", [])):
        if in_group(ref):
            problems.append(f"$.required_to_finalise[{index}]: {ref!r} is an item of "
                            f"repeating group {in_group(ref)!r}; give the group a min instead")
    return problems
