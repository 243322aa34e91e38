"""Exceptions that carry messages meant for the person at the keyboard."""

from __future__ import annotations


class FormsEngineError(Exception):
    """Base class: the message names the thing and the fix."""


class DefinitionError(FormsEngineError):
    """An instrument definition or wording pack is not valid.

    ``problems`` lists every problem found, each already phrased for the author.
    """

    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{where}: definition is not valid:\n{shown}{more}")


class DuplicateInstrumentError(FormsEngineError):
    pass


class UnknownInstrumentError(FormsEngineError):
    pass


class SubmissionError(FormsEngineError):
    """Answers that do not fit the instrument. ``problems`` lists each one."""

    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{where}:\n{shown}{more}")


class ConfigError(FormsEngineError):
    pass


class StorageError(FormsEngineError):
    pass


class StaleEditError(StorageError):
    """The record was changed by someone else since it was read."""


class LockedError(StorageError):
    """A finalised assessment cannot be edited; amend it instead."""


class CaseClosedError(StorageError):
    """A draft on a closed case cannot be finalised; reopen the case first."""


class BusyError(FormsEngineError):
    """The database stayed busy with other writers for longer than a writer may wait; nothing
    was written. Not a ``StorageError``: callers that read a ``StorageError`` as "someone
    else changed it first" must not read this one that way."""
