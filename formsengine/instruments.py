"""Load and validate instrument definitions; the registry keyed by (id, version).

A definition is data (``schemas/instrument.schema.json``). It is checked twice: first
against the JSON Schema, then for meaning (every reference resolves, every value named in
scoring is an allowed answer). Each problem is reported with the plugin, the file and the
JSON path, and what would be valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from .bounded import DuplicateKey, TooLarge, no_duplicate_keys, read_bounded
from .errors import DefinitionError, DuplicateInstrumentError, UnknownInstrumentError
from .instance_ids import instance_item_id
from .occasions import AD_HOC, Occasion, declared
from .piping import has_pipes, with_fallbacks

MAX_DEFINITION_BYTES = 2_000_000
DEFAULT_DATE_FIELD = "assessment_date"
AT_LEAST = "_at_least"  # the companion of a score that is not known when an item is not
MISSING_KINDS = ("dont_know", "declined", "not_asked", "not_known")


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("formsengine").joinpath("schemas", f"{name}.schema.json").read_text()
    return json.loads(text)


@cache
def schema_validator(name: str) -> jsonschema.protocols.Validator:
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


MAX_NESTING = 64


def nesting_depth(data: Any) -> int:
    """How deeply ``data`` nests lists and objects (without recursion)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        obj, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(obj, dict):
            children = obj.values()
        elif isinstance(obj, list):
            children = obj
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        stack.extend((c, depth + 1) for c in children)
    return deepest


def json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _names(keys: list[str]) -> str:
    quoted = [f"'{k}'" for k in keys]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _plain_words(error: ValidationError) -> str | None:
    """Plain words for the schema errors whose jsonschema message pastes the definition and
    the schema (``... should not be valid under {...}``, ``... is valid under each of``,
    ``... is not valid under any of the given schemas``)."""
    instance, value = error.instance, error.validator_value
    kind = ""
    if isinstance(instance, dict) and isinstance(instance.get("type"), str):
        kind = f" when the type is {instance['type']!r}"
    if error.validator == "not" and isinstance(value, dict) and set(value) == {"required"}:
        keys = list(value["required"])
        return f"{_names(keys)} {'is' if len(keys) == 1 else 'are'} not allowed here{kind}"
    if error.validator in ("oneOf", "anyOf") and isinstance(value, list) and all(
            isinstance(v, dict) and set(v) == {"required"} for v in value):
        keys = [k for v in value for k in v["required"]]
        present = [k for k in keys if isinstance(instance, dict) and k in instance]
        if len(present) > 1:
            return f"give only one of {' or '.join(repr(k) for k in present)}{kind}, not both"
        return f"give one of {' or '.join(repr(k) for k in keys)}{kind}"
    if error.validator in ("oneOf", "anyOf"):
        what = f" ({', '.join(sorted(instance))})" if isinstance(instance, dict) else ""
        return ("is not one of the allowed forms" + what
                + "; see docs/definitions.md for what may appear here")
    return None


def _describe(error: ValidationError) -> str:
    """One schema error as 'path: problem (what would be valid)'."""
    deepest = best_match([error]) if error.context else error
    plain = _plain_words(deepest)
    if plain is not None:
        return f"{json_path(deepest.absolute_path)}: {plain}"
    hint = ""
    schema = deepest.schema if isinstance(deepest.schema, dict) else {}
    if deepest.validator == "enum":
        hint = f" (valid: {', '.join(map(str, schema.get('enum', [])))})"
    elif deepest.validator == "pattern":
        hint = f" (must match {schema.get('pattern')})"
    elif deepest.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        if allowed:
            hint = f" (allowed here: {', '.join(allowed)})"
    return f"{json_path(deepest.absolute_path)}: {_quoted_safely(deepest)}{hint}"


FREE_TEXT_KEYS = frozenset({"comments", "sources", "reason"})


def _quoted_safely(error: ValidationError) -> str:
    """jsonschema's message with the offending value quoted at most 80 characters long, and
    never quoted when it is free text (a comment, a source, a reason: it may name someone)
    or not text at all."""
    message = error.message
    value = error.instance
    if isinstance(value, (str, list, dict)):
        shown = repr(value)
        if shown in message:
            free = any(str(part) in FREE_TEXT_KEYS for part in error.absolute_path)
            if isinstance(value, str) and not free and len(shown) <= 80:
                return message
            what = (f"the text ({len(value)} characters)" if isinstance(value, str)
                    else "the value")
            return message.replace(shown, what)
    return message


@cache
def fast_validator(name: str) -> Any:
    """The schema compiled to Python by fastjsonschema: a quick yes for valid data."""
    schema = {k: v for k, v in load_schema(name).items() if k not in ("$schema", "$id")}
    return fastjsonschema.compile(schema)


FAST_SCHEMAS = frozenset({"answers"})
ANSWER_NAME_LIMIT = 128  # the answers schema's propertyNames maxLength


@cache
def answers_validators() -> tuple[Any, Any]:
    """The answers schema compiled in two parts: (the document without its answers' names
    and values, one answer's value). A document passes the whole schema when it passes the
    first, each answer's name is at most ``ANSWER_NAME_LIMIT`` characters and each value
    passes the second: ``check_submission`` checks the values it cannot take as one of a
    choice item's options (which satisfy both) with the second."""
    schema = {k: v for k, v in load_schema("answers").items() if k not in ("$schema", "$id")}
    answers = schema["properties"]["answers"]
    if set(answers) != {"type", "maxProperties", "propertyNames", "additionalProperties"} \
            or answers["propertyNames"] != {"maxLength": ANSWER_NAME_LIMIT}:
        raise ValueError("the answers schema's answers are not what answers_validators splits")
    document = dict(schema, properties={
        **schema["properties"],
        "answers": {"type": "object", "maxProperties": answers["maxProperties"]}})
    return fastjsonschema.compile(document), fastjsonschema.compile(
        answers["additionalProperties"])


def schema_problems(name: str, data: Any) -> list[str]:
    """Every problem of ``data`` against schema ``name``, each as 'path: problem'.

    Valid data passes a compiled validator (about 25 microseconds for an answers file);
    only invalid data goes through jsonschema, which lists every problem."""
    if name in FAST_SCHEMAS:
        try:
            fast_validator(name)(data)
            return []
        except (fastjsonschema.JsonSchemaException, RecursionError):
            pass
    cached = None
    if name == "instrument":  # validated once per version of a definition (validity.py)
        from . import validity

        # a definition found valid before was no deeper than MAX_NESTING
        seen, cached = validity.known_valid(load_schema(name), data, schema_name=name)
        if seen:
            return []
    if nesting_depth(data) > MAX_NESTING:
        return [f"$: nested more than {MAX_NESTING} levels deep"]
    validator = schema_validator(name)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if cached and not errors:
        validity.remember_valid(cached)
    return [_describe(e) for e in errors]


def read_json_file(path: Path, *, max_bytes: int = MAX_DEFINITION_BYTES) -> Any:
    """Read a JSON file with a size limit and a clear message for each failure (a key
    written twice in one object is one)."""
    try:
        raw = read_bounded(path, max_bytes)
    except TooLarge:
        raise DefinitionError(
            str(path), [f"file is too large: the limit is {max_bytes} bytes"]
        ) from None
    except OSError as exc:
        raise DefinitionError(str(path), [f"cannot read file: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            str(path), [f"not UTF-8 text (bad byte at offset {exc.start})"]
        ) from None
    try:
        return json.loads(text, object_pairs_hook=no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            str(path), [f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except DuplicateKey as exc:
        raise DefinitionError(
            str(path), [f"the key {str(exc)[:80]!r} is written twice in one object: only the "
                        "last would be kept; remove or merge the other"]) from None
    except RecursionError:
        raise DefinitionError(str(path), ["JSON nested too deeply"]) from None
    except ValueError as exc:  # for example a number with thousands of digits
        raise DefinitionError(str(path), [f"not usable JSON: {str(exc)[:120]}"]) from None


INSTRUMENT_SCHEMA_ID = "urn:formsengine:schema:instrument:1"


def declares_instrument_schema(value: Any) -> bool:
    """Whether a ``$schema`` value names the instrument definition schema (its id, or a
    path or address ending in ``instrument.schema.json``)."""
    return isinstance(value, str) and (
        value == INSTRUMENT_SCHEMA_ID or value.endswith("instrument.schema.json"))


def looks_like_definition(path: Path) -> bool:
    """Whether a JSON file in a definitions folder is offered as an instrument definition.

    A file that declares the instrument schema (``"$schema"``) always is; a file that
    declares another schema never is; a file without ``$schema`` is when it is an object
    with ``id`` and ``sections``. Anything else (an author's helper file: a list of
    options, notes, a configuration) is left alone. A file that cannot be read or is not
    JSON is offered, so that its problem is reported rather than hidden."""
    try:
        data = read_json_file(path)
    except DefinitionError:
        return True
    if not isinstance(data, dict):
        return False
    if "$schema" in data:
        return declares_instrument_schema(data["$schema"])
    return "id" in data and "sections" in data


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    hint: str | None = None
    missing: str | None = None
    incomplete: bool = False
    numeric: float | None = None
    # multi_choice: an answer that stands alone ("none of these")
    exclusive: bool = False


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    label: str
    section: str
    help: str | None = None
    options: tuple[Option, ...] = ()
    required: bool = True
    show_when: dict | None = None
    comment: bool = False
    source: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    # the label and help as written, when they pipe in earlier answers (piping.py);
    # ``label`` and ``help`` then hold the definition's wording, each pipe's fallback
    label_source: str | None = None
    help_source: str | None = None
    min_length: int | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    earliest: Any = None
    latest: Any = None
    # a sum score counts the item reversed (highest + lowest - number)
    reverse: bool = False
    # the id of the grid (a Likert or matrix layout of its section) it is a row of
    grid: str | None = None
    # an item of one instance of a repeating group: the group's id, the instance (from 1)
    # and the item as the definition declares it (``children.age`` for ``children[2].age``)
    repeat: str | None = None
    instance: int = 0
    base: str | None = None
    # offered from the person's latest finalised assessment when a new one is started
    prefill: bool = False
    # what one instance of its repeating group is called ("Child"), for ``named``
    group_label: str | None = None

    @cached_property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    @property
    def named(self) -> str:
        """The item as a message names it: its label, and for an instance of a repeating
        group the instance first ("Child 2: Age in years"), as check your answers heads it."""
        return instance_label(self, self.label)

    @property
    def detail(self) -> bool:
        """An optional follow-up question: not required, and asked only when its
        ``show_when`` holds (for example what the injuries are, after an injury item)."""
        return not self.required and self.show_when is not None

    def option(self, value: str) -> Option | None:
        for o in self.options:
            if o.value == value:
                return o
        return None


@dataclass(frozen=True)
class Field:
    id: str
    type: str
    label: str
    help: str | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    pattern_message: str | None = None
    earliest: Any = None
    latest: Any = None
    identifying: bool = False
    # the field that dates the assessment (the definition's ``assessment_date_field``)
    assessment_date: bool = False

    @property
    def named(self) -> str:
        """The field as a message names it: its label."""
        return self.label


@dataclass(frozen=True)
class Grid:
    """A Likert or matrix layout: single-choice items of one section that share their
    options, shown as the rows of one grid (a fieldset of fieldsets). Only the layout
    changes: each row is still an item, scored, checked and exported as one."""

    id: str
    label: str
    help: str | None = None


def instance_label(item: Any, label: str) -> str:
    """``label`` (an item's label, perhaps in a wording pack's words) as a message or a list
    of answers names the item: an instance's item with the instance before it ("Child 2:
    Age in years"); any other item's label as it is."""
    if getattr(item, "repeat", None) is None:
        return label
    return f"{item.group_label or item.repeat} {item.instance}: {label}"


def instance_condition(cond: Any, group: str, n: int) -> Any:
    """A show condition of a repeating group's item, for instance ``n``: a test of another
    item of the group tests that item of the same instance."""
    if isinstance(cond, dict):
        out = {k: instance_condition(v, group, n) if k in ("all", "any", "not") else v
               for k, v in cond.items()}
        item = cond.get("item")
        if isinstance(item, str) and item.startswith(group + "."):
            out["item"] = instance_item_id(item, n)
        return out
    if isinstance(cond, list):
        return [instance_condition(c, group, n) for c in cond]
    return cond


@dataclass(frozen=True)
class Repeat:
    """A repeating group: a block of items asked once per instance (one per child of the
    household), from ``min`` to ``max`` instances. Instance ``n`` of item ``children.age``
    is stored as item ``children[n].age``; the number of instances is the highest instance
    with an answer (no separate count is stored)."""

    id: str
    label: str
    section: str
    minimum: int
    maximum: int
    item_ids: tuple[str, ...]  # as declared: ``children.age``
    help: str | None = None
    add_label: str | None = None

    def ids(self, n: int) -> tuple[str, ...]:
        """The stored item ids of instance ``n``."""
        return tuple(instance_item_id(i, n) for i in self.item_ids)

    def count(self, answers: Any, *others: Any) -> int:
        """The number of instances: the highest with an answer (or a comment or source in
        ``others``)."""
        for n in range(self.maximum, 0, -1):
            if any(i in answers or any(i in o for o in others) for i in self.ids(n)):
                return n
        return 0


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    description: str | None
    item_ids: tuple[str, ...]
    grids: tuple[Grid, ...] = ()
    # its repeating group, asked after its items (``item_ids`` never holds its items)
    repeat: Repeat | None = None

    def grid(self, grid_id: str) -> Grid | None:
        """The section's grid with this id, or None."""
        return next((g for g in self.grids if g.id == grid_id), None)


@dataclass
class Instrument:
    """A validated instrument definition."""

    id: str
    version: str
    title: str
    definition: dict[str, Any]
    sections: tuple[Section, ...]
    items: dict[str, Item]
    fields: dict[str, Field]
    plugin: str = "unknown"
    plugin_version: str = "unknown"
    source: str | None = None
    test_vectors: list[dict[str, Any]] = field(default_factory=list)
    # rebuilt from the database's snapshot because its file is gone (store/snapshots.py):
    # its stored assessments still work; no new assessment is started with it
    retired: bool = False

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the definition as canonical JSON (keys sorted, no spaces)."""
        from .store.snapshots import content_hash

        return content_hash(self.definition)

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @cached_property
    def choice_values(self) -> dict[str, frozenset[str]]:
        """The options of each single-choice item, by item id: an answer that is one of
        them needs no other check, against the answers schema (an option is a short text,
        an item id at most ``ANSWER_NAME_LIMIT`` characters: an id longer than that, which
        an instance of a repeating group could reach, is left out) or the item
        (``check_submission`` takes it as it is)."""
        return {item_id: frozenset(item.values) for item_id, item in self.items.items()
                if item.type == "choice" and len(item_id) <= ANSWER_NAME_LIMIT}

    @property
    def assessment_date_field(self) -> str:
        """The id of the date field that dates the assessment (``assessment_date`` unless
        the definition names another): the store, schedules, comparisons and exports use
        it, never the time of entry."""
        return str(self.definition.get("assessment_date_field", DEFAULT_DATE_FIELD))

    @property
    def scoring(self) -> dict[str, Any]:
        return self.definition.get("scoring", {})

    @cached_property
    def score_specs(self) -> list[dict[str, Any]]:
        """The definition's scores with the companions it implies: after each count or sum
        declared with ``"when_unknown": "not_known"`` (not known when any of its items is),
        ``<id>_at_least``, the same count or sum over the known answers only."""
        out: list[dict[str, Any]] = []
        for spec in self.scoring.get("scores", []):
            out.append(spec)
            if spec.get("when_unknown") == "not_known":
                companion = {k: v for k, v in spec.items()
                             if k not in ("when_unknown", "unknown_if_missing")}
                companion["id"] = spec["id"] + AT_LEAST
                companion["label"] = (spec.get("label", spec["id"])
                                      + " (at least: known answers only)")
                companion["companion_of"] = spec["id"]
                out.append(companion)
        return out

    @cached_property
    def repeats(self) -> dict[str, Repeat]:
        """The repeating groups by id."""
        return {s.repeat.id: s.repeat for s in self.sections if s.repeat is not None}

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.definition.get("parameters", {})

    @property
    def occasions(self) -> list[str]:
        """The ids of the occasions it is declared for, in their order."""
        return [o.id for o in self.declared_occasions]

    @cached_property
    def declared_occasions(self) -> tuple[Occasion, ...]:
        """Each declared occasion with its label and default due offset (an organisation's
        configuration may change the offsets: ``Engine.occasions_for``)."""
        return tuple(declared(self.definition))

    @property
    def subject_role(self) -> str:
        return self.definition["subject_role"]

    def default_parameters(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.parameters.items()}

    def item_set(self, spec: Any) -> list[str]:
        """Resolve an item-set spec (list, {"section": id} or "all") to item ids."""
        if spec == "all":  # a repeating group's items are scored with "repeat"
            return [i.id for i in self.items.values() if i.type == "choice" and not i.repeat]
        if isinstance(spec, dict):
            sec = next(s for s in self.sections if s.id == spec["section"])
            return [i for i in sec.item_ids if self.items[i].type == "choice"]
        return list(spec)

    def completeness_items(self) -> list[str]:
        spec = self.scoring.get("completeness_items")
        if spec is not None:
            return self.item_set(spec)
        return [i.id for i in self.items.values()
                if i.type == "choice" and i.required and not i.repeat]

    def summary(self) -> dict[str, Any]:
        """What ``formsengine instruments list`` shows: ``details`` counts the optional
        follow-up questions (see ``Item.detail``), ``items`` every other item; a repeating
        group's items are counted once, as declared, and ``repeats`` (only when there are
        groups) gives each group's min and max."""
        declared = [i for i in self.items.values() if i.instance <= 1]
        details = sum(1 for i in declared if i.detail)
        out: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "subject_role": self.subject_role,
            "items": len(declared) - details,
            "details": details,

            "occasions": self.occasions,
        }
        if self.repeats:
            out["repeats"] = {g.id: {"min": g.minimum, "max": g.maximum}
                              for g in self.repeats.values()}
        return out


def _options(raw: Any, option_sets: dict[str, Any]) -> tuple[Option, ...]:
    if isinstance(raw, str):
        raw = option_sets[raw]
    return tuple(
        Option(
            value=o["value"],
            label=o["label"],
            hint=o.get("hint"),
            missing=o.get("missing"),
            incomplete=bool(o.get("incomplete", False)),
            numeric=o.get("numeric"),
            exclusive=bool(o.get("exclusive", False)),
        )
        for o in raw or ()
    )


ANSWER_CHECKS = ("min_length", "pattern", "pattern_message", "earliest", "latest")


def _answer_checks(raw: dict[str, Any]) -> dict[str, Any]:
    """The checks on a text or date answer that an item or field declares."""
    return {k: raw.get(k) for k in ANSWER_CHECKS}


def build_instrument(data: dict[str, Any], *, plugin: str, plugin_version: str,
                     source: str | None) -> Instrument:
    """Validate ``data`` and return an Instrument, or raise DefinitionError."""
    where = f"plugin {plugin!r}" + (f" file {source}" if source else "")
    if isinstance(data, dict) and "id" in data:
        where += f" instrument {data.get('id')!r}"
    problems = nested_repeat_problems(data) or schema_problems("instrument", data)
    if problems:
        raise DefinitionError(where, problems)
    option_sets = data.get("option_sets", {})
    problems = []
    for name_path, name in _option_set_refs(data):
        if name not in option_sets:
            problems.append(
                f"{name_path}: option set {name!r} is not defined "
                f"(defined: {', '.join(sorted(option_sets)) or 'none'})"
            )
    seen_occasions: set[str] = set()
    for o_index, entry in enumerate(data["occasions"]):
        oid = entry if isinstance(entry, str) else entry["id"]
        if oid in seen_occasions:
            problems.append(f"$.occasions[{o_index}]: occasion {oid!r} is declared twice")
        if oid == AD_HOC and isinstance(entry, dict) and "due" in entry:
            problems.append(f"$.occasions[{o_index}].due: {AD_HOC} is used when needed "
                            "and cannot fall due")
        seen_occasions.add(oid)
    if problems:
        raise DefinitionError(where, problems)
    items: dict[str, Item] = {}
    sections = []
    for s_index, sec in enumerate(data["sections"]):
        ids = []
        for i_index, raw in enumerate(sec.get("items", [])):
            if raw["id"] in items:
                problems.append(
                    f"$.sections[{s_index}].items[{i_index}].id: item id {raw['id']!r} "
                    "is used twice"
                )
                continue
            items[raw["id"]] = _item(raw, sec["id"], option_sets, grid=raw.get("grid"),
                                     prefill=bool(raw.get("prefill", False)))
            ids.append(raw["id"])
        grids = tuple(Grid(g["id"], g["label"], g.get("help")) for g in sec.get("grids", []))
        repeat = None
        if "repeat" in sec:
            repeat = _repeat(sec["repeat"], sec["id"], f"$.sections[{s_index}].repeat",
                             option_sets, items, problems)
        sections.append(Section(sec["id"], sec["title"], sec.get("description"), tuple(ids),
                                grids, repeat))
    fields = {}
    date_field = data.get("assessment_date_field", DEFAULT_DATE_FIELD)
    for f_index, raw in enumerate(data.get("fields", [])):
        if raw["id"] in fields:
            problems.append(f"$.fields[{f_index}].id: field id {raw['id']!r} is used twice")
        fields[raw["id"]] = Field(
            id=raw["id"],
            type=raw["type"],
            label=raw["label"],
            help=raw.get("help"),
            required=raw.get("required", False),
            options=_options(raw.get("options"), option_sets),
            minimum=raw.get("minimum"),
            maximum=raw.get("maximum"),
            max_length=raw.get("max_length"),
            **_answer_checks(raw),
            identifying=raw.get("identifying", False),
            assessment_date=raw["id"] == date_field and raw["type"] == "date",
        )
    if "assessment_date_field" in data and not (
            date_field in fields and fields[date_field].type == "date"):
        dates = sorted(f.id for f in fields.values() if f.type == "date")
        problems.append(f"$.assessment_date_field: {date_field!r} is not a date field "
                        f"(date fields: {', '.join(dates) or 'none'})")
    section_ids = [s.id for s in sections]
    if len(set(section_ids)) != len(section_ids):
        problems.append("$.sections: section ids must be unique")
    instrument = Instrument(
        id=data["id"],
        version=data["version"],
        title=data["title"],
        definition=data,
        sections=tuple(sections),
        items=items,
        fields=fields,
        plugin=plugin,
        plugin_version=plugin_version,
        source=source,
        test_vectors=list(data.get("test_vectors", [])),
    )
    if not problems:
        from .definition_checks import semantic_problems

        problems = semantic_problems(instrument)
    if problems:
        raise DefinitionError(where, problems)
    return instrument


def _item(raw: dict[str, Any], section: str, option_sets: dict[str, Any],
          **extra: Any) -> Item:
    return Item(
        id=raw["id"],
        type=raw["type"],
        label=with_fallbacks(raw["label"]) or raw["label"],
        section=section,
        help=with_fallbacks(raw.get("help")),
        label_source=raw["label"] if has_pipes(raw["label"]) else None,
        help_source=raw["help"] if has_pipes(raw.get("help")) else None,
        options=_options(raw.get("options"), option_sets),
        required=raw.get("required", True),
        show_when=raw.get("show_when"),
        comment=raw.get("comment", False),
        source=raw.get("source", False),
        minimum=raw.get("minimum"),
        maximum=raw.get("maximum"),
        max_length=raw.get("max_length"),
        reverse=bool(raw.get("reverse", False)),
        **_answer_checks(raw),
        **extra,
    )


def _repeat(raw: dict[str, Any], section: str, path: str, option_sets: dict[str, Any],
            items: dict[str, Item], problems: list[str]) -> Repeat:
    """A section's repeating group; its items of every instance go into ``items`` (as
    ``<group>[n].<name>``, their show conditions made to test the same instance)."""
    group = raw["id"]
    declared = []
    for i_index, item in enumerate(raw["items"]):
        if not item["id"].startswith(group + "."):
            problems.append(f"{path}.items[{i_index}].id: an item of repeating group "
                            f"{group!r} has an id that starts with '{group}.' "
                            f"(for example '{group}.{item['id'].split('.')[-1]}')")
        elif "grid" in item:
            problems.append(f"{path}.items[{i_index}].grid: an item of a repeating group "
                            "cannot be a grid row")
        elif item.get("prefill"):
            problems.append(f"{path}.items[{i_index}].prefill: answers of a repeating group "
                            "are not carried forward from the previous assessment (the "
                            "children may not be the same ones)")
        elif item["id"] in declared:
            problems.append(f"{path}.items[{i_index}].id: item id {item['id']!r} is used twice")
        else:
            declared.append(item["id"])
    repeat = Repeat(group, raw["label"], section, raw.get("min", 0), raw["max"],
                    tuple(declared), raw.get("help"), raw.get("add_label"))
    if raw.get("min", 0) > raw["max"]:
        problems.append(f"{path}: min ({raw.get('min', 0)}) is more than max ({raw['max']})")
        return repeat
    by_id = {item["id"]: item for item in raw["items"]}
    for n in range(1, repeat.maximum + 1):
        for base in declared:
            spec = by_id[base]
            item = _item(spec, section, option_sets, repeat=group, instance=n, base=base,
                         group_label=repeat.label)
            cond = spec.get("show_when")
            item = replace(item, id=instance_item_id(base, n),
                           show_when=None if cond is None else instance_condition(cond, group, n))
            if item.id in items:
                problems.append(f"{path}: item id {item.id!r} is used twice")
            items[item.id] = item
    return repeat


def nested_repeat_problems(data: Any) -> list[str]:
    """Repeating groups inside repeating groups, which the language does not support (said
    before the schema's own message)."""
    out: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return out
    for s_index, sec in enumerate(data["sections"]):
        rep = sec.get("repeat") if isinstance(sec, dict) else None
        if not isinstance(rep, dict) or not isinstance(rep.get("items"), list):
            continue
        for i_index, item in enumerate(rep["items"]):
            if isinstance(item, dict) and ("repeat" in item or "items" in item):
                out.append(f"$.sections[{s_index}].repeat.items[{i_index}]: repeating groups "
                           "cannot be nested (a group inside a group is not supported); "
                           "ask about each instance's own list in a separate group or as a "
                           "multiple-choice item")
    return out


def _option_set_refs(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for s, sec in enumerate(data["sections"]):
        listed = list(enumerate(sec.get("items", [])))
        for i, item in listed:
            if isinstance(item.get("options"), str):
                yield f"$.sections[{s}].items[{i}].options", item["options"]
        for i, item in enumerate(sec.get("repeat", {}).get("items", [])):
            if isinstance(item.get("options"), str):
                yield f"$.sections[{s}].repeat.items[{i}].options", item["options"]


class InstrumentRegistry:
    """Every registered instrument, keyed by (id, version)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], Instrument] = {}

    def add(self, instrument: Instrument) -> None:
        existing = self._by_key.get(instrument.key)
        if existing is not None:
            raise DuplicateInstrumentError(
                f"instrument {instrument.id} v{instrument.version} is registered twice: "
                f"by plugin {existing.plugin!r} ({existing.source or 'in code'}) and by "
                f"plugin {instrument.plugin!r} ({instrument.source or 'in code'}). "
                "Remove one, or give the local variant its own id or version."
            )
        self._by_key[instrument.key] = instrument

    def drop_plugin(self, plugin: str) -> None:
        """Withdraw every instrument a plugin registered (a plugin skipped at start-up)."""
        for key in [k for k, i in self._by_key.items() if i.plugin == plugin]:
            del self._by_key[key]

    def get(self, instrument_id: str, version: str | None = None) -> Instrument:
        if version is not None:
            found = self._by_key.get((instrument_id, version))
            if found is None:
                versions = self.versions(instrument_id)
                if versions:
                    raise UnknownInstrumentError(
                        f"instrument {instrument_id!r} has no version {version!r} "
                        f"(registered: {', '.join(versions)})"
                    )
                raise UnknownInstrumentError(self._unknown(instrument_id))
            return found
        versions = self.versions(instrument_id)
        if not versions:
            raise UnknownInstrumentError(self._unknown(instrument_id))
        # the newest version that is not retired (one rebuilt from a stored copy), if any
        current = [v for v in versions if not self._by_key[(instrument_id, v)].retired]
        return self._by_key[(instrument_id, (current or versions)[-1])]

    def _unknown(self, instrument_id: str) -> str:
        ids = sorted({k[0] for k in self._by_key})
        return (
            f"unknown instrument {instrument_id!r} "
            f"(registered: {', '.join(ids) or 'none; is a plugin installed?'})"
        )

    def versions(self, instrument_id: str) -> list[str]:
        return sorted(
            (k[1] for k in self._by_key if k[0] == instrument_id),
            key=lambda v: tuple(int(x) for x in v.split(".")),
        )

    def __iter__(self) -> Iterator[Instrument]:
        return iter(sorted(self._by_key.values(), key=lambda i: (i.id, i.version)))

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, tuple):
            return key in self._by_key
        return any(k[0] == key for k in self._by_key)
