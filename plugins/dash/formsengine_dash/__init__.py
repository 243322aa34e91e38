"""formsengine-dash: the DASH risk identification checklist as formsengine instruments.

Three definitions, all data (``definitions/*.json``), scored by the core's declarative
engine:

- ``dash-safelives``: the 24-item SafeLives version;
- ``dash-police``: the 27-item police version (three child and dependant items after
  item 9);
- ``sdash``: the 11-item stalking and harassment supplement, offered when
  ``dash.stalking_harassment`` is ``yes``.

Labels are our own paraphrases. Official wording is installed separately as a licensed
wording pack keyed by the same item ids.
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
