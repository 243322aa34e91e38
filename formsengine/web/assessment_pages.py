"""Pieces shared by the assessment pages (``assessments.py``) and the amendment pages
(``amend.py``): the definition and wording of a stored assessment, its answers, the result
they score to as they stand, and the levels a professional judgement may raise to."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from ..errors import SubmissionError
from ..wording import Headings
from . import access, results
from .db import get_engine


def instrument(row):
    """The definition (at its stored version) of an assessment row."""
    return get_engine().instruments.get(row["instrument_id"], row["instrument_version"])


def wording_pack(row):
    """The wording pack an assessment row was shown with (None for the paraphrase)."""
    return get_engine().wording.get(row["wording"]) if row["wording"] != "paraphrase" else None


def pack_in_language(inst, language: str):
    """The wording pack a new assessment of ``inst`` started in ``language`` shows: the
    organisation's chosen pack when it is in that language, else an installed pack in
    that language, else the organisation's choice (None: the definition's own words)."""
    engine = get_engine()
    ref = _chosen_wording().get(inst.id)
    pack = engine.wording.get(ref) if ref else None
    if pack is None or pack.language != language:
        pack = next((p for p in engine.wording.for_instrument(inst)
                     if p.language == language), pack)
    return pack if pack is not None and pack.fits(inst) else None


def _chosen_wording() -> dict:
    """The organisation's wording choice per instrument (read once per request)."""
    from flask import g

    from .accounts import get_setting

    if "wording_setting" not in g:
        g.wording_setting = get_setting(access.store(), "wording") or {}
    return g.wording_setting


def headings(inst):
    """An instrument's headings in the words of the person reading the page (their
    language's wording pack when one is installed): for pages about a case or a list of
    assessments rather than one assessment, which has its own recorded wording."""
    from . import i18n

    return Headings(inst, pack_in_language(inst, i18n.chosen()))


def instrument_titles() -> dict[str, str]:
    """Every installed instrument's title by id (its newest version's), in the words of
    the person reading the page."""
    return {i.id: headings(i).title for i in get_engine().instruments}


def assessment_data(row) -> dict:
    """An assessment row's submission data, with empty comments and sources when none."""
    data = access.store().submission_data(row)
    data.setdefault("comments", {})
    data.setdefault("sources", {})
    return data


def preview(inst, data):
    """The result of scoring the answers as they stand (None when they cannot be scored)."""
    try:
        _checked, sub = get_engine().check(data)
    except SubmissionError:
        return None
    return access.store().draft_score(sub)


def strip_problem(problem: str) -> str:
    """A problem without the ``instrument ...:`` prefix the engine gives it."""
    return problem.split(": ", 1)[1] if problem.startswith("instrument ") else problem


def takes_judgement(inst) -> bool:
    level = inst.scoring.get("level")
    return bool(level) and level.get("judgement", True)


def offer_levels(form, inst, preview, none=None, pack=None):
    """Judgement only raises: offer the levels above the score-based one."""
    if "level" not in form:
        return
    order = inst.scoring["level"]["order"]
    computed = ((preview or {}).get("level") or {}).get("computed")
    above = order[order.index(computed) + 1:] if computed in order else order
    if none is None:
        none = _("No change (use the score-based level)")
    form.level.choices = [SelectChoice("", none)] + [
        SelectChoice(lvl, results.band_label(inst, lvl, pack)) for lvl in above]
