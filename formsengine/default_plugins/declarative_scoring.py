"""Fallback scorer: the declarative engine, for every definition that declares scoring."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from ..scoring import declarative_score


@hookimpl(trylast=True)
def score_assessment(instrument, submission, parameters) -> dict[str, Any] | None:
    if not instrument.scoring:
        return None
    return declarative_score(instrument, submission, parameters)
