"""Reading input with a size limit that holds for every kind of file.

A regular file's size is known before it is read, but a pipe, a device (``/dev/urandom``)
or a growing file reports a size of 0 or a size that is wrong by the time it is read; so
the limit is applied to the bytes actually read, never to ``stat``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class TooLarge(ValueError):
    """The input passed its limit; nothing past the limit was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than the limit of {limit:,} bytes")
        self.limit = limit


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The whole content of ``path``, or ``TooLarge`` after reading at most ``max_bytes + 1``
    bytes. ``OSError`` passes through for the caller to word."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(max_bytes)
    return data


class ReadsLines(Protocol):
    """A binary file, or anything with its ``readline``."""

    def readline(self, limit: int = -1, /) -> bytes: ...


def bounded_lines(fh: ReadsLines, *, max_line: int, max_total: int
                  ) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, line)`` for each line, with ``None`` for a line longer than
    ``max_line`` (its rest is skipped without being kept); ``TooLarge`` once more than
    ``max_total`` bytes have been read in all."""
    total = 0
    number = 0
    while True:
        raw = fh.readline(max_line + 1)
        if not raw:
            return
        number += 1
        total += len(raw)
        if len(raw) > max_line and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip to the end of the long line
                if total > max_total:
                    raise TooLarge(max_total)
                raw = fh.readline(max_line + 1)
                total += len(raw)
            if total > max_total:
                raise TooLarge(max_total)
            yield number, None
            continue
        if total > max_total:
            raise TooLarge(max_total)
        yield number, None if len(raw.rstrip(b"\r\n")) > max_line else raw


class DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the file, refused when it names a key twice: JSON readers keep only the
    last, so the first would be lost without a word."""
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    for key, _ in pairs:  # the first key written twice
        if key in seen:
            raise DuplicateKey(key)
        seen.add(key)
    raise AssertionError("unreachable: fewer keys than pairs")  # pragma: no cover
