"""What definitions and the scorer write for the people who configure them, put in words
for the practitioner (pages and reports alike)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

# A parenthesis that only names an identifier: "(parameter repeat_marac_months)", "(sdash)".
_IDENTIFIER_NOTE = re.compile(
    r"\s*\((?:(?:parameter|instrument) )?([a-z][a-z0-9]*(?:[_-][a-z0-9]+)*)\)")

STATUS_LABELS = {"met": "Met", "not_met": "Not met", "not_known": "Not known"}


def plain(text: str | None, instrument_ids: Iterable[str] = ()) -> str | None:
    """``text`` without parentheses that name a parameter, or an instrument by its id."""
    if not text:
        return text
    ids = set(instrument_ids)

    def drop(match: re.Match) -> str:
        word = match.group(1)
        named = match.group(0).lstrip().startswith(("(parameter ", "(instrument "))
        return "" if named or "_" in word or word in ids else match.group(0)

    return _IDENTIFIER_NOTE.sub(drop, text)


def criterion_status(result: dict[str, Any], criterion_id: str) -> str:
    """met, not_met, or not_known (false only because what it needs was not recorded)."""
    if (result.get("criteria") or {}).get(criterion_id):
        return "met"
    if criterion_id in (result.get("criteria_not_known") or ()):
        return "not_known"
    return "not_met"


def group_heading(group_id: str, spec: dict[str, Any], met: bool) -> str:
    """A criteria group's heading: its label (which may be an instruction, "Refer to
    MARAC") only when one of its criteria is met."""
    if met:
        return spec["label"]
    return {"marac": "MARAC referral criteria"}.get(group_id, "Criteria: " + spec["label"])


def warnings(result: dict[str, Any], level_label: Callable[[str | None], str]) -> list[str]:
    """The scorer's notes in plain words, in the language being written (a page's or a
    report's); how complete the answers are is said elsewhere. A note a plugin's scorer
    writes is its own text, shown as it gives it."""
    from .i18n import gettext

    out = []
    level = result.get("level") or {}
    for w in result.get("warnings") or []:
        if w.startswith("assessment is incomplete"):
            continue
        if w.startswith("professional judgement") and level.get("judged"):
            out.append(gettext(
                "The professional judgement (%(judged)s) is not above the level from the score "
                "(%(computed)s), so it does not change the level: judgement can raise the level, "
                "never lower it.", judged=level_label(level["judged"]),
                computed=level_label(level.get("computed"))))
            continue
        out.append(w[:1].upper() + w[1:])
    return out
