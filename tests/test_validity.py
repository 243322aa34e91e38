"""Definitions found valid are remembered by a key of the version, the schema and the
definition; anything changed is validated again, and nothing invalid is remembered."""

from __future__ import annotations

import copy

import pytest

from formsengine import validity
from formsengine.errors import DefinitionError
from formsengine.instruments import build_instrument, load_schema


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("FORMSENGINE_CACHE_DIR", str(folder))
    return folder


def test_a_valid_definition_is_remembered_and_a_changed_one_checked_again(cache, toy):
    build_instrument(toy, plugin="test", plugin_version="1", source=None)
    marks = list(cache.glob("valid-*"))
    assert len(marks) == 1
    assert (cache.stat().st_mode & 0o777) == 0o700
    seen, _ = validity.known_valid(load_schema("instrument"), toy)
    assert seen

    broken = copy.deepcopy(toy)
    broken["sections"][0]["items"][0]["type"] = "no-such-type"
    with pytest.raises(DefinitionError):
        build_instrument(broken, plugin="test", plugin_version="1", source=None)
    assert len(list(cache.glob("valid-*"))) == 1  # nothing invalid is remembered

    changed = copy.deepcopy(toy)
    changed["title"] = "Another title"
    assert validity.key(load_schema("instrument"), changed) != marks[0].name[6:]


def test_a_cache_that_cannot_be_written_is_not_used(tmp_path, monkeypatch, toy):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("FORMSENGINE_CACHE_DIR", str(blocked / "below-a-file"))
    assert build_instrument(toy, plugin="test", plugin_version="1", source=None).id == toy["id"]
