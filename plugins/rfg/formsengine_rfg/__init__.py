"""formsengine-rfg: RFG perpetrator ranking and crime harm, scored from incident histories.

- ``formsengine rfg rank``: recency, frequency, gravity and victims per perpetrator from an
  incident CSV, a ranked list (CSV and JSON) with the configuration hash, and optionally each
  perpetrator's result stored as an ``rfg-ranking`` assessment at an occasion;
- ``formsengine rfg harm``: crime harm days in blocks before and after each perpetrator's
  reference date, and the DA reoffending rate per block;
- ``formsengine rfg config``: the effective configuration and its hash.

The instrument ``rfg-ranking`` is data (``definitions/rfg-ranking.json``); its scoring is in
Python (``scoring.py``) because the components come from incident histories, not answers.
"""

from __future__ import annotations

from typing import Any

import formsengine
from formsengine.plugins import register_packaged_definitions

__version__ = "1.0.0"


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)


@formsengine.hookimpl
def score_assessment(instrument, submission, parameters) -> dict[str, Any] | None:
    from .scoring import INSTRUMENT_ID, score_rfg

    if instrument.id != INSTRUMENT_ID:
        return None
    return score_rfg(instrument, submission)


@formsengine.hookimpl
def register_commands(cli) -> None:
    from .commands import rfg

    cli.add_command(rfg)
