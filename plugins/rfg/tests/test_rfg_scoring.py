"""The rfg-ranking instrument and its Python scorer."""

import datetime as dt

import formsengine_rfg
import pytest

from formsengine.errors import SubmissionError
from formsengine.vectors import run_vectors

ANSWERS = {"rfg.recency": 6, "rfg.months_since_last": 1, "rfg.frequency_crime": 3,
           "rfg.frequency_noncrime": 1, "rfg.gravity": 12, "rfg.victims": 2, "rfg.total": 54}


def score(engine, answers, fields=None):
    data = {"instrument": "rfg-ranking", "answers": answers,
            "fields": fields or {"assessment_date": "2024-12-31",
                                 "config_hash": "sha256:" + "ab" * 32,
                                 "config_name": "test", "window_months": 36, "rank": 1,
                                 "cohort_size": 5}}
    return engine.score_data(data)


def test_definition_is_registered_for_service_users(engine):
    inst = engine.instruments.get("rfg-ranking")
    assert inst.plugin == "formsengine_rfg"
    assert inst.subject_role == "service_user"
    assert {"selection", "review_6m", "after_engagement"} <= set(inst.occasions)
    assert {i.type for i in inst.items.values()} == {"integer", "number"}
    assert not inst.scoring            # scored in Python, not declaratively


def test_components_become_scores_and_serial_a_flag(engine):
    result = score(engine, ANSWERS)
    assert result["scorer"]["plugin"] == "formsengine_rfg"
    assert list(result["scores"])[0] == "total"          # change over time leads with it
    assert result["scores"] == {
        "total": 54, "recency": 6, "frequency_crime": 3, "frequency_noncrime": 1,
        "frequency": 4, "gravity": 12, "victims": 2, "months_since_last": 1,
        "config_hash": "sha256:" + "ab" * 32}
    assert result["flags"] == {"serial": True}
    assert result["complete"] is True and result["warnings"] == []
    assert result["rfg"] == {"config_hash": "sha256:" + "ab" * 32, "config_name": "test",
                             "as_of": "2024-12-31", "window_months": 36, "rank": 1,
                             "cohort_size": 5}


def test_missing_configuration_hash_is_warned_about(engine):
    result = score(engine, ANSWERS, {"assessment_date": "2024-12-31"})
    assert any("cannot be reproduced" in w for w in result["warnings"])


def test_wrong_answers_are_refused(engine):
    with pytest.raises(SubmissionError, match="must be a whole number"):
        score(engine, {**ANSWERS, "rfg.victims": 1.5})
    with pytest.raises(SubmissionError, match="unknown item"):
        score(engine, {**ANSWERS, "rfg.harm": 3})


def test_other_instruments_are_left_to_other_scorers():
    class Other:
        id = "dash-safelives"

    assert formsengine_rfg.score_assessment(Other(), None, {}) is None


def test_shipped_test_vectors_pass(engine):
    outcomes = run_vectors(engine, "rfg-ranking")
    assert len(outcomes) >= 5
    assert [o.problems for o in outcomes if not o.passed] == []


def test_assessment_date_is_a_date(engine):
    inst, sub = engine.check({"instrument": "rfg-ranking", "answers": ANSWERS,
                              "fields": {"assessment_date": "2024-12-31"}})
    assert sub.fields["assessment_date"] == dt.date(2024, 12, 31)
