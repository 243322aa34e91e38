"""The web application: Flask app factory (``app.py``), one blueprint per area, and the
request's database connection (``db.py``).

Importing this package loads nothing heavy (the command line imports ``web.plugin`` for
every command): ``create_app``, ``get_store`` and ``get_engine`` are loaded on first use.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"create_app": "app", "csrf": "app", "get_store": "db", "get_engine": "db"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
