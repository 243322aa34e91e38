"""Pieces shared by the assessment pages (``assessments.py``) and the amendment pages
(``amend.py``): the definition and wording of a stored assessment, its answers, the result
they score to as they stand, and the levels a professional judgement may raise to."""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from ..errors import SubmissionError
from . import access, results
from .db import get_engine


def instrument(row):
    """The definition (at its stored version) of an assessment row."""
    return get_engine().instruments.get(row["instrument_id"], row["instrument_version"])


def wording_pack(row):
    """The wording pack an assessment row was shown with (None for the paraphrase)."""
    return get_engine().wording.get(row["wording"]) if row["wording"] != "paraphrase" else None


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


def offer_levels(form, inst, preview, none=None):
    """Judgement only raises: offer the levels above the score-based one."""
    if "level" not in form:
        return
    order = inst.scoring["level"]["order"]
    computed = ((preview or {}).get("level") or {}).get("computed")
    above = order[order.index(computed) + 1:] if computed in order else order
    if none is None:
        none = _("No change (use the score-based level)")
    form.level.choices = [SelectChoice("", none)] + [
        SelectChoice(lvl, results.band_label(inst, lvl)) for lvl in above]
