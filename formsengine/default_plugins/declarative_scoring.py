"""Fallback scorer: the declarative engine, for every definition that declares scoring."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def score_assessment(instrument, submission, parameters) -> dict[str, Any] | None:
    if not instrument.scoring:
        return None
    from ..scoring import declarative_score  # loaded by the first score, not by every command

    return declarative_score(instrument, submission, parameters)
