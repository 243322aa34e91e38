"""Core test fixtures.

Installed entry points are not loaded under test: each test registers the plugins it needs,
so that results do not depend on what happens to be installed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import formsengine
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.store import Store

DATA = Path(__file__).parent / "data"


def toy_definition() -> dict:
    return json.loads((DATA / "toy.json").read_text())


class DefinitionsPlugin:
    """A test-only plugin that registers the definitions it is given."""

    def __init__(self, *definitions: dict, name: str = "test-plugin") -> None:
        self.definitions = definitions
        self.__name__ = name

    @formsengine.hookimpl
    def register_instruments(self, register):
        for d in self.definitions:
            register(copy.deepcopy(d))


def make_engine(*plugins, **kwargs) -> Engine:
    return Engine(Settings(), load_entrypoints=False, plugins=plugins, **kwargs)


@pytest.fixture
def toy() -> dict:
    return toy_definition()


@pytest.fixture
def engine(toy) -> Engine:
    return make_engine(DefinitionsPlugin(toy))


@pytest.fixture
def store(engine, tmp_path) -> Store:
    s = Store.open(tmp_path / "test.db", engine, create=True)
    yield s
    s.close()


def answers(**items) -> dict:
    """Answers data for the toy instrument; keyword names use _ for the dots."""
    base = {"toy.a": "no", "toy.b": "no", "toy.c": "no", "toy.d": "no"}
    for key, value in items.items():
        base["toy." + key.replace("__", ".")] = value
    return {"instrument": "toy-checklist", "answers": base,
            "fields": {"assessment_date": "2026-01-10"}}
