"""Names the reports use that need no PDF library: the address under which the report
templates refer to their static files, and opaque download names."""

from __future__ import annotations

STATIC_URL = "https://static.formsengine.invalid/"

# What each kind of report is called in its file name.
KIND_NAMES = {"assessment": "assessment-report", "marac": "marac-summary",
              "case": "case-report"}


def opaque_filename(kind: str) -> str:
    """A file name that tells the kinds of report apart and says nothing about the person or
    case: ``marac-summary-<random>.pdf``, ``assessment-report-<random>.pdf``,
    ``case-report-<random>.pdf``."""
    import secrets

    return f"{KIND_NAMES.get(kind, kind)}-{secrets.token_hex(8)}.pdf"
