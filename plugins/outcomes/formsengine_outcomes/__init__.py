"""formsengine-outcomes: IDVA outcome records on the victim-survivor's side.

Two definitions, all data (``definitions/*.json``), scored by the core's declarative engine:

- ``idva-intake``: four types of abuse experienced, each with a severity;
- ``idva-exit``: the same four, and the IDVA's view of the change in risk, the
  victim-survivor's view of their own and their children's safety and of their quality of
  life, and whether the abuse has stopped (in all or by type). Used at a review or at exit.
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
