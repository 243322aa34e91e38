"""formsengine-outcomes: IDVA outcome records on the victim-survivor's side.

Two definitions, all data (``definitions/*.json``), scored by the core's declarative engine:

- ``idva-intake``: four types of abuse experienced, each with a severity;
- ``idva-exit``: the same four, and the IDVA's view of the change in risk, the
  victim-survivor's view of their own and their children's safety and of their quality of
  life, and whether the abuse has stopped (in all or by type). Used at a review or at exit.

And a Welsh wording pack for the intake record (``definitions/*.wording.json``, the plugin's
own words), used for an assessment completed in Welsh.
"""

from __future__ import annotations

from importlib import resources

import formsengine
from formsengine.plugins import packaged_definition_names, register_packaged_definitions

__version__ = "1.0.0"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    return packaged_definition_names(__name__)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)


@formsengine.hookimpl
def register_wording_packs(register) -> None:
    root = resources.files(__name__).joinpath("definitions")
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".wording.json"):
            with resources.as_file(entry) as path:
                register(path)
