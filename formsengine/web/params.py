"""Numbers read from a request's address, range-checked: anything else is a 400 with a
plain message, never a 500 from a value the database cannot hold."""

from __future__ import annotations

from flask import abort, request

ROW_ID_MAX = 2**63 - 1  # SQLite's largest integer


def int_arg(name: str, *, low: int = 1, high: int = ROW_ID_MAX) -> int | None:
    """The whole number in the query parameter ``name`` (None when it is absent or empty),
    or 400 when it is not a whole number from ``low`` to ``high``."""
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if len(raw) > 20 or not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        abort(400, f"The address asked for {name}={raw[:20]!s}, which is not a number from "
                   f"{low} to {high}. Go back and use the links on the page.")
    return int(raw)
