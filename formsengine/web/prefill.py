"""Answers offered from the previous occasion (items whose definition says ``prefill``).

When a section page of a draft is opened, each ``prefill`` question of the page that the
draft has no answer to is filled in with the answer given at the person's latest finalised
assessment with the same instrument in the same case, with a notice beside it saying so
("Carried forward from 12 March 2026 — confirm or change"). The offer is only on the page:
it is not stored, does not count as an answer and cannot be finalised, until a person saves
the page with it. Saving the page with the offered answer unchanged records it as carried
forward (with the date it was carried from; the save's audit row lists the items and the
assessment they came from); a changed answer is an ordinary answer. A save sent by the idle
timer confirms nothing: offered answers nobody saved are left out of it.

A question the page showed that a person saves unanswered while the earlier assessment has
an answer to it (an offered answer cleared, or a saved one removed) is *declined*: the draft
remembers it (``declined``), the save's audit row lists it, and the earlier answer is not
offered for it again in this assessment. Nothing is stored as its answer: it stays
unanswered until a person answers it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..dates import date_text
from ..submission import check_value
from . import access, formbuild

OFFER = _l("Carried forward from %(date)s \u2014 confirm or change")
CONFIRMED = _l("Carried forward from %(date)s and confirmed \u2014 change it if it no longer "
               "holds")


def prefill_items(inst, item_ids) -> list[str]:
    return [i for i in item_ids if inst.items[i].prefill]


def offers(inst, row, data: dict[str, Any], item_ids) -> tuple[dict[str, Any], dict | None]:
    """The answers offered on a page (item id -> the earlier answer, as stored) and the
    assessment they come from (None when nothing is offered). Only questions not answered
    yet, whose earlier answer is still a valid answer to this version of the question, and
    that are shown once the offered answers are put in."""
    declined = set(data.get("declined") or [])
    wanted = [i for i in prefill_items(inst, item_ids)
              if data["answers"].get(i) in (None, "", []) and i not in declined]
    if not wanted:
        return {}, None
    source = access.store().prefill_source(row["id"], wanted)
    if source is None:
        return {}, None
    offered: dict[str, Any] = {}
    for item_id in wanted:
        if item_id not in source["answers"]:
            continue
        try:
            check_value(inst.items[item_id], source["answers"][item_id])
        except ValueError:  # the question changed since: nothing to offer
            continue
        offered[item_id] = source["answers"][item_id]
    fields = formbuild.typed_fields(inst, data.get("fields", {}))
    while offered:
        shown = formbuild.visible_items(inst, {**data["answers"], **offered}, fields)
        kept = {k: v for k, v in offered.items() if k in shown}
        if kept == offered:
            break
        offered = kept
    return offered, (source if offered else None)


def offer(form, inst, offered: dict[str, Any]) -> None:
    """Put the offered answers into a fresh (GET) form."""
    for item_id, value in offered.items():
        field = getattr(form, formbuild.answer_name(item_id))
        field.data = str(value) if inst.items[item_id].type in ("integer", "number") else value


def notices(inst, data: dict[str, Any], item_ids, offered: dict[str, Any],
            source: dict | None) -> dict[str, str]:
    """The notice beside each question of the page whose answer is offered or was carried
    forward (item id -> text)."""
    out = {}
    for item_id in item_ids:
        if item_id in offered and source is not None:
            out[item_id] = str(OFFER) % {"date": date_text(source["date"])}
        elif item_id in data.get("carried", {}):
            out[item_id] = str(CONFIRMED) % {"date": date_text(data["carried"][item_id])}
    return out


def _blank(value: Any) -> bool:
    return value in (None, "", [])


def confirm(inst, row, data: dict[str, Any], merged: dict[str, Any], item_ids, posted: str,
            idle: bool, shown: set[str]
            ) -> tuple[dict[str, Any], dict | None, dict[str, Any], dict | None]:
    """A saved page's offered answers: those posted unchanged are marked carried forward in
    ``merged`` (a save by the idle timer leaves them out instead: nobody confirmed them);
    the page's questions that were ``shown``, are still shown, and are saved unanswered
    although the earlier assessment answered them are marked declined.
    Returns the answers data to save, the audit details (None when nothing is carried
    forward on the page), the offers still standing (for the page shown again), and the
    audit details of the offers declined by this save (None when none)."""
    named = {i for i in posted.split(",") if i}
    prefilled = prefill_items(inst, item_ids)
    candidates = [i for i in prefilled if i in named]
    declined = [i for i in merged.get("declined") or [] if _blank(merged["answers"].get(i))]
    blank = [i for i in prefilled if i in shown and _blank(merged["answers"].get(i))
             and i not in declined]
    if blank:  # a question the merged answers hide was not emptied by anyone
        still_shown = formbuild.visible_items(
            inst, merged["answers"], formbuild.typed_fields(inst, merged.get("fields", {})))
        blank = [i for i in blank if i in still_shown]
    asked = list(dict.fromkeys(candidates + blank))
    source = access.store().prefill_source(row["id"], asked) if asked else None
    newly = [i for i in blank if source is not None and i in source["answers"]]
    declined += newly
    merged.pop("declined", None)
    if declined:
        merged["declined"] = [i for i in inst.items if i in set(declined)]
    refused = ({"items": newly, "from_assessment": source["uid"]}
               if newly and source is not None else None)
    standing: dict[str, Any] = {}
    if source is not None:
        for item_id in candidates:
            if item_id not in source["answers"] or not formbuild.same_answer(
                    inst.items[item_id], source["answers"][item_id],
                    merged["answers"].get(item_id)):
                continue  # changed, or cleared: an ordinary answer (or none)
            if data["answers"].get(item_id) in (None, "", []):
                standing[item_id] = source["answers"][item_id]
            if idle and item_id not in data.get("carried", {}):
                merged["answers"].pop(item_id, None)
                continue
            merged.setdefault("carried", {})[item_id] = source["date"]
        if idle:
            formbuild.prune(inst, merged)
    carried = [i for i in item_ids if i in merged.get("carried", {})]
    details = None
    if carried:
        froms = {merged["carried"][i] for i in carried}
        details = {"items": carried,
                   "from_assessment": source["uid"] if source is not None else None,
                   "from_date": min(froms) if len(froms) == 1 else sorted(froms)}
    return merged, details, (standing if source is not None else {}), refused
