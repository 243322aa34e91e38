"""formsengine-dvip: perpetrator programme assessment in the style of DVIP.

Two definitions, all data (``definitions/*.json``), scored by the core's declarative engine:

- ``dvip-inventory``: 13 violent and abusive behaviours, each with a banded count of
  incidents and the sources; the total as a band, the number of behaviours disclosed, and
  flags for strangulation and weapons. No numeric risk total;
- ``dvip-risk-factors``: dynamic factors, static markers and treatment viability with its
  reasons.

Used at assessment, week 12 and week 32 (programme completion).
"""

from __future__ import annotations

import formsengine
from formsengine.plugins import packaged_definition_names, register_packaged_definitions

__version__ = "1.0.0"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    return packaged_definition_names(__name__)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)
