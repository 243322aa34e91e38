"""The answers schema is checked by a compiled validator for speed, and by jsonschema when
data is invalid (to list every problem). The two must agree on what is valid."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from formsengine.instruments import schema_problems, schema_validator

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
