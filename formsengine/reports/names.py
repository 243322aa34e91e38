"""Names the reports use that need no PDF library: the address under which the report
templates refer to their static files, and opaque download names."""

from __future__ import annotations

import secrets

STATIC_URL = "https://static.formsengine.invalid/"


def opaque_filename(kind: str) -> str:
    """A download name that says nothing about the person: ``report-<random>.pdf``."""
    return f"{kind}-{secrets.token_hex(8)}.pdf"
