"""formsengine-needs: complex-needs screens.

Two definitions, all data (``definitions/*.json``), scored by the core's declarative engine:

- ``needs-su``: the service user's needs, the core four (substance misuse, alcohol misuse,
  housing, mental health) and six further needs;
- ``needs-vs``: the victim-survivor's needs (mental health, alcohol misuse, substance misuse,
  employment, money, disability).

A need that is not known is never shown as no need: every count of needs present comes with
a count of needs not known.
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
