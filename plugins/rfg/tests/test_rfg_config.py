"""The RFG configuration: defaults, checks, and a hash that changes only when a setting does."""

import json

import pytest
from formsengine_rfg.config import load_config

from formsengine.errors import ConfigError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_labelled_illustrative():
    config = load_config(None)
    assert "not any police force" in config.name
    assert config.window_months == 36
    assert [m for m, _ in config.bands] == [1, 3, 6, 12, 24, 36]
    points = [p for _, p in config.bands]
    assert points == sorted(points, reverse=True) and len(set(points)) == len(points)
    assert sum(config.weights.values()) == 100
    assert config.hash().startswith("sha256:") and len(config.hash()) == 71


def test_hash_is_stable_across_format_key_order_and_number_spelling(tmp_path):
    toml = write(tmp_path / "a.toml", "window_months = 36\n[weights]\ngravity = 30\n"
                                      "recency = 25\n")
    as_json = write(tmp_path / "b.json", json.dumps(
        {"weights": {"recency": 25.0, "gravity": 30.0}, "window_months": 36}))
    renamed = write(tmp_path / "c.json", json.dumps(
        {"name": "Another name", "description": "same numbers", "weights": {"gravity": 30}}))
    hashes = {load_config(p).hash() for p in (toml, as_json, renamed)}
    assert hashes == {load_config(None).hash()}
    assert load_config(toml).hash() == load_config(toml).hash()


@pytest.mark.parametrize("change", [
    {"weights": {"gravity": 31}},
    {"weights": {"victims": 0}},
    {"window_months": 24},
    {"recency": {"bands": [{"max_months": 1, "points": 6}, {"max_months": 36, "points": 1}]}},
    {"frequency": {"cap": 12}},
    {"gravity": {"aggregate": "max"}},
    {"gravity": {"matrix": {"harassment": 2}}},
    {"normalisation": {"method": "cohort_max"}},
    {"normalisation": {"scale": {"victims": 4}}},
])
def test_hash_changes_when_a_setting_changes(tmp_path, change):
    path = write(tmp_path / "changed.json", json.dumps(change))
    assert load_config(path).hash() != load_config(None).hash()


def test_harm_table_is_part_of_the_hash_when_gravity_uses_it(tmp_path):
    path = write(tmp_path / "harm.toml", '[gravity]\nsource = "harm_days"\n')
    config = load_config(path)
    assert config.hash("sha256:aa") != config.hash("sha256:bb")
    matrix = load_config(None)
    assert matrix.hash("sha256:aa") == matrix.hash("sha256:bb")


def test_matrix_and_bands_replace_the_defaults_whole(tmp_path):
    path = write(tmp_path / "m.toml", "[gravity.matrix]\nLOCAL_CODE = 3\n")
    config = load_config(path)
    assert config.matrix() == {"local_code": 3}
    assert config.weights["gravity"] == 30           # other tables still merge key by key


def test_json_null_removes_the_cap(tmp_path):
    capped = load_config(write(tmp_path / "cap.json", json.dumps({"frequency": {"cap": 5}})))
    assert capped.cap == 5
    assert load_config(write(tmp_path / "nocap.json",
                             json.dumps({"frequency": {"cap": None}}))).cap is None


@pytest.mark.parametrize("text, message", [
    ('[weights]\ngravty = 3\n', "unknown key 'weights.gravty'"),
    ('colour = "red"\n', "unknown key 'colour'"),
    ('[weights]\ngravity = -1\n', "weights.gravity must be at least 0"),
    ('[weights]\nrecency = 0\nfrequency_crime = 0\nfrequency_noncrime = 0\ngravity = 0\n'
     'victims = 0\n', "at least one weight"),
    ('[weights]\ngravity = "high"\n', "weights.gravity must be a number"),
    ('[weights]\ngravity = true\n', "weights.gravity must be a number"),
    ('[weights]\ngravity = nan\n', "weights.gravity must be a number"),
    ('window_months = 0\n', "window_months must be at least 1"),
    ('window_months = 2.5\n', "window_months must be a whole number"),
    ('[recency]\nbands = [{max_months = 6, points = 3}, {max_months = 3, points = 5}]\n',
     "must rise"),
    ('[recency]\nbands = [{max_months = 6}]\n', "exactly max_months and points"),
    ('[recency]\nbands = []\n', "non-empty list"),
    ('[gravity]\nsource = "vibes"\n', "gravity.source"),
    ('[gravity]\naggregate = "mean"\n', "gravity.aggregate"),
    ('[gravity.matrix]\nabc = 1\nABC = 2\n', "same code ignoring case"),
    ('[frequency]\ncap = 0\n', "frequency.cap must be at least 1"),
    ('[normalisation]\nmethod = "zscore"\n', "normalisation.method"),
    ('[normalisation.scale]\ngravity = 0\n', "normalisation.scale.gravity must be above 0"),
    ('weights = 3\n', "weights must be a table"),
    ('window_months = \n', "cannot be read as TOML"),
])
def test_bad_configurations_are_refused_with_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path / "bad.toml", text))
    assert message in str(err.value)


def test_file_type_and_encoding(tmp_path):
    with pytest.raises(ConfigError, match=".toml or .json"):
        load_config(write(tmp_path / "rfg.yaml", "weights: {}"))
    bad = tmp_path / "rfg.toml"
    bad.write_bytes(b"name = \"caf\xe9\"\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(write(tmp_path / "list.json", "[1, 2]"))
