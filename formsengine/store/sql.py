"""Small SQL helpers shared by the store's modules.

Only the store package writes SQL. Statements use ``?`` placeholders and SQL that both
SQLite and PostgreSQL accept; anything one dialect needs differently belongs in a helper
here, documented, rather than in the module that uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any


def marks(values: Sized) -> str:
    """``?, ?, ?``: one placeholder per value, for ``IN (...)``. An empty list gives
    ``NULL`` so that ``x IN (NULL)`` matches nothing instead of being a syntax error."""
    return ", ".join("?" for _ in range(len(values))) or "NULL"


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """The values in slices of at most ``size``, to keep each ``IN (...)`` list below the
    database's limit on bound parameters."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def in_list(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """``("(?, ?)", [a, b])``: the parenthesised placeholder list and its parameters."""
    params = list(values)
    return f"({marks(params)})", params

