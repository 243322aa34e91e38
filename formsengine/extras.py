"""Optional parts of an installation: the research exports and analyses need the
``research`` extra (numpy, pandas, pyarrow, polars, pyreadstat, frictionless, scipy) and the
FHIR commands the ``fhir`` extra. A web-only installation leaves both out; a command that
needs one says which, instead of failing with an import error."""

from __future__ import annotations

import importlib.util

from .errors import FormsEngineError

EXTRAS: dict[str, tuple[str, ...]] = {
    "research": ("numpy", "pandas", "pyarrow", "polars", "pyreadstat", "frictionless",
                 "scipy"),
    "fhir": ("fhir.resources",),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    absent = []
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            absent.append(module)
    return absent


def require(extra: str, what: str) -> None:
    """Refuse ``what`` (a command) with a message naming the extra when it is not
    installed."""
    absent = missing(extra)
    if absent:
        raise FormsEngineError(
            f"{what} needs the '{extra}' extra, which is not installed here (missing: "
            f"{', '.join(absent)}): pip install 'formsengine[{extra}]'")
