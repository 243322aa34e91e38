"""Wording packs: an instrument's wording in one language, installed by the rights holder's
licensee (or shipped by a plugin for its own instruments). formsengine ships only its own
paraphrases; a pack replaces the label, help text and option labels of items, keyed by item
id, and the instrument's own headings, keyed by the ids the definition gives them: its
title, section titles, grid questions, repeating groups, fields, score, band and level
names, flags and criteria (``Headings``). Every completed assessment records which wording
was shown (``paraphrase`` or ``PACK@VERSION``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .definition_checks import piped_item, text_pipe_problems
from .errors import DefinitionError
from .instance_ids import instance_item_id
from .instruments import instance_label, read_json_file, schema_problems
from .piping import answer_texts, fill, with_fallbacks

if TYPE_CHECKING:
    from .instruments import Instrument, InstrumentRegistry

PARAPHRASE = "paraphrase"

# the keys of a pack that word the instrument's own parts, each keyed by the part's id
HEADING_PARTS = ("sections", "grids", "repeats", "fields", "scores", "bands", "flags",
                 "criteria")
HEADING_KEYS = ("instrument_title", "instrument_description", *HEADING_PARTS, "levels")


@dataclass(frozen=True)
class WordingPack:
    id: str
    version: str
    instrument: str
    instrument_versions: tuple[str, ...]
    language: str
    licence: str
    holder: str
    items: dict[str, dict[str, Any]]
    plugin: str
    # the instrument's own headings: HEADING_PARTS and the instrument's title and description
    headings: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def fits(self, inst: Instrument) -> bool:
        return inst.id == self.instrument and (
            not self.instrument_versions or inst.version in self.instrument_versions
        )


class WordingRegistry:
    def __init__(self) -> None:
        self._packs: dict[str, WordingPack] = {}

    def add(self, pack: dict | str | Path, *, plugin: str,
            instruments: InstrumentRegistry) -> WordingPack:
        source = None
        if isinstance(pack, (str, Path)):
            source = Path(pack).name
            pack = cast("dict[str, Any]", read_json_file(Path(pack)))
        where = f"plugin {plugin!r}" + (f" wording pack file {source}" if source else "")
        problems = schema_problems("wording-pack", pack)
        if problems:
            raise DefinitionError(where, problems)
        if pack["instrument"] not in instruments:
            raise DefinitionError(where, [f"$.instrument: no instrument {pack['instrument']!r}"])
        versions = tuple(pack.get("instrument_versions", ()))
        targets = [i for i in instruments if i.id == pack["instrument"]
                   and (not versions or i.version in versions)]
        if not targets:
            raise DefinitionError(where, ["$.instrument_versions: fits no registered version"])
        for inst in targets:
            for item_id, text in pack["items"].items():
                # a repeating group's item is worded once, under its declared id
                item = inst.items.get(item_id) or _declared_group_item(inst, item_id)
                if item is None:
                    problems.append(
                        f"$.items.{item_id}: {inst.id} v{inst.version} has no such item")
                    continue
                for key in ("label", "help"):
                    problems.extend(text_pipe_problems(
                        inst, item.id, text.get(key), f"$.items.{item_id}.{key}"))
                for value in text.get("options", {}):
                    if value not in item.values:
                        problems.append(
                            f"$.items.{item_id}.options.{value}: not an option of the item "
                            f"(options: {', '.join(item.values)})"
                        )
            problems.extend(_grid_wording_problems(inst, pack["items"]))
            problems.extend(_heading_problems(inst, pack))
        if problems:
            raise DefinitionError(where, problems)
        obj = WordingPack(
            id=pack["id"], version=pack["version"], instrument=pack["instrument"],
            instrument_versions=versions, language=pack["language"], licence=pack["licence"],
            holder=pack["holder"], items=pack["items"], plugin=plugin,
            headings={k: pack[k] for k in HEADING_KEYS if k in pack},
        )
        if obj.ref in self._packs:
            raise DefinitionError(where, [f"wording pack {obj.ref} is registered twice"])
        self._packs[obj.ref] = obj
        return obj

    def for_instrument(self, inst: Instrument) -> list[WordingPack]:
        return [p for p in self._packs.values() if p.fits(inst)]

    def get(self, ref: str) -> WordingPack | None:
        return self._packs.get(ref)

    def __iter__(self):
        return iter(sorted(self._packs.values(), key=lambda p: p.ref))


def part_ids(inst: Instrument) -> dict[str, list[str]]:
    """The ids a pack may word under each of its heading keys, in the definition's order."""
    scoring = inst.scoring
    levels: list[str] = list((scoring.get("level") or {}).get("order", []))
    params = inst.default_parameters()
    for band in scoring.get("bands", []):
        raw = band["cutoffs"]
        for c in params.get(raw["param"], []) if isinstance(raw, dict) else raw:
            if c["band"] not in levels:
                levels.append(c["band"])
    return {
        "sections": [s.id for s in inst.sections],
        "grids": [g.id for s in inst.sections for g in s.grids],
        "repeats": list(inst.repeats),
        "fields": list(inst.fields),
        "scores": [s["id"] for s in inst.score_specs],
        "bands": [b["id"] for b in scoring.get("bands", [])],
        "levels": levels,
        "flags": [f["id"] for f in scoring.get("flags", [])],
        "criteria": [c["id"] for c in scoring.get("criteria", [])],
    }


def _heading_problems(inst: Instrument, pack: dict[str, Any]) -> list[str]:
    """A pack that words a part the instrument does not have, or a field option it does not
    offer: one plain message each, naming what it does have."""
    problems = []
    known = part_ids(inst)
    for key, ids in known.items():
        what = "level" if key == "levels" else key[:-1].replace("criteri", "criterion")
        for part_id, text in pack.get(key, {}).items():
            if part_id not in ids:
                problems.append(
                    f"$.{key}.{part_id}: {inst.id} v{inst.version} has no such {what} "
                    f"({key}: {', '.join(ids) or 'none'})")
            elif key == "fields":
                values = [o.value for o in inst.fields[part_id].options]
                for value in text.get("options", {}):
                    if value not in values:
                        problems.append(
                            f"$.fields.{part_id}.options.{value}: not an option of the field "
                            f"(options: {', '.join(values) or 'none'})")
    return problems


class Headings:
    """The words shown for an instrument's own parts under a wording choice: the pack's
    where it gives them, else the definition's. ``pack`` may be None (the definition's
    words) or a pack for another instrument (ignored)."""

    def __init__(self, inst: Instrument, pack: WordingPack | None) -> None:
        self.inst = inst
        self.pack = pack if pack is not None and pack.fits(inst) else None
        self._words: dict[str, Any] = self.pack.headings if self.pack is not None else {}

    def worded(self, key: str) -> dict[str, str]:
        """The labels the pack gives under ``scores`` or ``bands``, by id."""
        return {k: v["label"] for k, v in self._words.get(key, {}).items()}

    def _part(self, key: str, part_id: str, name: str, default: Any) -> Any:
        return self._words.get(key, {}).get(part_id, {}).get(name, default)

    @property
    def title(self) -> str:
        return str(self._words.get("instrument_title", self.inst.title))

    @property
    def description(self) -> str | None:
        return self._words.get("instrument_description",
                               self.inst.definition.get("description"))

    def section_title(self, section_id: str) -> str:
        return str(self._part("sections", section_id, "title",
                              self._section(section_id).title))

    def section_description(self, section_id: str) -> str | None:
        return self._part("sections", section_id, "description",
                          self._section(section_id).description)

    def _section(self, section_id: str) -> Any:
        return next(s for s in self.inst.sections if s.id == section_id)

    def grid(self, grid: Any) -> dict[str, Any]:
        """A grid's question and hint."""
        return {"label": self._part("grids", grid.id, "label", grid.label),
                "help": self._part("grids", grid.id, "help", grid.help)}

    def repeat(self, group: Any) -> dict[str, Any]:
        """A repeating group's name for one instance, its hint and its add button's text
        (None: the button's usual text)."""
        return {"label": self._part("repeats", group.id, "label", group.label),
                "help": self._part("repeats", group.id, "help", group.help),
                "add_label": self._part("repeats", group.id, "add_label", group.add_label)}

    def field(self, field_id: str) -> dict[str, Any]:
        """A field's label, hint and option labels by value."""
        f = self.inst.fields[field_id]
        options = {o.value: o.label for o in f.options}
        options.update(self._part("fields", field_id, "options", {}))
        return {"label": self._part("fields", field_id, "label", f.label),
                "help": self._part("fields", field_id, "help", f.help),
                "options": options}

    def score_label(self, score_id: str, default: str | None = None) -> str:
        """A score's label: the pack's, else the definition's (a declared score without
        one: its id in words), else ``default``, else its id."""
        if score_id in self._words.get("scores", {}):
            return str(self._words["scores"][score_id]["label"])
        spec = next((s for s in self.inst.score_specs if s["id"] == score_id), None)
        if spec is None:
            return default or score_id
        return str(spec.get("label") or score_id.replace("_", " ").capitalize())

    def score_value(self, score_id: str, value: Any) -> Any:
        """A score's value as shown: a ``max`` over an order of option values (the highest
        severity) by that option's label in the wording shown; any other value as it is."""
        spec = next((s for s in self.inst.score_specs if s["id"] == score_id), None)
        if not isinstance(value, str) or spec is None or spec.get("type") != "max" \
                or "order" not in spec or "items" not in spec:
            return value
        for item_id in self.inst.item_set(spec["items"]):
            if item_id in self.inst.items and self.inst.items[item_id].option(value):
                return item_text(self.inst, item_id, self.pack)["options"].get(value, value)
        return value

    def band_label(self, band_id: str) -> str:
        if band_id in self._words.get("bands", {}):
            return str(self._words["bands"][band_id]["label"])
        spec = next((b for b in self.inst.scoring.get("bands", []) if b["id"] == band_id), None)
        if spec is None:
            return band_id
        return str(spec.get("label") or band_id.replace("_", " ").capitalize())

    def level(self, value: str) -> str | None:
        """The pack's name for a level (a cut-off's band value), or None."""
        return self._words.get("levels", {}).get(value)

    def flag(self, flag_id: str) -> dict[str, Any]:
        """A flag's label and explanation."""
        return self._scored("flags", flag_id)

    def criterion(self, criterion_id: str) -> dict[str, Any]:
        """A criterion's label and explanation."""
        return self._scored("criteria", criterion_id)

    def _scored(self, key: str, part_id: str) -> dict[str, Any]:
        spec: dict[str, Any] = next(
            (s for s in self.inst.scoring.get(key, []) if s["id"] == part_id), {})
        return {"label": self._part(key, part_id, "label",
                                    spec.get("label", part_id.replace("_", " "))),
                "explanation": self._part(key, part_id, "explanation",
                                          spec.get("explanation"))}


def _declared_group_item(inst: Instrument, item_id: str) -> Any:
    """The first instance's item of a repeating group's item named as declared
    (``children.age``), or None."""
    group = inst.repeats.get(item_id.split(".")[0])
    if group is None or item_id not in group.item_ids:
        return None
    return inst.items.get(instance_item_id(item_id, 1))


def _grid_wording_problems(inst: Instrument, items: dict[str, Any]) -> list[str]:
    """A grid shows its answers once, above its rows: a pack that words a row's options
    must word them the same on every row of the grid."""
    problems = []
    for section in inst.sections:
        rows: dict[str, list[str]] = {}
        for item_id in section.item_ids:
            grid = inst.items[item_id].grid
            if grid is not None:
                rows.setdefault(grid, []).append(item_id)
        for grid, ids in rows.items():
            def words(item_id: str) -> dict[str, str]:
                given = items.get(item_id, {}).get("options", {})
                return {o.value: given.get(o.value, o.label) for o in inst.items[item_id].options}
            first = words(ids[0])
            for item_id in ids[1:]:
                if words(item_id) != first and item_id in items:
                    problems.append(
                        f"$.items.{item_id}.options: {item_id!r} is a row of grid {grid!r}, "
                        "which shows its answers once above the rows; word its options as "
                        f"on the first row {ids[0]!r}")
                elif words(item_id) != first:
                    problems.append(
                        f"$.items.{ids[0]}.options: {ids[0]!r} is the first row of grid "
                        f"{grid!r}, which shows its answers once above the rows; word the "
                        f"options of every row the same (as {item_id!r} has them)")
                    break
    return problems


def item_text(inst: Instrument, item_id: str, pack: WordingPack | None,
              answers: dict[str, Any] | None = None,
              fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """The label, help and option labels to show for an item under a wording choice.

    A label or help that pipes in earlier answers (``{{item.<id>|<fallback>}}``) gets the
    display text of ``answers`` and ``fields`` when they are given (the pages of an
    assessment being completed), else each pipe's fallback: the definition's wording."""
    item = inst.items[item_id]
    label = item.label_source or item.label
    help_text = item.help_source or item.help
    text: dict[str, Any] = {"options": {o.value: o.label for o in item.options}}
    worded = item_id if item.base is None else item.base  # an instance: its group's item
    if pack is not None and pack.fits(inst) and worded in pack.items:
        override = pack.items[worded]
        label = override["label"]
        help_text = override.get("help", help_text)
        text["options"] = {**text["options"], **override.get("options", {})}
    if answers is None:
        text["label"], text["help"] = with_fallbacks(label), with_fallbacks(help_text)
    else:
        answer = answer_texts(inst, answers, fields or {},
                              options=lambda other: item_text(inst, other, pack)["options"])

        def shown(kind: str, target: str) -> str | None:
            # in a repeating group's question, the group's item is this instance's
            return answer(kind, piped_item(inst, item, target) if kind == "item" else target)

        text["label"], text["help"] = fill(label, shown), fill(help_text, shown)
    # as a message names it: an instance of a repeating group with its instance first
    text["named"] = instance_label(item, text["label"])
    return text
