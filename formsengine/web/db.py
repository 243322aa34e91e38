"""The request's engine and database connection, as the Flask tutorial's ``get_db``: views
import ``get_store``/``get_engine`` from here, never from the app factory's module."""

from __future__ import annotations

from flask import current_app, g

from ..engine import Engine
from ..store import Store, connect_to


def get_engine() -> Engine:
    return current_app.extensions["formsengine_engine"]


def get_store() -> Store:
    """The request's database connection.

    Each server thread keeps one connection open and reuses it for the requests it serves:
    opening a connection costs the settings pragmas, and closing the last one makes SQLite
    checkpoint the WAL, which would otherwise happen on almost every request. Teardown
    rolls back anything a failed request left open, so no state passes between requests."""
    if "store" not in g:
        local = current_app.extensions["formsengine_connections"]
        store = getattr(local, "store", None)
        if store is None:
            store = Store(connect_to(current_app.config["DATABASE"]), get_engine())
            local.store = store
        g.store = store
    return g.store


def close_store(_exc: BaseException | None) -> None:
    store = g.pop("store", None)
    if store is not None and store.conn.in_transaction:
        store.conn.execute("ROLLBACK")
