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

import formsengine
from formsengine.plugins import packaged_definition_names, register_packaged_definitions

__version__ = "1.0.0"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    return packaged_definition_names(__name__)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)
