"""Definitions from a local folder, for organisations that do not package a plugin.

Every ``*.json`` file in the folder named by the ``FORMSENGINE_DEFINITIONS`` setting that is
a definition (see ``instruments.looks_like_definition``: other JSON, such as an author's
helper files, is left alone) is offered as an instrument definition, and every
``*.wording.json`` file as a wording pack,
through the same hooks an installed plugin uses.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..hookspecs import hookimpl


class LocalDefinitions:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _files(self) -> list[Path]:
        if self.folder is None:
            return []
        if not self.folder.is_dir():
            raise ConfigError(f"definitions folder {self.folder} does not exist")
        return sorted(self.folder.glob("*.json"))

    @hookimpl(trylast=True)
    def register_instruments(self, register) -> None:
        from ..instruments import looks_like_definition  # not loaded by commands that need none

        for path in self._files():
            if not path.name.endswith(".wording.json") and looks_like_definition(path):
                register(path)

    @hookimpl(trylast=True)
    def register_wording_packs(self, register) -> None:
        for path in self._files():
            if path.name.endswith(".wording.json"):
                register(path)
