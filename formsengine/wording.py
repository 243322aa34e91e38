"""Wording packs: licensed item wording, keyed by item id, installed by the rights holder's
licensee. formsengine ships only its own paraphrases; a pack replaces the label, help text
and option labels shown, and every completed assessment records which wording was shown
(``paraphrase`` or ``PACK@VERSION``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .definition_checks import piped_item, text_pipe_problems
from .errors import DefinitionError
from .instance_ids import instance_item_id
from .instruments import read_json_file, schema_problems
from .piping import answer_texts, fill, with_fallbacks

if TYPE_CHECKING:
    from .instruments import Instrument, InstrumentRegistry

PARAPHRASE = "paraphrase"


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
        if problems:
            raise DefinitionError(where, problems)
        obj = WordingPack(
            id=pack["id"], version=pack["version"], instrument=pack["instrument"],
            instrument_versions=versions, language=pack["language"], licence=pack["licence"],
            holder=pack["holder"], items=pack["items"], plugin=plugin,
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
    return text
