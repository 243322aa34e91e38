"""The ids under which the instances of a repeating group store their answers
(``children.age`` -> ``children[2].age``): a module of its own, light enough for the
command line's start-up (``formsengine.config`` checks cut-offs without loading the
schema validator that ``formsengine.instruments`` needs)."""

from __future__ import annotations

import re
from typing import Any

INSTANCE_ID = re.compile(r"([a-z][a-z0-9_]*)\[([0-9]{1,3})\](\.[a-z0-9_.]+)")


def instance_item_id(item_id: str, n: int) -> str:
    """The id under which instance ``n`` of a repeating group stores an answer to the
    group's item ``item_id``: ``children.age`` -> ``children[2].age``."""
    group, _, rest = item_id.partition(".")
    return f"{group}[{n}].{rest}"


def split_instance_id(item_id: str) -> tuple[str, int, str] | None:
    """(group, instance, declared item id) of an instance item id, or None."""
    found = INSTANCE_ID.fullmatch(item_id)
    if found is None:
        return None
    return found.group(1), int(found.group(2)), found.group(1) + found.group(3)


def same_instance(inst: Any, item: Any, target: str) -> str:
    """The item an item of a repeating group means by ``target`` in its definition (a pipe,
    a date bound): the group's item named as declared (``children.born``) is the same
    instance's (``children[2].born``); any other name is the item itself."""
    group = getattr(item, "repeat", None)
    if group is not None and target in inst.repeats[group].item_ids:
        return instance_item_id(target, item.instance)
    return target
