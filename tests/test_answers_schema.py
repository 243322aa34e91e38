"""The answers schema is checked by a compiled validator for speed, and by jsonschema when
data is invalid (to list every problem). The two must agree on what is valid."""

from __future__ import annotations

from fastjsonschema import JsonSchemaException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formsengine.errors import SubmissionError
from formsengine.instruments import (
    ANSWER_NAME_LIMIT,
    answers_validators,
    schema_problems,
    schema_validator,
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
keys = st.sampled_from(["instrument", "version", "answers", "fields", "comments", "sources",
                        "judgement", "wording", "person", "role", "occasion", "status",
                        "assessor", "case", "extra"])
answers_like = st.fixed_dictionaries(
    {"instrument": st.one_of(st.just("dash-safelives"), st.text(max_size=20)),
     "answers": st.one_of(st.dictionaries(st.text(max_size=12), st.one_of(
         st.sampled_from(["yes", "no", "dont_know"]), st.integers(), st.lists(
             st.text(max_size=8), max_size=3), json_values), max_size=5), json_values)},
    optional={k: json_values for k in ["fields", "judgement", "role", "status", "occasion"]})


@settings(max_examples=400, deadline=None)
@given(st.one_of(answers_like, st.dictionaries(keys, json_values, max_size=6), json_values))
def test_fast_and_full_validators_agree(data):
    full_ok = schema_validator("answers").is_valid(data)
    assert (schema_problems("answers", data) == []) == full_ok


def _split_valid(data) -> bool:
    """Whether data passes the answers schema's two compiled parts and the name limit."""
    document, answer_value = answers_validators()
    try:
        document(data)
        for name, value in data["answers"].items():
            answer_value(value)
            if len(name) > ANSWER_NAME_LIMIT:
                return False
    except JsonSchemaException:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(st.one_of(answers_like, st.dictionaries(keys, json_values, max_size=6), json_values))
def test_the_split_schema_agrees_with_the_whole(data):
    """check_submission checks the document and each answer apart (an answer that is one of
    its choice item's options passes without a check): together they accept exactly what
    the whole schema accepts."""
    assert _split_valid(data) == schema_validator("answers").is_valid(data)


def test_a_long_answer_name_fails_the_split_schema_as_the_whole():
    data = {"instrument": "toy-checklist", "answers": {"x" * (ANSWER_NAME_LIMIT + 1): "no"}}
    assert not _split_valid(data) and not schema_validator("answers").is_valid(data)
    data["answers"] = {"x" * ANSWER_NAME_LIMIT: "no"}
    assert _split_valid(data) and schema_validator("answers").is_valid(data)


toy_values = st.one_of(st.sampled_from(["yes", "no", "dont_know", "", "x" * 70]),
                       st.none(), st.integers(), st.booleans(),
                       st.lists(st.sampled_from(["yes", "no", "y" * 65]), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["toy.a", "toy.b", "toy.c", "toy.d", "toy.zz",
                                        "toy." + "q" * 130]), toy_values, max_size=5),
       st.sampled_from(["toy-checklist", "no-such-instrument"]))
def test_check_submission_refuses_schema_problems_as_before(engine, answers_data, instrument):
    """Answers that fail the schema are refused with the whole schema's problems and
    nothing else (as when the schema was checked in one go, before anything else); answers
    that pass it are never refused for the schema."""
    data = {"instrument": instrument, "answers": answers_data,
            "fields": {"assessment_date": "2026-01-10"}}
    expected = schema_problems("answers", data)
    try:
        engine.check(data)
    except SubmissionError as exc:
        if expected:
            assert exc.problems == expected
        else:
            assert all(not p.startswith("answers.") and not p.startswith("$")
                       for p in exc.problems)
    else:
        assert expected == []
