"""WTForms classes built at run time from instrument definitions (never written by hand
per instrument), and the step from a posted section back to answers data.

One class per (instrument, version, section, wording): a section's items, each item's
comment and source-of-information fields when the definition offers them, and a hidden
revision for stale-edit detection. The details task holds the instrument's fields.
Every value is checked with the core's ``check_value``, the same check the store applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import Label
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..conditions import Context, evaluate_form_condition, page_program
from ..instance_ids import instance_item_id
from ..instruments import instance_label
from ..piping import has_pipes
from ..submission import DEFAULT_TEXT_LIMIT, check_value
from ..wording import Headings, item_text
from .dates import DatePartsText

DETAILS = "details"
SOURCE_LIMIT = 1000


def _name_part(item_id: str) -> str:
    """An item id as part of an HTML name or id: ``dash.injury`` -> ``dash-injury``, an
    instance of a repeating group ``children[2].age`` -> ``children--2-age`` (an item id
    never holds two dots together, so neither form can stand for another)."""
    return item_id.replace("[", "--").replace("]", "").replace(".", "-")


def answer_name(item_id: str) -> str:
    return "q-" + _name_part(item_id)


def comment_name(item_id: str) -> str:
    return "c-" + _name_part(item_id)


def source_name(item_id: str) -> str:
    return "s-" + _name_part(item_id)


def instances_name(group_id: str) -> str:
    """The hidden input that says how many instances of a repeating group a page shows."""
    return "instances-" + group_id


def repeat_of(inst, section_id: str):
    """The section's repeating group, or None."""
    if section_id == DETAILS:
        return None
    return next(s for s in inst.sections if s.id == section_id).repeat


def instances_shown(group, data: dict[str, Any], wanted: Any = None) -> int:
    """How many instances a page shows: those with an answer, comment or source, at least
    ``min``, or ``wanted`` (an added instance, not saved until answered) up to ``max``."""
    given = group.count(data["answers"], data.get("comments", {}), data.get("sources", {}))
    n = max(group.minimum, given)
    if isinstance(wanted, str) and wanted.isdigit() and len(wanted) <= 3:
        n = max(n, int(wanted))
    elif isinstance(wanted, int):
        n = max(n, wanted)
    return min(n, group.maximum)


def repeat_item_ids(group, n: int) -> list[str]:
    """The stored item ids of instances 1 to ``n`` of a repeating group, in page order."""
    return [i for k in range(1, n + 1) for i in group.ids(k)]


def posted_instances(group, formdata) -> int:
    """The number of instances the posted page showed (its hidden input), within limits."""
    text = (formdata.get(instances_name(group.id)) or "").strip()
    if not (text.isdigit() and len(text) <= 3):
        return group.minimum
    return max(0, min(int(text), group.maximum))


def remove_instance(group, data: dict[str, Any], k: int, n: int) -> None:
    """Remove instance ``k`` of ``n``: the later instances move up one (instance k+1
    becomes k), so that instances stay numbered 1 to n-1."""
    for kind in ("answers", "comments", "sources"):
        values = data.setdefault(kind, {})
        for j in range(k, n + 1):
            for base in group.item_ids:
                here = instance_item_id(base, j)
                values.pop(here, None)
                if j < n:
                    later = values.get(instance_item_id(base, j + 1))
                    if later not in (None, "", []):
                        values[here] = later


def field_name(field_id: str) -> str:
    return "f-" + field_id


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # values are checked against the definition instead
        pass


class Radios(RadioField):
    def pre_validate(self, form):
        pass


def _checked(spec):
    """A validator that applies the core's check to a non-empty value."""
    def validate(form, field):
        value = field.data
        if value in (None, "", []):
            return
        try:
            check_value(spec, value)
        except ValueError as exc:
            raise ValidationError(_plain(str(exc))) from None
    return validate


def _plain(message: str) -> str:
    if message.startswith("answer ") and "is not one of" in message:
        return _("Choose one of the answers shown")
    return message[0].upper() + message[1:]


def _limit(limit: int, what: Any):
    def validate(form, field):
        if field.data and len(field.data) > limit:
            raise ValidationError(_("%(what)s must be %(limit)s characters or fewer (it is "
                                    "%(length)s)", what=what, limit=limit,
                                    length=len(field.data)))
    return validate


def _input_for(spec, label: str, help_text: str | None, options: dict[str, str]):
    kw = {"label": label, "description": help_text or "", "validators": [_checked(spec)]}
    if spec.type == "choice":
        return Radios(choices=[SelectChoice(o.value, options.get(o.value, o.label))
                               for o in spec.options],
                      validate_choice=False, **kw)
    if spec.type == "multi_choice":
        return Checkboxes(choices=[SelectChoice(o.value, options.get(o.value, o.label))
                                   for o in spec.options], **kw)
    if spec.type == "text":
        return TextAreaField(**kw)
    if spec.type == "date":
        return DatePartsText(named_prefix=instance_label(spec, ""), **kw)
    return StringField(**kw)


class _GeneratedMeta(FlaskForm.Meta):
    """Binding for the generated forms.

    CSRF is checked for every POST by the application's CSRFProtect before any view runs,
    so these forms do not check it a second time (their pages send the same token).

    A section form has dozens of fields (each question with its comment and source), and
    WTForms builds every field again for each request. The first binding of each field is
    kept as a prototype; later requests get a copy of its attributes with this form set
    in. What processing and validation write (data, raw_data, errors) lives on the copy.
    """

    csrf = False

    def bind_field(self, form, unbound_field, options):
        protos = unbound_field.__dict__.setdefault("_prototypes", {})
        key = (options["name"], options["prefix"], id(options["translations"]))
        proto = protos.get(key)
        if proto is None:
            proto = protos[key] = unbound_field.bind(form=form, **options)
            proto.__dict__.pop("_form", None)
        field = object.__new__(type(proto))
        field.__dict__.update(proto.__dict__)
        field._form = form
        field.meta = self
        return field


class GeneratedForm(FlaskForm):
    Meta = _GeneratedMeta


_FORMS: dict[tuple, tuple[Any, type[FlaskForm]]] = {}


def section_form(inst, section_id: str, pack) -> type[FlaskForm]:
    """The form class for one section (cached; the instrument is kept with it so that its
    id() stays unique while cached)."""
    key = (id(inst), section_id, pack.ref if pack else None)
    found = _FORMS.get(key)
    if found is None:
        found = _FORMS[key] = (inst, _build(inst, section_id, pack))
    return found[1]


def whole_form(inst, pack) -> type[FlaskForm]:
    """Every section on one page plus a required reason: for amendments."""
    key = (id(inst), "__amend__", pack.ref if pack else None)
    found = _FORMS.get(key)
    if found is None:
        attrs: dict[str, Any] = {}
        for sid in section_ids(inst):
            attrs.update(_attrs(inst, sid, pack))
        attrs["reason"] = TextAreaField(
            _l("Reason for the amendment"),
            validators=[_required_reason, _limit(DEFAULT_TEXT_LIMIT, _l("The reason"))])
        name = f"Amend_{inst.id}_{inst.version}".replace("-", "_").replace(".", "_")
        found = _FORMS[key] = (inst, type(name, (GeneratedForm,), attrs))
    return found[1]


def _required_reason(form, field):
    if not (field.data or "").strip():
        raise ValidationError(_("Give the reason for the amendment"))


def _build(inst, section_id: str, pack) -> type[FlaskForm]:
    name = f"Form_{inst.id}_{inst.version}_{section_id}".replace("-", "_").replace(".", "_")
    return type(name, (GeneratedForm,), _attrs(inst, section_id, pack))


def _attrs(inst, section_id: str, pack) -> dict[str, Any]:
    attrs: dict[str, Any] = {"revision": HiddenField()}
    if section_id == DETAILS:
        words = Headings(inst, pack)
        for f in inst.fields.values():
            text = words.field(f.id)
            attrs[field_name(f.id)] = _input_for(f, text["label"], text["help"],
                                                 text["options"])
    else:
        section = next(s for s in inst.sections if s.id == section_id)
        every = list(section.item_ids)
        if section.repeat is not None:
            every += repeat_item_ids(section.repeat, section.repeat.maximum)
        for item_id in every:
            item = inst.items[item_id]
            text = item_text(inst, item_id, pack)
            attrs[answer_name(item_id)] = _input_for(item, text["label"], text["help"],
                                                     text["options"])
            if item.comment:
                attrs[comment_name(item_id)] = TextAreaField(
                    _l("Comment (optional)"),
                    validators=[_limit(DEFAULT_TEXT_LIMIT, _l("A comment"))])
            if item.source:
                attrs[source_name(item_id)] = StringField(
                    _l("Source of information, if not the person assessed (optional)"),
                    validators=[_limit(SOURCE_LIMIT, _l("The source"))])
    return attrs


def pipes_answers(inst, item_ids, pack) -> list[str]:
    """The items of a page whose label or hint pipes in an earlier answer."""
    out = []
    for item_id in item_ids:
        item = inst.items[item_id]
        texts = [item.label_source, item.help_source]
        if pack is not None and item_id in pack.items:
            texts += [pack.items[item_id].get("label"), pack.items[item_id].get("help")]
        if any(has_pipes(t) for t in texts):
            out.append(item_id)
    return out


def shown_answers(inst, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The saved answers of the items shown, and the fields, as the engine holds them."""
    fields = _typed_fields(inst, data.get("fields", {}))
    shown = visible_items(inst, data["answers"], fields)
    return ({k: v for k, v in typed_answers(inst, data["answers"]).items() if k in shown},
            fields)


def pipe_labels(form, inst, item_ids, pack, data: dict[str, Any]) -> None:
    """Put the answers saved so far into this request's labels and hints that pipe them
    (``{{item.<id>|<fallback>}}``). Set on this form's own fields only: the cached form
    class keeps the definition's wording. The text is plain and escaped when shown."""
    piped = pipes_answers(inst, item_ids, pack)
    if not piped:
        return
    answers, fields = shown_answers(inst, data)
    for item_id in piped:
        text = item_text(inst, item_id, pack, answers, fields)
        field = getattr(form, answer_name(item_id))
        field.label = Label(field.id, text["label"])
        field.description = text["help"] or ""


def section_ids(inst) -> list[str]:
    return ([DETAILS] if inst.fields else []) + [s.id for s in inst.sections]


def fill(form, inst, section_id: str, data: dict[str, Any]) -> None:
    """Put stored answers into a fresh (GET) form."""
    if section_id == DETAILS:
        for f in inst.fields.values():
            value = data.get("fields", {}).get(f.id)
            getattr(form, field_name(f.id)).data = "" if value is None else str(value)
        return
    section = next(s for s in inst.sections if s.id == section_id)
    every = list(section.item_ids)
    if section.repeat is not None:
        every += repeat_item_ids(section.repeat, section.repeat.maximum)
    for item_id in every:
        value = data["answers"].get(item_id)
        field = getattr(form, answer_name(item_id))
        if inst.items[item_id].type in ("integer", "number") and value is not None:
            value = str(value)
        field.data = value
        if inst.items[item_id].comment:
            getattr(form, comment_name(item_id)).data = data.get("comments", {}).get(item_id, "")
        if inst.items[item_id].source:
            getattr(form, source_name(item_id)).data = data.get("sources", {}).get(item_id, "")


def merge(form, inst, section_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The stored answers data with this section's posted values put in; answers to
    questions that are no longer shown are removed."""
    return merge_section(form, inst, section_id, data)[0]


def merge_section(form, inst, section_id: str, data: dict[str, Any], formdata: Any = None,
                  remove: int | None = None) -> tuple[dict[str, Any], set[str], list[str]]:
    """``merge``, the items shown for the merged answers, and the items whose answer,
    comment or source the merge removed because the merged answers hide them (the page
    must say so before saving: see ``hidden_answered``)."""
    out = {**data, "answers": dict(data["answers"]), "fields": dict(data.get("fields", {})),
           "comments": dict(data.get("comments", {})), "sources": dict(data.get("sources", {})),
           "carried": dict(data.get("carried", {})),
           "declined": list(data.get("declined", [])),
           "declined_fields": list(data.get("declined_fields", []))}
    if section_id == DETAILS:
        for f in inst.fields.values():
            value = getattr(form, field_name(f.id)).data
            text = value.strip() if isinstance(value, str) else ""
            out["fields"][f.id] = text or None
            if out["fields"][f.id] is None:
                del out["fields"][f.id]
    else:
        section = next(s for s in inst.sections if s.id == section_id)
        every = list(section.item_ids)
        group = section.repeat
        shown_n = 0
        if group is not None and formdata is not None:
            # the instances the page showed take the posted values; later ones are gone
            # (without the posted page, as in an amendment, the instances are left as saved)
            shown_n = posted_instances(group, formdata or {})
            every += repeat_item_ids(group, shown_n)
            for k in range(shown_n + 1, group.maximum + 1):
                for item_id in group.ids(k):
                    for kind in ("answers", "comments", "sources"):
                        out[kind].pop(item_id, None)
        for item_id in every:
            item = inst.items[item_id]
            value = getattr(form, answer_name(item_id)).data
            if isinstance(value, str):
                value = value.strip() if item.type != "text" else value
            if value in (None, "", []):
                out["answers"].pop(item_id, None)
            else:
                out["answers"][item_id] = value
            if item_id in out["carried"] and not same_answer(
                    item, data["answers"].get(item_id), out["answers"].get(item_id)):
                del out["carried"][item_id]  # changed: an answer given on this occasion
            for kind, name_of, on in (("comments", comment_name, item.comment),
                                      ("sources", source_name, item.source)):
                if on:
                    text = (getattr(form, name_of(item_id)).data or "").strip()
                    if text:
                        out[kind][item_id] = text
                    else:
                        out[kind].pop(item_id, None)
        if group is not None and remove is not None and 1 <= remove <= shown_n:
            remove_instance(group, out, remove, shown_n)
    if not out["carried"]:
        del out["carried"]
    out["declined"] = [i for i in out["declined"] if out["answers"].get(i) in (None, "", [])]
    if not out["declined"]:
        del out["declined"]
    out["declined_fields"] = [f for f in out["declined_fields"]
                              if out["fields"].get(f) in (None, "")]
    if not out["declined_fields"]:
        del out["declined_fields"]
    dropped = hidden_answered(inst, out)
    return out, prune(inst, out), dropped


def same_answer(item, before: Any, after: Any) -> bool:
    """Whether two answers to an item are the same answer once checked (``"3"`` and 3 are;
    a missing answer is the same only as another missing one)."""
    if before in (None, "", []) or after in (None, "", []):
        return before in (None, "", []) and after in (None, "", [])
    try:
        return check_value(item, before) == check_value(item, after)
    except ValueError:
        return False


def hidden_answered(inst, data: dict[str, Any]) -> list[str]:
    """Items, in the definition's order, that have an answer, comment or source although
    the answers hide them."""
    shown = visible_items(inst, data["answers"], _typed_fields(inst, data.get("fields", {})))
    given = set()
    for kind in ("answers", "comments", "sources"):
        given |= {k for k, v in data.get(kind, {}).items() if v not in (None, "", [])}
    return [i for i in inst.items if i in given and i not in shown]


def page_programs(inst, item_ids: list[str], data: dict[str, Any]) -> dict[str, str]:
    """For each item of a page that has a show condition, the condition as the page's
    script evaluates it (JSON text): tests of the page's own items kept, the rest decided
    from the stored answers and fields (``conditions.page_program``)."""
    on_page = frozenset(item_ids)
    fields = _typed_fields(inst, data.get("fields", {}))
    shown = visible_items(inst, data["answers"], fields)
    answers = {k: v for k, v in typed_answers(inst, data["answers"]).items() if k in shown}
    ctx = Context(answers=answers, fields=fields)
    return {i: json.dumps(page_program(inst.items[i].show_when, on_page, ctx),
                          separators=(",", ":"))
            for i in item_ids if inst.items[i].show_when is not None}


def typed_answers(inst, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers as the scoring engine holds them (a number item's answer a number);
    one that is not a valid answer counts as not known, as it would be refused."""
    out = {}
    for k, v in answers.items():
        spec = inst.items.get(k)
        if spec is None:
            continue
        try:
            out[k] = check_value(spec, v)
        except ValueError:
            continue
    return out


def visible_items(inst, answers: dict[str, Any], fields: dict[str, Any]) -> set[str]:
    """Items shown for these answers: repeated until stable, because hiding one question
    can hide another that depends on it. Answers are compared as the engine holds them
    (``typed_answers``), so that a condition on a number item means the same here, in the
    core's check and in the page's script."""
    current = typed_answers(inst, answers)
    while True:
        shown = {i.id for i in inst.items.values()
                 if i.show_when is None or evaluate_form_condition(i.show_when, current, fields)}
        kept = {k: v for k, v in current.items() if k in shown}
        if kept == current:
            return shown
        current = kept


def prune(inst, data: dict[str, Any]) -> set[str]:
    """Remove answers, comments and sources of items not shown; returns the items shown
    (the same for the pruned answers)."""
    shown = visible_items(inst, data["answers"], _typed_fields(inst, data.get("fields", {})))
    for kind in ("answers", "comments", "sources", "carried"):
        for item_id in [k for k in data.get(kind, {}) if k not in shown]:
            del data[kind][item_id]
    return shown


def _typed_fields(inst, fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in fields.items():
        spec = inst.fields.get(k)
        if spec is None:
            continue
        try:
            out[k] = check_value(spec, v)
        except ValueError:
            continue
    return out


def section_status(inst, section_id: str, data: dict[str, Any]) -> str:
    """not_started, in_progress or completed (every shown required item answered)."""
    if section_id == DETAILS:
        fields = data.get("fields", {})
        given = [f for f in inst.fields.values() if fields.get(f.id) not in (None, "")]
        if not given:
            return "not_started"
        needed = [f for f in inst.fields.values() if f.required]
        return "completed" if all(fields.get(f.id) not in (None, "") for f in needed) else (
            "in_progress")
    shown = visible_items(inst, data["answers"], _typed_fields(inst, data.get("fields", {})))
    section = next(s for s in inst.sections if s.id == section_id)
    every = list(section.item_ids)
    if section.repeat is not None:  # the instances given ask their questions too
        every += repeat_item_ids(section.repeat, instances_shown(section.repeat, data))
    ids = [i for i in every if i in shown]
    answered = [i for i in ids if i in data["answers"]]
    required = [i for i in ids if inst.items[i].required]
    if not answered:
        return "not_started"
    if all(i in data["answers"] for i in required):
        return "completed"
    return "in_progress"


def typed_fields(inst, fields: dict[str, Any]) -> dict[str, Any]:
    return _typed_fields(inst, fields)


def follow_ups(inst, item_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Questions of a page to nest under the option that reveals them (GOV.UK conditional
    reveal): an item whose show condition is one equality (``equals`` on a choice,
    ``includes`` on a multiple choice) on an earlier item of the same page, with a value
    that item offers. Returned as parent item -> option value -> follow-up items, in page
    order. Only one level deep: a question that reveals others is never itself nested."""
    seen: list[str] = []
    out: dict[str, dict[str, list[str]]] = {}
    for item_id in item_ids:
        cond = inst.items[item_id].show_when
        parent = cond.get("item") if isinstance(cond, dict) else None
        spec = inst.items.get(parent) if parent else None
        # a grid's rows neither reveal nor are revealed: a grid has no room for a nested
        # question, so a follow-up of a row is shown after the grid
        if inst.items[item_id].grid is not None or (spec is not None and spec.grid):
            spec = None
        if spec is not None and parent in seen and parent not in _children(out):
            key = "equals" if spec.type == "choice" else "includes"
            values = {o.value for o in spec.options}
            if (spec.type in ("choice", "multi_choice") and set(cond) == {"item", key}
                    and cond[key] in values):
                out.setdefault(parent, {}).setdefault(cond[key], []).append(item_id)
                continue
        seen.append(item_id)
    return out


def _children(groups: dict[str, dict[str, list[str]]]) -> set[str]:
    return {c for by_value in groups.values() for cs in by_value.values() for c in cs}


@dataclass(frozen=True)
class Block:
    """What a page shows as one piece: a single question (``grid`` None), or the
    consecutive rows of one grid (a Likert or matrix layout)."""

    item_ids: tuple[str, ...]
    grid: Any = None  # instruments.Grid

    @property
    def item_id(self) -> str:
        return self.item_ids[0]


def blocks(inst, item_ids: list[str], nested: set[str] | frozenset[str] = frozenset()
           ) -> list[Block]:
    """The page's questions grouped for the templates: each run of consecutive rows of one
    grid is one block, every other question a block of its own. Questions in ``nested``
    (follow-ups shown inside another question's reveal) are left out."""
    out: list[Block] = []
    for item_id in item_ids:
        if item_id in nested:
            continue
        item = inst.items[item_id]
        grid = None
        if item.grid is not None:
            section = next((s for s in inst.sections if s.id == item.section), None)
            grid = section.grid(item.grid) if section is not None else None
        if grid is not None and out and out[-1].grid is not None and out[-1].grid.id == grid.id:
            out[-1] = Block(out[-1].item_ids + (item_id,), grid)
        else:
            out.append(Block((item_id,), grid))
    return out


def grid_program(block: Block, programs: dict[str, str]) -> str | None:
    """The show condition of a grid as the page's script evaluates it (JSON text): shown
    while any of its rows is. None when a row is always asked (the grid always is)."""
    if any(i not in programs for i in block.item_ids):
        return None
    return json.dumps({"any": [json.loads(programs[i]) for i in block.item_ids]},
                      separators=(",", ":"))
