"""Definition validation: schema problems and problems of meaning are reported with the
plugin, the file, the JSON path and what would be valid; nothing bad is registered."""

from __future__ import annotations

import json

import pytest

import formsengine
from formsengine.engine import PluginLoadError
from formsengine.errors import DefinitionError, UnknownInstrumentError
from formsengine.instruments import build_instrument, read_json_file

from .conftest import DefinitionsPlugin, make_engine


def problems_of(definition) -> str:
    with pytest.raises(PluginLoadError) as exc:
        make_engine(DefinitionsPlugin(definition, name="org-plugin"))
    return str(exc.value)


def test_valid_definition_registers(engine):
    inst = engine.instruments.get("toy-checklist")
    assert inst.version == "1.0"
    assert list(inst.items)[:2] == ["toy.a", "toy.a.what"]
    assert inst.plugin == "test-plugin"
    assert [s.id for s in inst.sections] == ["checklist", "behaviour"]


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.pop("subject_role"), "$: 'subject_role' is a required property"),
    (lambda d: d.update(subject_role="perpetrator"),
     "$.subject_role: 'perpetrator' is not one of"),
    (lambda d: d.update(id="Bad Id!"), "$.id: 'Bad Id!' does not match"),
    (lambda d: d["sections"][0]["items"][0].update(type="slider"),
     "$.sections[0].items[0].type"),
    (lambda d: d["sections"][0]["items"][0].update(colour="red"),
     "$.sections[0].items[0]: Additional properties are not allowed ('colour'"),
    (lambda d: d["sections"][0]["items"][0].pop("options"),
     "$.sections[0].items[0]: 'options' is a required property"),
    (lambda d: d["sections"][0]["items"][0].update(options="nosuchset"),
     "$.sections[0].items[0].options: option set 'nosuchset' is not defined"),
])
def test_schema_problems_name_plugin_and_path(toy, mutate, expected):
    mutate(toy)
    message = problems_of(toy)
    assert "plugin 'org-plugin'" in message
    assert expected in message


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["scoring"]["scores"][0].update(items=["toy.a", "toy.zzz"]),
     "$.scoring.scores[0].items[1]: unknown item 'toy.zzz'"),
    (lambda d: d["scoring"]["scores"][0].update(values=["maybe"]),
     "$.scoring.scores[0].values: value 'maybe' is not an answer option"),
    (lambda d: d["scoring"]["bands"][0].update(cutoffs={"param": "nope"}),
     "unknown parameter 'nope'"),
    (lambda d: d["scoring"]["bands"][0].update(score="missing_score"),
     "$.scoring.bands[0].score: unknown score 'missing_score'"),
    (lambda d: d["parameters"]["risk_cutoffs"].update(default=[{"min": 2, "band": "low"},
                                                                {"min": 1, "band": "high"}]),
     "must rise"),
    (lambda d: d["scoring"]["flags"][0].update(when={"item": "toy.a", "equals": "perhaps"}),
     "'perhaps' is not an answer option of toy.a"),
    (lambda d: d["scoring"]["criteria"][0].update(group="other"), "unknown group 'other'"),
    (lambda d: d["scoring"]["criteria"][0].update(when={"flag": "nope"}), "unknown flag 'nope'"),
    (lambda d: d["sections"][1]["items"].append(dict(d["sections"][0]["items"][0])),
     "item id 'toy.a' is used twice"),
    (lambda d: d["scoring"]["level"].update(order=["low", "high"]),
     "band 'medium' is missing from the order"),
    (lambda d: d["sections"][0]["items"][1].update(show_when={"score": "yes_count", "gte": 1}),
     "only items and fields can be tested here"),
    (lambda d: d["scoring"]["criteria"][3]["when"]["date_within"].update(start="incidents"),
     "'incidents' is not a date field"),
])
def test_meaning_problems(toy, mutate, expected):
    mutate(toy)
    assert expected in problems_of(toy)


def test_all_problems_reported_at_once(toy):
    toy["scoring"]["scores"][0]["items"] = ["toy.x1"]
    toy["scoring"]["bands"][0]["score"] = "nothing"
    message = problems_of(toy)
    assert "toy.x1" in message and "'nothing'" in message


def test_duplicate_id_and_version_from_two_plugins(toy):
    with pytest.raises(PluginLoadError) as exc:
        make_engine(DefinitionsPlugin(toy, name="first"), DefinitionsPlugin(toy, name="second"))
    message = str(exc.value)
    assert "registered twice" in message
    assert "'first'" in message and "'second'" in message


def test_two_versions_coexist_and_newest_is_default(toy):
    newer = json.loads(json.dumps(toy))
    newer["version"] = "1.10"
    engine = make_engine(DefinitionsPlugin(toy, newer))
    assert engine.instruments.versions("toy-checklist") == ["1.0", "1.10"]
    assert engine.instruments.get("toy-checklist").version == "1.10"
    assert engine.instruments.get("toy-checklist", "1.0").version == "1.0"
    with pytest.raises(UnknownInstrumentError, match="no version '2.0'"):
        engine.instruments.get("toy-checklist", "2.0")


def test_unknown_instrument_lists_known(engine):
    with pytest.raises(UnknownInstrumentError, match="registered: toy-checklist"):
        engine.instruments.get("dash-safelives")


@pytest.mark.parametrize("content, expected", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"id": "x", "items": [], "items": []}', "'items' is written twice in one object"),
])
def test_bad_definition_files(tmp_path, content, expected):
    (tmp_path / "bad.json").write_bytes(content)

    class FilePlugin:
        __name__ = "file-plugin"

        @formsengine.hookimpl
        def register_instruments(self, register):
            register(tmp_path / "bad.json")

    with pytest.raises(PluginLoadError) as exc:
        make_engine(FilePlugin())
    assert expected in str(exc.value)
    assert "file-plugin" in str(exc.value) and "bad.json" in str(exc.value)


def test_oversized_definition_file(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"x": "' + "a" * 2_100_000 + '"}')
    with pytest.raises(DefinitionError, match="limit is 2000000 bytes"):
        read_json_file(big)


def test_hostile_deeply_nested_condition_is_refused_cleanly(toy):
    cond: dict = {"item": "toy.a", "equals": "yes"}
    for _ in range(3000):
        cond = {"not": cond}
    toy["scoring"]["flags"][0]["when"] = cond
    with pytest.raises(DefinitionError):
        build_instrument(toy, plugin="p", plugin_version="1", source=None)


def test_local_definitions_folder(tmp_path, toy):
    (tmp_path / "toy.json").write_text(json.dumps(toy))
    from formsengine.config import Settings
    from formsengine.engine import Engine

    engine = Engine(Settings(definitions_dir=tmp_path), load_entrypoints=False)
    inst = engine.instruments.get("toy-checklist")
    assert inst.plugin == "formsengine.default_plugins.local_definitions"
    assert inst.source == "toy.json"


def test_helper_json_in_a_definitions_folder_is_ignored(tmp_path, toy):
    """Only files that declare the instrument schema, or have an instrument's id and
    sections, are offered; other JSON (an author's helper files) is left alone, and a file
    that declares the schema but is wrong is still reported."""
    from formsengine.config import Settings
    from formsengine.engine import Engine

    second = dict(toy, id="toy-declared", **{"$schema": "../schemas/instrument.schema.json"})
    (tmp_path / "toy.json").write_text(json.dumps(toy))
    (tmp_path / "declared.json").write_text(json.dumps(second))
    (tmp_path / "helpers.json").write_text(json.dumps({"id": "colours", "red": "#f00"}))
    (tmp_path / "other.json").write_text(json.dumps({"$schema": "urn:example:lookup",
                                                     "id": "x", "sections": []}))
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    engine = Engine(Settings(definitions_dir=tmp_path), load_entrypoints=False)
    assert [i.id for i in engine.instruments] == ["toy-checklist", "toy-declared"]
    (tmp_path / "broken.json").write_text(json.dumps(
        {"$schema": "urn:formsengine:schema:instrument:1", "id": "half-done"}))
    with pytest.raises(PluginLoadError, match="broken.json"):
        Engine(Settings(definitions_dir=tmp_path), load_entrypoints=False)


def test_counting_a_not_known_value_is_refused(toy):
    toy["scoring"]["scores"][0]["values"] = ["yes", "dont_know"]
    assert "scores count only known answers" in problems_of(toy)


def _item(definition, item_id):
    return next(i for s in definition["sections"] for i in s["items"] if i["id"] == item_id)


def _refusals():
    """(name, change to the toy definition, words the refusal must hold, words it must not)."""
    def self_ref(d):
        _item(d, "toy.c")["show_when"] = {"item": "toy.c", "equals": "yes"}

    def circular(d):
        _item(d, "toy.c")["show_when"] = {"item": "toy.d", "equals": "yes"}
        _item(d, "toy.d")["show_when"] = {"any": [{"item": "toy.c", "equals": "yes"}]}

    def wrong_type(d):
        d["scoring"]["flags"][0]["when"] = {"item": "toy.a", "in": ["yes", 3]}

    def number_against_text(d):
        _item(d, "toy.c")["show_when"] = {"field": "incidents", "equals": "3"}

    def min_above_max(d):
        d["fields"][1]["minimum"] = 50
        d["fields"][1]["maximum"] = 5

    def default_outside(d):
        d["parameters"]["escalation"]["default"] = 500

    def duplicate_band_names(d):
        d["parameters"]["risk_cutoffs"]["default"][2]["band"] = "medium"

    def duplicate_band_ids(d):
        d["scoring"]["bands"].append(dict(d["scoring"]["bands"][0]))

    def flag_tests_flag(d):
        d["scoring"]["flags"].append({"id": "second", "label": "Second",
                                      "when": {"flag": "first"}})

    def jargon(d):
        d["scoring"]["scores"].append({"id": "c", "type": "combination", "items": ["toy.a"],
                                       "values": ["yes"], "missing": "not_known"})

    return [
        ("self", self_ref, ["$.items[toy.c].show_when", "tests itself"], []),
        ("circular", circular, ["circular show conditions (toy.c -> toy.d -> toy.c)"], []),
        ("wrong type", wrong_type,
         ["$.scoring.flags[0].when.in[1]: 3 is a number", "are text"], []),
        ("number field", number_against_text,
         ["$.items[toy.c].show_when.equals: 3 is a text", "holds a number"], []),
        ("min above max", min_above_max,
         ["$.fields[incidents].minimum: the minimum (50) is above the maximum (5)"], []),
        ("default outside", default_outside,
         ["$.parameters.escalation.default: 500 is above the parameter's own maximum (100)"],
         []),
        ("duplicate band names", duplicate_band_names,
         ["$.parameters.risk_cutoffs.default: band name 'medium' is used by more than one"],
         []),
        ("duplicate band ids", duplicate_band_ids,
         ["$.scoring.bands[1].id: band id 'risk_band' is used twice"], []),
        ("flag tests flag", flag_tests_flag,
         ["$.scoring.flags[3].when.flag: flags cannot test flags ('first' is a flag)"],
         ["unknown flag"]),
        ("jargon", jargon,
         ["$.scoring.scores[9]: 'missing' is not allowed here when the type is 'combination'"],
         ["should not be valid", "{"]),
    ]


@pytest.mark.parametrize("name,change,expected,unexpected", _refusals(),
                         ids=[r[0] for r in _refusals()])
def test_validator_refuses_through_the_api_and_the_cli(toy, tmp_path, name, change, expected,
                                                       unexpected):
    from click.testing import CliRunner

    from formsengine.cli import cli

    change(toy)
    with pytest.raises(DefinitionError) as exc:
        build_instrument(toy, plugin="p", plugin_version="1", source=None)
    text = "\n".join(exc.value.problems)
    for words in expected:
        assert words in text
    for words in unexpected:
        assert words not in text
    path = tmp_path / "def.json"
    path.write_text(json.dumps(toy))
    out = CliRunner().invoke(cli, ["instruments", "validate", str(path)])
    assert out.exit_code == 1
    for words in expected:
        assert words in out.output


def test_repeated_option_value_is_reported_once_at_the_option_set(toy):
    toy["option_sets"]["ynu"].append(dict(toy["option_sets"]["ynu"][0], label="Again"))
    repeated = toy["option_sets"]["ynu"][0]["value"]
    inline = _item(toy, "toy.a.what")["options"]
    inline.append(dict(inline[0], label="Again"))
    with pytest.raises(DefinitionError) as exc:
        build_instrument(toy, plugin="p", plugin_version="1", source=None)
    problems = exc.value.problems
    assert [p for p in problems if "option value" in p and "toy.a.what" not in p] == [
        f"$.option_sets.ynu: option value {repeated!r} is used more than once "
        "(each option needs its own value)"]
    assert [p for p in problems if p.startswith("$.items[toy.a.what].options")] == [
        f"$.items[toy.a.what].options: option value {inline[0]['value']!r} is used more "
        "than once (each option needs its own value)"]


def test_no_shipped_json_file_writes_a_key_twice():
    """Definitions, wording packs and schemas: a key written twice in one object loses its
    first value to JSON readers without a word (answers.schema.json once had two)."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = [p for folder in ("formsengine", "plugins", "schemas")
             for p in (root / folder).rglob("*.json")
             if not p.name.endswith("-not-json.json")]  # a test's deliberately broken file
    assert len(files) > 20

    def refuse(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), (path, sorted(k for k in keys if keys.count(k) > 1))
        return dict(pairs)

    for path in files:
        json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=refuse)
