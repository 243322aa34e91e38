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

from importlib import resources

import formsengine

__version__ = "1.0.0"

DEFINITIONS_FOLDER = "definitions"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    folder = resources.files(__name__).joinpath(DEFINITIONS_FOLDER)
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))


@formsengine.hookimpl
def register_instruments(register) -> None:
    folder = resources.files(__name__).joinpath(DEFINITIONS_FOLDER)
    for name in definition_files():
        with resources.as_file(folder.joinpath(name)) as path:
            register(path)
