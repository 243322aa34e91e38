"""The core tables, as the first migration set (see ``formsengine.store``)."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl(tryfirst=True)
def register_migrations(register) -> None:
    from ..store_schema import core_migrations

    register(core_migrations)
