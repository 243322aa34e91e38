"""Answers to one instrument, checked against its definition.

Everything that reaches scoring or storage passes through ``check_submission``: unknown items,
answers that are not allowed values, wrong types, oversized text and judgements that name no
level are refused with one message per problem.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from fastjsonschema import JsonSchemaException

from .conditions import FormContext, evaluate_form_condition, form_condition
from .errors import SubmissionError, UnknownInstrumentError
from .instance_ids import same_instance
from .instruments import ANSWER_NAME_LIMIT, answers_validators, schema_problems

if TYPE_CHECKING:
    from .instruments import Instrument, InstrumentRegistry

DEFAULT_TEXT_LIMIT = 5000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass
class Submission:
    instrument_id: str
    version: str
    answers: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    judgement: dict[str, str] | None = None
    wording: str = "paraphrase"
    # answers carried forward from an earlier assessment and confirmed by a person:
    # item id -> the date (YYYY-MM-DD) of the assessment they were carried from
    carried: dict[str, str] = field(default_factory=dict)
    # items that say prefill which a person deliberately left unanswered on this occasion
    # (cleared the offered or saved answer and saved the page): kept with a draft so that
    # the earlier answer is not offered again
    declined: list[str] = field(default_factory=list)
    # fields the details page offers (today's date, what the case's previous assessment
    # recorded) that a person saved empty on purpose: not offered again in the draft
    declined_fields: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instrument": self.instrument_id,
            "version": self.version,
            "answers": self.answers,
        }
        if self.fields:
            out["fields"] = {k: (v.isoformat() if isinstance(v, dt.date) else v)
                             for k, v in self.fields.items()}
        if self.comments:
            out["comments"] = self.comments
        if self.sources:
            out["sources"] = self.sources
        if self.judgement:
            out["judgement"] = self.judgement
        if self.carried:
            out["carried"] = self.carried
        if self.declined:
            out["declined"] = self.declined
        if self.declined_fields:
            out["declined_fields"] = self.declined_fields
        out["wording"] = self.wording
        return out


ASSESSMENT_DATE = "assessment_date"  # the date an assessment was made: never in the future


def parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{str(value)[:40]!r} is not a real date") from None


def _number(value: Any, kind: str, minimum: float | None, maximum: float | None) -> float | int:
    if isinstance(value, bool):
        raise ValueError(f"must be a {'whole number' if kind == 'integer' else 'number'}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if kind == "integer" else float(text)
        except ValueError:
            raise ValueError(
                f"must be a {'whole number' if kind == 'integer' else 'number'}, not {text[:40]!r}"
            ) from None
    if kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("must be a whole number")
    elif not isinstance(value, (int, float)) or value != value:  # NaN
        raise ValueError("must be a number")
    if minimum is not None and value < minimum:
        raise ValueError(f"must be at least {minimum:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"must be at most {maximum:g}")
    return value


def named(spec: Any) -> str:
    """An item or field as a message names it (``Item.named``: an instance of a repeating
    group with its instance, "Child 2: Date of birth")."""
    return getattr(spec, "named", None) or spec.label


def check_value(spec: Any, value: Any) -> Any:
    """Check one answer or field value against its item/field spec; return it normalised."""
    kind = spec.type
    if kind == "choice":
        if not isinstance(value, str) or value not in spec.values:
            shown = repr(value[:60]) if isinstance(value, str) else repr(value)[:60]
            raise ValueError(f"answer {shown} is not one of {', '.join(spec.values)}")
        return value
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"must be a list of options from {', '.join(spec.values)}")
        bad = [v for v in value if v not in spec.values]
        if bad:
            raise ValueError(
                f"{bad[0][:60]!r} is not one of {', '.join(spec.values)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("lists an option twice")
        if len(value) > 1:
            alone = next((o for o in spec.options if o.exclusive and o.value in value), None)
            if alone is not None:
                raise ValueError(f"\u201c{alone.label}\u201d cannot be chosen with another "
                                 "answer: untick it or untick the others")
        return [v for v in spec.values if v in value]  # canonical order
    if kind in ("integer", "number"):
        return _number(value, kind, spec.minimum, spec.maximum)
    if kind == "date":
        day = parse_date(value)
        if getattr(spec, "assessment_date", False) and day > dt.date.today():
            raise ValueError(f"{named(spec)} must be today or in the past")
        for key in ("earliest", "latest"):
            bound = getattr(spec, key, None)
            if isinstance(bound, str):  # "today" or a date (another date: date_bound_problems)
                problem = bound_problem(key, day, _fixed_date(bound), bound)
                if problem:
                    raise ValueError(f"{named(spec)} {problem}")
        return day
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        limit = spec.max_length or DEFAULT_TEXT_LIMIT
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters long; the limit is {limit}")
        shortest = getattr(spec, "min_length", None)
        if shortest and value and len(value) < shortest:
            raise ValueError(f"must be at least {shortest} characters long "
                             f"(it is {len(value)})")
        pattern = getattr(spec, "pattern", None)
        if pattern and value and compiled_pattern(pattern).fullmatch(value) is None:
            raise ValueError(getattr(spec, "pattern_message", None)
                             or "is not in the form this question expects")
        return value
    raise ValueError(f"unsupported type {kind}")  # pragma: no cover - schema forbids


MAX_PATTERN = 500  # characters of a text item's pattern (the schema's limit)


@lru_cache(maxsize=512)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """A definition's text pattern compiled once (the definition check compiles it at load,
    so a pattern that does not compile never reaches an answer)."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"a pattern is at most {MAX_PATTERN} characters long")
    return re.compile(pattern)


def _fixed_date(bound: str) -> dt.date:
    return dt.date.today() if bound == "today" else dt.date.fromisoformat(bound)


def bound_words(key: str, bound: Any, day: dt.date, label: str | None = None) -> str:
    """What a date must be, in words: 'must not be in the future', 'must be on or after
    the date of referral (3 March 2026)'."""
    from .dates import date_text

    if bound == "today":
        return "must not be in the past" if key == "earliest" else "must not be in the future"
    relation = "on or after" if key == "earliest" else "on or before"
    if label is None:
        return f"must be {relation} {date_text(day)}"
    return f"must be {relation} {the_date_of(label)} ({date_text(day)})"


def the_date_of(label: str) -> str:
    """A date question's label as a noun phrase: 'Date of referral' -> 'the date of
    referral'; a question ('When did ...?') is quoted."""
    text = label.strip()
    if text.endswith("?"):
        return f"the date given for \u201c{text}\u201d"
    if text[:4].lower() == "the ":
        return text[0].lower() + text[1:]
    if len(text) > 1 and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return "the " + text


def bound_problem(key: str, day: dt.date, limit: dt.date, bound: Any,
                  label: str | None = None) -> str | None:
    """The message when ``day`` is outside an ``earliest`` or ``latest`` bound."""
    if (key == "earliest" and day < limit) or (key == "latest" and day > limit):
        return bound_words(key, bound, limit, label)
    return None


def date_bound_problems(inst: Instrument, answers: dict[str, Any],
                        fields: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Date answers outside a bound that is another date of the form (``{"field": id}``
    or ``{"item": id}``), as (``item`` or ``field``, id, message). A question of a repeating
    group bounded by another of the group's questions is checked against the same
    instance's date ("Child 2: ..."). A bound whose date is not given is not checked."""
    out = []
    for kind, spec, key, bound in _date_bounds(inst):
        values = fields if kind == "field" else answers
        if not isinstance(values.get(spec.id), dt.date):
            continue
        other: Any
        if "field" in bound:
            other, given = inst.fields.get(bound["field"]), fields.get(bound["field"])
        else:  # in a repeating group, its own item is the same instance's
            target = same_instance(inst, spec, bound["item"])
            other, given = inst.items.get(target), answers.get(target)
        if other is None or not isinstance(given, dt.date):
            continue
        problem = bound_problem(key, values[spec.id], given, bound, other.label)
        if problem:
            out.append((kind, spec.id, f"{named(spec)} {problem}"))
    return out


def _date_bounds(inst: Instrument) -> list[tuple[str, Any, str, dict[str, Any]]]:
    """(``field`` or ``item``, spec, ``earliest`` or ``latest``, bound) of every date bound
    that is another date of the form: worked out once per instrument (most have none)."""
    found = inst.__dict__.get("_date_bounds")
    if found is None:
        found = [(kind, spec, key, getattr(spec, key, None))
                 for kind, specs in (("field", inst.fields), ("item", inst.items))
                 for spec in specs.values() if spec.type == "date"
                 for key in ("earliest", "latest")
                 if isinstance(getattr(spec, key, None), dict)]
        inst.__dict__["_date_bounds"] = found
    return found


def missing_required_fields(inst: Instrument, sub: Submission) -> list[str]:
    """Required fields (for example the assessment date), then the items of the
    definition's ``required_to_finalise``, that a final record lacks."""
    return ([f.id for f in inst.fields.values() if f.required and f.id not in sub.fields]
            + missing_required_items(inst, sub.answers, sub.fields)
            + too_few_instances(inst, sub.answers))


def too_few_instances(inst: Instrument, answers: dict[str, Any]) -> list[str]:
    """The repeating groups with fewer instances given than their ``min``, each said as
    '<group> (at least <min>)'."""
    return [f"{g.id} (at least {g.minimum})" for g in inst.repeats.values()
            if g.count(answers) < g.minimum]


def missing_required_items(inst: Instrument, answers: dict[str, Any],
                           fields: dict[str, Any]) -> list[str]:
    """The items of ``required_to_finalise`` that are asked (their show condition holds)
    and not answered. Any answer counts, a 'not known' one too."""
    out = []
    for item_id in inst.definition.get("required_to_finalise", []):
        item = inst.items.get(item_id)
        if item is None or answers.get(item_id) not in (None, "", []):
            continue
        if item.show_when is None or evaluate_form_condition(item.show_when, answers, fields):
            out.append(item_id)
    return out


def require_fields_for_final(inst: Instrument, sub: Submission, where: str) -> None:
    missing = missing_required_fields(inst, sub)
    if missing:
        raise SubmissionError(where, [
            f"instrument {inst.id} v{inst.version}: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} required before the assessment is final"])


def _schema_refusal(where: str, data: Any) -> SubmissionError:
    """The refusal of data that fails the answers schema: every problem the schema finds."""
    return SubmissionError(where, schema_problems("answers", data)
                           or ["does not match the answers schema"])


def check_submission(registry: InstrumentRegistry, data: Any, *, where: str = "answers",
                     require_judgement_reason: bool = True) -> tuple[Instrument, Submission]:
    """Validate raw answers data; return the instrument and a normalised Submission.

    The answers schema is checked in two parts (``answers_validators``): the document but
    its answers first, then each answer that is not one of its choice item's options (an
    option passes the schema). Whatever fails either part is reported as the whole schema
    reports it, before anything else, as when the schema was checked in one go."""
    document, answer_value = answers_validators()
    try:
        document(data)
    except (JsonSchemaException, RecursionError):
        raise _schema_refusal(where, data) from None
    try:
        inst = registry.get(data["instrument"], data.get("version"))
    except UnknownInstrumentError as exc:
        problems = schema_problems("answers", data)  # the answers' own come first
        raise SubmissionError(where, problems or [str(exc)]) from None
    label = f"instrument {inst.id} v{inst.version}"
    problems = []
    answers: dict[str, Any] = {}
    choices = inst.choice_values
    nothing: frozenset[str] = frozenset()
    for item_id, value in data["answers"].items():
        if value.__class__ is str and value in choices.get(item_id, nothing):
            answers[item_id] = value  # one of a choice item's options: all check_value asks
            continue
        try:
            answer_value(value)
        except (JsonSchemaException, RecursionError):
            raise _schema_refusal(where, data) from None
        if len(item_id) > ANSWER_NAME_LIMIT:
            raise _schema_refusal(where, data)
        item = inst.items.get(item_id)
        if item is None:
            problems.append(f"{label}: unknown item {item_id[:128]!r}")
            continue
        if value is None:
            continue
        try:
            answers[item_id] = check_value(item, value)
        except ValueError as exc:
            problems.append(f"{label}: item {item_id}: {exc}")
    fields: dict[str, Any] = {}
    for name, value in (data.get("fields") or {}).items():
        spec = inst.fields.get(name)
        if spec is None:
            problems.append(
                f"{label}: unknown field {name[:64]!r} (fields: {', '.join(inst.fields) or 'none'})"
            )
            continue
        if value is None or value == "":
            continue
        try:
            fields[name] = check_value(spec, value)
        except ValueError as exc:
            problems.append(f"{label}: field {name}: {exc}")
    for kind in ("comments", "sources"):
        for item_id in data.get(kind) or {}:
            item = inst.items.get(item_id)
            if item is None:
                problems.append(f"{label}: {kind[:-1]} for unknown item {item_id[:128]!r}")
            elif not getattr(item, "comment" if kind == "comments" else "source"):
                problems.append(f"{label}: item {item_id} takes no {kind[:-1]}")
    for item_id, when in (data.get("carried") or {}).items():
        item = inst.items.get(item_id)
        if item is None:
            problems.append(f"{label}: carried forward answer for unknown item "
                            f"{item_id[:128]!r}")
        elif not item.prefill:
            problems.append(f"{label}: item {item_id} is not carried forward (its definition "
                            "does not say prefill)")
        elif data["answers"].get(item_id) is None:
            problems.append(f"{label}: item {item_id} is said to be carried forward but has "
                            "no answer")
        else:
            try:
                parse_date(when)
            except ValueError as exc:
                problems.append(f"{label}: carried forward item {item_id}: the date it was "
                                f"carried from {exc}")
    for item_id in data.get("declined") or []:
        item = inst.items.get(item_id)
        if item is None:
            problems.append(f"{label}: declined offer for unknown item {item_id[:128]!r}")
        elif not item.prefill:
            problems.append(f"{label}: item {item_id} is offered nothing to decline (its "
                            "definition does not say prefill)")
        elif data["answers"].get(item_id) not in (None, "", []):
            problems.append(f"{label}: item {item_id} is said to be left unanswered on "
                            "purpose but has an answer")
    for field_id in data.get("declined_fields") or []:
        if field_id not in inst.fields:
            problems.append(f"{label}: declined offer for unknown field {field_id[:64]!r}")
        elif (data.get("fields") or {}).get(field_id) not in (None, ""):
            problems.append(f"{label}: field {field_id} is said to be left empty on purpose "
                            "but has a value")
    judgement = data.get("judgement")
    if judgement:
        level = inst.scoring.get("level")
        if not level or not level.get("judgement", True):
            problems.append(f"{label}: this instrument takes no professional judgement")
        elif judgement["level"] not in level["order"]:
            problems.append(
                f"{label}: judgement level {judgement['level'][:64]!r} is not one of "
                f"{', '.join(level['order'])}"
            )
        if require_judgement_reason and not judgement["reason"].strip():
            problems.append(f"{label}: professional judgement needs a reason")
        if not judgement["by"].strip():
            problems.append(f"{label}: professional judgement needs the assessor's name")
    if not problems:
        for kind, spec_id, message in date_bound_problems(inst, answers, fields):
            problems.append(f"{label}: {kind} {spec_id}: {message}")
        form = FormContext(answers, fields)
        for item_id in list(answers):
            cond = inst.items[item_id].show_when
            if cond is not None and not form_condition(cond)(form):
                problems.append(
                    f"{label}: item {item_id} is answered but is only asked when its condition "
                    "holds; remove the answer or answer the question it depends on"
                )
    if problems:
        raise SubmissionError(where, problems)
    sub = Submission(
        instrument_id=inst.id,
        version=inst.version,
        answers=answers,
        fields=fields,
        comments={k: v for k, v in (data.get("comments") or {}).items() if v},
        sources={k: v for k, v in (data.get("sources") or {}).items() if v},
        judgement=dict(judgement) if judgement else None,
        wording=data.get("wording", "paraphrase"),
        carried={k: str(v) for k, v in (data.get("carried") or {}).items()},
        declined=list(dict.fromkeys(data.get("declined") or [])),
        declined_fields=list(dict.fromkeys(data.get("declined_fields") or [])),
    )
    return inst, sub
