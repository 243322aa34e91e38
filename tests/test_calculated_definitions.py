"""The age score, calculated values and piping in the definition language: the engine's
arithmetic (leap days included), the validator's refusals, the text pipes give, and the
documented example (docs/examples/definitions/calculated.json) loaded and its vectors run.
What leaves the application (research files and codebook, FHIR, PDF reports) keeps the
definition's wording: no answer is piped into it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from formsengine.errors import DefinitionError
from formsengine.piping import answer_texts, fill, pipes, with_fallbacks
from formsengine.scoring import compute_score, whole_years
from formsengine.vectors import run_vectors
from formsengine.wording import item_text
from tests.conftest import DefinitionsPlugin, make_engine

from .conftest import build_definition as build
from .conftest import definition_problems as problems_of

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "definitions" / "calculated.json"
PLANTED = "Quillon-Plantedchild"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def inst():
    return build(example())


# -- age ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("born", "on", "years"), [
    ("1990-07-01", "2025-06-30", 34),
    ("1990-07-01", "2025-07-01", 35),
    ("1990-06-30", "2025-06-30", 35),
    ("2008-02-29", "2025-02-28", 16),   # no 29 February in 2025:
    ("2008-02-29", "2025-03-01", 17),   # a year older on 1 March
    ("2008-02-29", "2024-02-28", 15),
    ("2008-02-29", "2024-02-29", 16),   # a leap year: on the day itself
    ("2024-02-29", "2025-02-28", 0),
    ("2024-02-29", "2025-03-01", 1),
    ("2025-01-01", "2025-01-01", 0),
    ("2000-12-31", "2001-12-30", 0),
    ("2025-01-02", "2025-01-01", None),  # the second date before the first: not known
])
def test_whole_years_between_two_dates(born, on, years):
    assert whole_years(dt.date.fromisoformat(born), dt.date.fromisoformat(on)) == years


def test_an_age_reads_items_and_fields_and_is_not_known_when_either_date_is_not(inst):
    person, child = (next(s for s in inst.score_specs if s["id"] == i)
                     for i in ("person_age", "child_age"))
    on = {"assessment_date": dt.date(2025, 3, 1)}
    assert compute_score(inst, person, {}, {**on, "date_of_birth": dt.date(2008, 2, 29)}) == 17
    assert compute_score(inst, person, {}, on) is None
    assert compute_score(inst, person, {}, {"date_of_birth": dt.date(2008, 2, 29)}) is None
    assert compute_score(inst, child, {"ex.child_born": dt.date(2024, 2, 29)}, on) == 1
    assert compute_score(inst, child, {"ex.child_born": "2024-02-29"}, on) == 1  # as stored
    assert compute_score(inst, child, {}, on) is None


def test_the_engine_scores_ages_in_the_definitions_order(inst):
    engine = make_engine(DefinitionsPlugin(example()))
    result = engine.score_data({
        "instrument": "example-calculated",
        "answers": {"ex.child_born": "2021-07-01", "ex.worry_home": "often"},
        "fields": {"assessment_date": "2025-06-30", "date_of_birth": "2007-06-30"}})
    assert list(result["scores"]) == ["person_age", "child_age", "worry_total"]
    assert result["scores"] == {"person_age": 18, "child_age": 3, "worry_total": 2}
    assert result["flags"] == {"young_child": True, "young_person": False}


def test_the_documented_example_loads_and_its_vectors_pass():
    engine = make_engine(DefinitionsPlugin(example()))
    outcomes = run_vectors(engine, "example-calculated")
    assert len(outcomes) == 4
    assert all(o.passed for o in outcomes), [o.problems for o in outcomes]
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    assert "docs/examples/definitions/calculated.json" in text


def test_a_wrong_expectation_fails_its_vector():
    data = example()
    data["test_vectors"][1]["expect"]["scores"]["person_age"] = 16  # the day before: 16
    outcomes = run_vectors(make_engine(DefinitionsPlugin(data)), "example-calculated")
    assert [o.passed for o in outcomes] == [True, False, True, True]


def _score(data: dict, score_id: str) -> dict:
    return next(s for s in data["scoring"]["scores"] if s["id"] == score_id)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: _score(d, "child_age").update({"from": {"item": "ex.worry_home"}}),
     "'ex.worry_home' is a choice item; an age reads a date item or a date field"),
    (lambda d: _score(d, "child_age").update({"from": {"item": "ex.nothing"}}),
     "from.item: unknown item 'ex.nothing'"),
    (lambda d: _score(d, "person_age").update({"from": {"field": "birthday"}}),
     "from.field: unknown field 'birthday'"),
    (lambda d: _score(d, "child_age").update({"to": {"item": "ex.child_born"},
                                              "from": {"item": "ex.child_born"}}),
     "counts from and to the same date"),
    (lambda d: _score(d, "child_age").update({"items": ["ex.child_born"]}),
     "an age score does not use 'items'"),
    (lambda d: _score(d, "worry_total").update({"from": {"field": "date_of_birth"}}),
     "only an age score reads dates"),
    (lambda d: d["sections"][0]["calculated"].append({"score": "nothing"}),
     "calculated[1].score: unknown score 'nothing'"),
])
def test_the_validator_refuses(change, message):
    data = example()
    change(data)
    found = problems_of(data)
    assert any(message in p for p in found), found


def test_an_age_without_to_needs_the_assessment_date_field():
    data = example()
    data["fields"][0]["id"] = "seen_on"
    data["fields"][0]["type"] = "date"
    found = problems_of(data)
    assert any("there is no date field 'assessment_date'" in p for p in found), found
    data["assessment_date_field"] = "seen_on"
    data["scoring"]["scores"][1]["to"] = {"field": "seen_on"}
    data["sections"][0]["items"][2]["help"] = "Answer as things are now."
    assert build(data).scoring["scores"][0]["type"] == "age"


def test_an_age_without_from_is_refused_by_the_schema():
    data = example()
    del _score(data, "person_age")["from"]
    assert any("'from' is a required property" in p for p in problems_of(data))


# -- piping --------------------------------------------------------------------------------

def test_the_definition_keeps_the_fallback_wording(inst):
    item = inst.items["ex.child_born"]
    assert item.label == "When was the youngest child born?"
    assert item.label_source == "When was {{item.ex.child_name|the youngest child}} born?"
    school = inst.items["ex.child_school"]
    assert school.help == "Answer about the child as things are on the date of the assessment."
    assert inst.items["ex.child_name"].label_source is None  # no pipe: nothing kept twice
    assert item_text(inst, "ex.child_born", None)["label"] == item.label


def test_a_pipe_shows_the_answers_display_text(inst):
    label = "How often do you worry about {{item.ex.child_name|your youngest child}}?"
    texts = answer_texts(inst, {"ex.child_name": "  Robin\n Lee ", "ex.child_school": "yes",
                                "ex.worry_home": "declined",
                                "ex.child_born": dt.date(2021, 6, 30)},
                         {"assessment_date": dt.date(2025, 6, 30)})
    assert fill(label, texts) == "How often do you worry about Robin Lee?"
    assert texts("item", "ex.child_school") == "Yes"  # the option's label
    assert texts("item", "ex.child_born") == "30 June 2021"
    assert texts("field", "assessment_date") == "30 June 2025"
    assert texts("item", "ex.worry_home") is None  # not known: the fallback is shown
    assert texts("item", "ex.worry_out") is None  # unanswered
    long = answer_texts(inst, {"ex.child_name": "x" * 500}, {})("item", "ex.child_name")
    assert len(long) == 200 and long.endswith("\u2026")
    assert fill("{{item.ex.worry_home|how often}}", texts) == "how often"


def test_a_pipe_gives_plain_text_that_the_page_escapes(inst):
    from markupsafe import escape

    hostile = '<script>alert(1)</script>"&'
    text = item_text(inst, "ex.child_born", None, {"ex.child_name": hostile}, {})["label"]
    assert text == f"When was {hostile} born?"  # plain text, not markup
    assert "<script>" not in str(escape(text))
    assert not hasattr(text, "__html__")


def test_pipes_and_fallbacks_are_read_from_the_text():
    found = list(pipes("A {{item.a.b|the b}} and {{ field.when | that day }} {{nonsense}}"))
    assert [(p.kind, p.target, p.fallback) for p in found] == [
        ("item", "a.b", "the b"), ("field", "when", "that day"), (None, None, None)]
    assert with_fallbacks("A {{item.a.b|the b}}, {{field.when|that day}}") == "A the b, that day"
    assert with_fallbacks("No pipes here") == "No pipes here"
    assert with_fallbacks(None) is None


def _label(data: dict, section: int, item: int, text: str, key: str = "label") -> dict:
    data["sections"][section]["items"][item][key] = text
    return data


@pytest.mark.parametrize(("section", "item", "text", "message"), [
    (0, 0, "Name of {{item.ex.child_born|the child}}?",
     "names 'ex.child_born', which comes later in the definition"),
    (0, 1, "When was {{item.ex.worry_home|the child}} born?",
     "names 'ex.worry_home', which comes later"),
    (0, 1, "When was {{item.ex.child_born|the child}} born?", "names the item itself"),
    (0, 1, "When was {{item.ex.nobody|the child}} born?", "names unknown item 'ex.nobody'"),
    (0, 1, "When was {{field.birthday|the child}} born?", "names unknown field 'birthday'"),
    (0, 1, "When was {{item.ex.child_name}} born?", "is not a pipe"),
    (0, 1, "When was {{item.ex.child_name|}} born?", "has no fallback"),
    (0, 1, "When was {{item.ex.child_name|  }} born?", "has no fallback"),
    (0, 1, "When was {{item.ex.child_name|the child born?", "never closed"),
    (0, 1, "When was {{child}} born?", "is not a pipe"),
])
def test_the_validator_refuses_pipes(section, item, text, message):
    found = problems_of(_label(example(), section, item, text))
    assert any(message in p for p in found), found


def test_the_validator_checks_pipes_in_hints_too():
    found = problems_of(_label(example(), 0, 2, "About {{item.ex.worry_out|it}}.", "help"))
    assert any("$.items[ex.child_school].help" in p and "comes later" in p for p in found)


def _put(data: dict, where: str, text: str) -> dict:
    """``data`` with the text at ``where`` (a dotted path of keys and list indexes)."""
    *parents, last = where.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = text
    return data


@pytest.mark.parametrize("where", [
    "title", "sections.0.title", "sections.1.calculated.1.label", "fields.1.label",
    "option_sets.often.0.label",
])
def test_a_pipe_where_pipes_are_not_filled_is_refused_not_shown_as_typed(where):
    found = problems_of(_put(example(), where, "About {{item.ex.child_name|the child}}"))
    assert any("pipes are filled only in an item's label and hint" in p for p in found), found


def test_pipes_in_item_labels_and_hints_are_not_refused_as_misplaced(inst):
    assert any("{{" in (item.label_source or "") for item in inst.items.values())


# -- nothing a person answered reaches what leaves the application --------------------------

@pytest.fixture
def final_assessment(tmp_path):
    from formsengine.store import Store

    engine = make_engine(DefinitionsPlugin(example()))
    store = Store.open(tmp_path / "piped.db", engine, create=True)
    ids = []
    for n in range(6):
        pid = store.ensure_person(f"P-{n}", "victim_survivor", display_name="Person",
                                  birth_year=1990)
        inst, sub = engine.check({
            "instrument": "example-calculated",
            "answers": {"ex.child_name": PLANTED, "ex.child_born": "2020-01-01",
                        "ex.child_school": "yes", "ex.worry_home": "often",
                        "ex.worry_out": "never", "ex.worry_child": "sometimes"},
            "fields": {"assessment_date": "2025-06-30", "date_of_birth": "1990-01-0" + str(n + 1)}})
        ids.append(store.create_assessment(inst, sub, person_id=pid, occasion="intake",
                                           assessor="Assessor", status="final"))
    yield store, ids
    store.close()


def test_research_files_and_codebook_keep_the_definitions_wording(final_assessment, tmp_path):
    from formsengine.exports.keys import create_key_file
    from formsengine.exports.research import ResearchOptions, export_research

    store, _ids = final_assessment
    key = tmp_path / "project.key"
    create_key_file(key, "p1")
    out = tmp_path / "export"
    export_research(store, ResearchOptions(project="p1", out=out, key_file=key,
                                           purpose="checking the wording",
                                           formats=["csv"], codebook_pdf=False))
    codebook = (out / "codebook.html").read_text(encoding="utf-8")
    assert "When was the youngest child born?" in codebook
    assert "Age of the youngest child" in codebook  # the age score is described
    for path in out.rglob("*"):
        if path.is_file():
            assert PLANTED not in path.read_text(encoding="utf-8", errors="replace"), path


def test_fhir_and_the_pdf_report_use_the_fallback_wording(final_assessment):
    from formsengine.interop.fhir import questionnaire, questionnaire_response
    from formsengine.reports.context import assessment_context

    store, ids = final_assessment
    inst = store.engine.instruments.get("example-calculated")
    form = json.dumps(questionnaire(inst))
    assert "When was the youngest child born?" in form and "{{" not in form
    score = next(i for g in questionnaire(inst)["item"] for i in g.get("item", [])
                 if i["linkId"] == "score.child_age")
    assert score["type"] == "integer"
    response = questionnaire_response(store, ids[0])
    texts = json.dumps([i.get("text") for i in _all_items(response["item"])])
    assert "When was the youngest child born?" in texts and PLANTED not in texts
    context = assessment_context(store, ids[0])
    labels = [i["label"] for s in context["sections"] for i in s["items"]]
    assert "Does the youngest child go to school or nursery?" in labels
    assert not any(PLANTED in label for label in labels)


def _all_items(items: list[dict]) -> list[dict]:
    out = []
    for i in items:
        out.append(i)
        out.extend(_all_items(i.get("item", [])))
    return out



def _pack(label: str) -> dict:
    return {"id": "example-words", "version": "1.0", "instrument": "example-calculated",
            "language": "en", "licence": "test", "holder": "test",
            "items": {"ex.child_born": {"label": label}}}


def test_a_wording_pack_pipes_like_the_definition_and_is_checked_the_same_way(inst):
    from formsengine.instruments import InstrumentRegistry
    from formsengine.wording import WordingRegistry

    registry = InstrumentRegistry()
    registry.add(inst)
    words = WordingRegistry()
    pack = words.add(_pack("Date of birth of {{item.ex.child_name|the child}}"),
                     plugin="test", instruments=registry)
    assert item_text(inst, "ex.child_born", pack)["label"] == "Date of birth of the child"
    assert item_text(inst, "ex.child_born", pack, {"ex.child_name": "Robin"}, {})["label"] == (
        "Date of birth of Robin")
    for label, message in (("Born: {{item.ex.child_name}}", "is not a pipe"),
                           ("Born: {{item.ex.worry_out|x}}", "comes later"),
                           ("Born: {{item.ex.child_name|}}", "has no fallback")):
        with pytest.raises(DefinitionError) as caught:
            WordingRegistry().add(_pack(label), plugin="test", instruments=registry)
        assert any("$.items.ex.child_born.label" in p and message in p
                   for p in caught.value.problems), caught.value.problems
