"""formsengine-drive-dash: perpetrator-focused instruments for case management with people
who cause harm, in the style of the Drive programme.

Three definitions, all data (``definitions/*.json``), scored by the core's declarative
engine:

- ``drive-dash``: a risk indicator checklist about the service user, ADAPTED from the DASH
  risk indicators. It is not the Drive programme's own checklist (which is not published);
  an organisation holding that definition can replace this one with a plugin of its own;
- ``drive-behaviours``: four types of abuse, each rated none, standard, moderate or high (or
  not known), with the informant the rating rests on;
- ``drive-closure``: the case manager's closure record (risk change, direct contact,
  engagement, behaviour-change work, step-down).

Labels are our own paraphrases.
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
