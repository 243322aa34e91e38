"""A wording pack words the instrument's own headings as well as its items: the title,
section titles, grid questions, repeating groups, fields, score, band and level names,
flags and criteria, each keyed by the id the definition gives it
(docs/examples/definitions/grid-cy.wording.json, the documented example). The definition's
words are kept wherever a pack gives none; a pack that words a part the instrument does not
have, or gives a wrong key, type or length, is refused with a plain message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formsengine.errors import DefinitionError
from formsengine.instruments import MAX_DEFINITION_BYTES, InstrumentRegistry, build_instrument
from formsengine.wording import Headings, WordingRegistry, part_ids

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples" / "definitions"
EXAMPLE = EXAMPLES / "grid-cy.wording.json"


def _instrument(name: str):
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return build_instrument(data, plugin="test", plugin_version="0", source=None)


@pytest.fixture(scope="module")
def instruments():
    registry = InstrumentRegistry()
    for name in ("grid.json", "calculated.json", "household.json"):
        registry.add(_instrument(name))
    return registry


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def add(pack, instruments):
    return WordingRegistry().add(pack, plugin="test", instruments=instruments)


def refused(pack, instruments) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        add(pack, instruments)
    return caught.value.problems


def test_the_documented_example_words_the_grid_examples_headings(instruments):
    pack = WordingRegistry().add(EXAMPLE, plugin="test", instruments=instruments)
    inst = instruments.get("example-grid")
    words = Headings(inst, pack)
    assert pack.language == "cy"
    assert words.title == "Enghraifft: grid Likert"
    assert words.section_title("feelings") == "Sut mae pethau wedi bod"
    grid = inst.sections[0].grid("last_month")
    assert words.grid(grid) == {
        "label": "Yn ystod y mis diwethaf, pa mor aml ydych chi wedi teimlo fel hyn?",
        "help": "Dewiswch un ateb ar bob llinell."}
    assert words.field("assessment_date")["label"] == "Dyddiad yr asesiad"
    assert words.score_label("distress") == "Gofid yn ystod y mis diwethaf"
    assert words.score_label("distress_at_least").startswith("Gofid yn ystod")
    assert words.flag("constant_fear") == {"label": "Ofn drwy’r amser", "explanation": None}


def test_the_definitions_words_are_kept_where_a_pack_gives_none(instruments):
    inst = instruments.get("example-grid")
    data = example()
    for key in ("instrument_title", "sections", "grids", "scores", "flags"):
        del data[key]
    pack = add(data, instruments)
    for words in (Headings(inst, pack), Headings(inst, None)):
        assert words.title == "Example: a Likert grid"
        assert words.section_title("feelings") == "How things have been"
        assert words.grid(inst.sections[0].grid("last_month"))["label"].startswith(
            "In the last month")
        assert words.score_label("distress") == "Distress in the last month"
        assert words.flag("constant_fear")["label"] == "Afraid all the time"
    # the field the pack still words, and only that
    assert Headings(inst, pack).field("assessment_date")["label"] == "Dyddiad yr asesiad"
    assert Headings(inst, None).field("assessment_date")["label"] == "Date of assessment"
    # a pack for another instrument words nothing of this one
    other = instruments.get("example-household")
    assert Headings(other, pack).title == other.title


def test_bands_levels_repeats_and_field_options_are_worded(instruments):
    calculated = instruments.get("example-calculated")
    pack = add({"id": "calc-cy", "version": "1.0", "instrument": "example-calculated",
                "language": "cy", "licence": "test", "holder": "test",
                "items": {"ex.worry_home": {"label": "Pa mor aml ydych chi’n poeni gartref?"}},
                "bands": {"worry": {"label": "Gofid"}},
                "levels": {"low": "Isel", "high": "Uchel"},
                "scores": {"worry_total": {"label": "Sgôr gofid"}}}, instruments)
    words = Headings(calculated, pack)
    assert words.band_label("worry") == "Gofid"
    assert (words.level("low"), words.level("high")) == ("Isel", "Uchel")
    assert words.score_label("worry_total") == "Sgôr gofid"
    assert words.score_label("person_age") == "Age at assessment"
    assert part_ids(calculated)["levels"] == ["low", "high"]

    # a repeating group, and a field with options (added to the household example)
    data = json.loads((EXAMPLES / "household.json").read_text(encoding="utf-8"))
    data["fields"].append({"id": "referred_by", "type": "choice", "label": "Referred by",
                           "options": [{"value": "police", "label": "Police"},
                                       {"value": "self", "label": "Themselves"}]})
    household = build_instrument(data, plugin="test", plugin_version="0", source=None)
    registry = InstrumentRegistry()
    registry.add(household)
    group = household.repeats["children"]
    pack = {"id": "house-cy", "version": "1.0", "instrument": "example-household",
            "language": "cy", "licence": "test", "holder": "test",
            "items": {"hh.pregnant": {"label": "Ydych chi’n feichiog?"}},
            "repeats": {"children": {"label": "Plentyn",
                                     "add_label": "Ychwanegu plentyn arall"}},
            "fields": {"referred_by": {"label": "Pwy a’ch cyfeiriodd",
                                       "options": {"police": "Yr heddlu"}}}}
    words = Headings(household, add(pack, registry))
    assert words.repeat(group) == {"label": "Plentyn", "help": group.help,
                                   "add_label": "Ychwanegu plentyn arall"}
    assert words.field("referred_by") == {"label": "Pwy a’ch cyfeiriodd", "help": None,
                                          "options": {"police": "Yr heddlu",
                                                      "self": "Themselves"}}
    pack["fields"]["referred_by"]["options"]["court"] = "Llys"
    assert refused(pack, registry) == [
        "$.fields.referred_by.options.court: not an option of the field "
        "(options: police, self)"]


@pytest.mark.parametrize("change,message", [
    # a part the instrument does not have: named, with what it does have
    (lambda p: p["sections"].update(abuse={"title": "Cam-drin"}),
     "$.sections.abuse: example-grid v1.0 has no such section (sections: feelings)"),
    (lambda p: p["grids"].update(this_week={"label": "Yr wythnos hon"}),
     "$.grids.this_week: example-grid v1.0 has no such grid (grids: last_month)"),
    (lambda p: p["scores"].update(total={"label": "Cyfanswm"}),
     "$.scores.total: example-grid v1.0 has no such score (scores: distress, "
     "distress_at_least)"),
    (lambda p: p["flags"].update(high={"label": "Uchel"}),
     "$.flags.high: example-grid v1.0 has no such flag (flags: constant_fear)"),
    (lambda p: p.update(levels={"high": "Uchel"}),
     "$.levels.high: example-grid v1.0 has no such level (levels: none)"),
    (lambda p: p.update(bands={"risk": {"label": "Risg"}}),
     "$.bands.risk: example-grid v1.0 has no such band (bands: none)"),
    (lambda p: p.update(criteria={"marac": {"label": "MARAC"}}),
     "$.criteria.marac: example-grid v1.0 has no such criterion (criteria: none)"),
    (lambda p: p.update(repeats={"children": {"label": "Plentyn"}}),
     "$.repeats.children: example-grid v1.0 has no such repeat (repeats: none)"),
    (lambda p: p["fields"].update(date_of_birth={"label": "Dyddiad geni"}),
     "$.fields.date_of_birth: example-grid v1.0 has no such field (fields: assessment_date)"),
    (lambda p: p["fields"]["assessment_date"].update(options={"today": "Heddiw"}),
     "$.fields.assessment_date.options.today: not an option of the field (options: none)"),
])
def test_a_part_the_instrument_does_not_have_is_refused(instruments, change, message):
    pack = example()
    change(pack)
    assert refused(pack, instruments) == [message]


@pytest.mark.parametrize("change,where,words", [
    # an unknown key, at the top or in an entry: the keys allowed there are listed
    (lambda p: p.update(section_titles={"feelings": "Teimladau"}), "$",
     "'section_titles' was unexpected"),
    (lambda p: p["sections"]["feelings"].update(heading="Teimladau"), "$.sections.feelings",
     "(allowed here: description, title)"),
    # the wrong type
    (lambda p: p["sections"]["feelings"].update(title=3), "$.sections.feelings.title",
     "is not of type 'string'"),
    (lambda p: p["scores"].update(distress="Gofid"), "$.scores.distress",
     "is not of type 'object'"),
    (lambda p: p.update(sections=["feelings"]), "$.sections", "is not of type 'object'"),
    (lambda p: p.update(levels={"low": {"label": "Isel"}}), "$.levels.low",
     "is not of type 'string'"),
    # malformed: an empty entry, a score without its label, an id that is no id
    (lambda p: p["sections"].update(feelings={}), "$.sections.feelings", "non-empty"),
    (lambda p: p["scores"].update(distress={}), "$.scores.distress",
     "'label' is a required property"),
    (lambda p: p["sections"].update({"How things": {"title": "Sut"}}), "$.sections",
     "does not match"),
    (lambda p: p.update(instrument_title=""), "$.instrument_title", "should be non-empty"),
    # too long
    (lambda p: p.update(instrument_title="G" * 301), "$.instrument_title",
     "the text (301 characters) is too long"),
    (lambda p: p["grids"]["last_month"].update(help="G" * 5001), "$.grids.last_month.help",
     "the text (5001 characters) is too long"),
])
def test_a_malformed_pack_is_refused_in_plain_words(instruments, change, where, words):
    pack = example()
    change(pack)
    problems = refused(pack, instruments)
    assert len(problems) == 1, problems
    assert problems[0].startswith(where + ": ") and words in problems[0], problems


def test_an_oversized_pack_file_is_refused(instruments, tmp_path):
    pack = example()
    pack["instrument_description"] = "x" * 4000
    pack["sections"]["feelings"]["description"] = "x" * 4000
    path = tmp_path / "big.wording.json"
    path.write_text(json.dumps(pack) + " " * MAX_DEFINITION_BYTES, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        WordingRegistry().add(path, plugin="test", instruments=instruments)
    assert caught.value.problems == [f"file is too large: the limit is {MAX_DEFINITION_BYTES} "
                                     "bytes"]


def test_the_documented_snippet_is_the_example_and_names_every_heading_key():
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    i = text.index("docs/examples/definitions/grid-cy.wording.json")
    block = text[text.index("```json\n", i) + 8:]
    assert json.loads(block[:block.index("```")]) == example()
    for key in ("instrument_title", "instrument_description", "sections", "grids",
                "repeats", "fields", "scores", "bands", "levels", "flags", "criteria"):
        assert f"`{key}`" in text, key


def test_the_shipped_welsh_pack_words_the_intake_records_headings():
    import formsengine_outcomes

    from formsengine.config import Settings
    from formsengine.engine import Engine

    engine = Engine(Settings(definitions_dir=ROOT / "tests" / "web" / "definitions"),
                    load_entrypoints=False, plugins=[formsengine_outcomes])
    inst = engine.instruments.get("idva-intake")
    pack = engine.wording.get("idva-intake-cy@1.0")
    words = Headings(inst, pack)
    assert words.title != inst.title and words.section_title("abuse") == "Y cam-drin a brofwyd"
    # every score and flag of the record has its Welsh name
    ids = part_ids(inst)
    assert set(pack.headings["scores"]) == set(ids["scores"])
    assert set(pack.headings["flags"]) == set(ids["flags"])
    for spec in inst.score_specs:
        assert words.score_label(spec["id"]) not in (spec["label"], spec["id"])
