"""A cache of definitions already found valid, so that the command line does not validate
every bundled definition against the JSON Schema at each start (about 0.2 s of a command's
start-up for the 13 shipped definitions).

The key is the SHA-256 of formsengine's version, the schema and the definition (canonical
JSON): any change to any of them is validated again. Only a pass is recorded, as an empty
file named by its key in ``FORMSENGINE_CACHE_DIR`` (default: ``$XDG_CACHE_HOME/formsengine``
or ``~/.cache/formsengine``, created 0700). A cache that cannot be read or written is
simply not used. Definitions come from installed plugins or the organisation's own
folder, which are trusted as code is; the semantic checks that follow the schema always
run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from . import __version__


def cache_dir() -> Path:
    given = os.environ.get("FORMSENGINE_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "formsengine"


def _canonical(part: Any) -> bytes:
    return b"\0" + json.dumps(part, sort_keys=True, separators=(",", ":"),
                              default=str).encode()


# The hash of formsengine's version and a named schema, taken once per process: every
# definition a command loads is checked against the same schema.
_schema_hashes: dict[str, Any] = {}


def key(schema: dict[str, Any], data: Any, *, schema_name: str | None = None) -> str:
    start = _schema_hashes.get(schema_name) if schema_name else None
    if start is None:
        start = hashlib.sha256(__version__.encode())
        start.update(_canonical(schema))
        if schema_name:
            _schema_hashes[schema_name] = start
    digest = start.copy()
    digest.update(_canonical(data))
    return digest.hexdigest()


def known_valid(schema: dict[str, Any], data: Any, *,
                schema_name: str | None = None) -> tuple[bool, str]:
    """(whether this definition passed this schema before, its key)."""
    try:
        k = key(schema, data, schema_name=schema_name)
    except (RecursionError, ValueError, TypeError):  # not JSON data: validated as it is
        return False, ""
    try:
        return (cache_dir() / f"valid-{k}").is_file(), k
    except OSError:
        return False, k


def remember_valid(k: str) -> None:
    folder = cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (folder / f"valid-{k}").touch()
    except OSError:
        pass
