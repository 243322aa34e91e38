"""The database check behind ``/health``: can this process still read the database?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Store


def database_problem(store: Store, path: str | Path | None = None) -> str | None:
    """None when the database answers a read of its newest audit row; otherwise a short
    reason (no path, no data). For a database file, ``path`` is checked to be still there:
    an open connection would go on reading a file that has been moved or deleted."""
    from .postgres import is_url

    if (path is not None and str(path) != ":memory:" and not is_url(path)
            and not Path(path).is_file()):
        return "the database file is missing"
    try:
        store.one("SELECT id FROM audit ORDER BY id DESC LIMIT 1")
    except Exception as exc:  # any driver error means "not healthy"; the kind is enough
        return f"the database does not answer ({type(exc).__name__})"
    return None
