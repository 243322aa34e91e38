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

import formsengine
from formsengine.plugins import packaged_definition_names, register_packaged_definitions

__version__ = "1.0.0"


def definition_files() -> list[str]:
    """Names of the definition files this plugin ships, in registration order."""
    return packaged_definition_names(__name__)


@formsengine.hookimpl
def register_instruments(register) -> None:
    register_packaged_definitions(register, __name__)
