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

import formsengine
from formsengine.plugins import packaged_definition_names, register_packaged_definitions

__version__ = "1.0.0"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    return packaged_definition_names(__name__)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)
