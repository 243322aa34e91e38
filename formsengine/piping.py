"""Piping: an earlier answer shown in a later question's label or hint.

A label or hint may hold ``{{item.<item id>|<fallback>}}`` or ``{{field.<field id>|<fallback>}}``.
While an assessment is completed, the pages replace it with the display text of the answer
saved so far (an option's label, a date as people read it, the number or text given); when
there is no known answer, or the item is not shown, with the fallback. Everything else that
shows the definition (exports, codebook, PDFs, FHIR) uses the fallback text, so that the
definition's wording never carries a person's answer.

The result is plain text: pages escape it like any other text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .dates import date_text

if TYPE_CHECKING:
    from .instruments import Instrument

OPEN = "{{"
LONGEST = 200  # characters of a text answer shown in a label
_PIPE = re.compile(r"\{\{(.*?)\}\}", re.S)
_FORM = re.compile(r"\s*(item|field)\.([a-z][a-z0-9_.]*?)\s*\|(.*)", re.S)


@dataclass(frozen=True)
class Pipe:
    text: str  # the whole ``{{...}}``
    kind: str | None  # item or field (None: not a pipe this language knows)
    target: str | None
    fallback: str | None


def pipes(text: str | None) -> Iterator[Pipe]:
    """Every ``{{...}}`` of a text, read as a pipe."""
    for match in _PIPE.finditer(text or ""):
        form = _FORM.fullmatch(match.group(1))
        if form is None:
            yield Pipe(match.group(0), None, None, None)
        else:
            yield Pipe(match.group(0), form.group(1), form.group(2), form.group(3).strip())


def has_pipes(text: str | None) -> bool:
    return bool(text) and OPEN in str(text)


def fill(text: str | None, answer_text: Callable[[str, str], str | None]) -> str | None:
    """``text`` with each pipe replaced by ``answer_text(kind, id)``, or by its fallback
    when that is None or empty."""
    if not has_pipes(text):
        return text

    def one(match: re.Match[str]) -> str:
        form = _FORM.fullmatch(match.group(1))
        if form is None:
            return match.group(0)
        shown = answer_text(form.group(1), form.group(2))
        return shown if shown else form.group(3).strip()

    return _PIPE.sub(one, str(text))


def with_fallbacks(text: str | None) -> str | None:
    """The definition's wording: every pipe replaced by its fallback."""
    return fill(text, lambda kind, target: None)


def answer_texts(inst: Instrument, answers: dict[str, Any], fields: dict[str, Any],
                 options: Callable[[str], dict[str, str]] | None = None,
                 ) -> Callable[[str, str], str | None]:
    """The display text of each answer and field, for ``fill``: an option's label (from
    ``options(item_id)`` when given, for a wording pack), several joined with commas, a date
    as people read it, a number or text as given. An answer that says the value is not
    known gives None (the fallback is shown)."""

    def shown(kind: str, target: str) -> str | None:
        spec = inst.items.get(target) if kind == "item" else inst.fields.get(target)
        value = (answers if kind == "item" else fields).get(target)
        if spec is None or value is None or value == "" or value == []:
            return None
        labels = {o.value: o.label for o in spec.options}
        if options is not None and kind == "item":
            labels.update(options(target))
        if spec.type == "choice":
            option = next((o for o in spec.options if o.value == value), None)
            if option is None or option.missing:
                return None
            return labels.get(value, str(value))
        if spec.type == "multi_choice":
            if not isinstance(value, list):
                return None
            known = [v for v in value if (o := next((o for o in spec.options if o.value == v),
                                                     None)) is not None and not o.missing]
            return ", ".join(labels.get(v, v) for v in known) or None
        if spec.type == "date":
            return date_text(value) or None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = " ".join(str(value).split())
        return (text[:LONGEST - 1] + "\u2026" if len(text) > LONGEST else text) or None

    return shown
