"""The core's migration branch (``core``, in ``formsengine/migrations/versions``)."""

from __future__ import annotations

from pathlib import Path

from ..hookspecs import hookimpl


@hookimpl(tryfirst=True)
def register_migrations() -> tuple[str, Path]:
    from ..migrations import CORE_BRANCH, CORE_VERSIONS

    return CORE_BRANCH, CORE_VERSIONS
