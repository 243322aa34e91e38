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

import click

import formsengine
from formsengine.plugins import register_packaged_definitions

__version__ = "1.0.0"
RFG_HELP = "RFG perpetrator ranking and crime harm from incident histories (CSV)."


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
    cli.add_command(_RfgCommands("rfg", help=RFG_HELP))


class _RfgCommands(click.Group):
    """The ``rfg`` group as the command line lists it: its commands (and the modules
    that read, rank and write) are imported only when an ``rfg`` command is run or its
    help is asked for, not by every other command's start."""

    def _group(self) -> click.Group:
        from .commands import rfg

        return rfg

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._group().get_command(ctx, cmd_name)
