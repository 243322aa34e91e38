"""Scoring of stored ``rfg-ranking`` assessments.

The components were computed from the incident history by ``formsengine rfg rank`` under
the RFG configuration named in the assessment's fields. Scoring turns them into scores (the
total first, so that change over time leads with it), adds the combined frequency, raises the
``serial`` flag when two or more victims are recorded, and records the RFG configuration
hash with the scores. It does not recompute the total: the weights live in the RFG
configuration, whose hash is kept with every score.
"""

from __future__ import annotations

from typing import Any

INSTRUMENT_ID = "rfg-ranking"
SERIAL_MIN_VICTIMS = 2
COMPONENT_ITEMS = ("total", "recency", "frequency_crime", "frequency_noncrime", "gravity",
                   "victims")


def score_rfg(instrument: Any, submission: Any) -> dict[str, Any]:
    answers = submission.answers
    fields = submission.fields
    value = {name: answers.get(f"rfg.{name}") for name in COMPONENT_ITEMS}
    unanswered = [f"rfg.{name}" for name in COMPONENT_ITEMS if value[name] is None]
    crimes, non_crimes = value["frequency_crime"], value["frequency_noncrime"]
    scores = dict(value)
    scores["frequency"] = (crimes + non_crimes
                           if crimes is not None and non_crimes is not None else None)
    scores["months_since_last"] = answers.get("rfg.months_since_last")
    scores["config_hash"] = fields.get("config_hash")
    ordered = {name: scores[name] for name in (
        "total", "recency", "frequency_crime", "frequency_noncrime", "frequency", "gravity",
        "victims", "months_since_last", "config_hash")}
    victims = value["victims"]
    warnings = []
    if unanswered:
        warnings.append(f"assessment is incomplete: {', '.join(unanswered)} not given")
    if not fields.get("config_hash"):
        warnings.append("no RFG configuration hash recorded: the ranking cannot be reproduced")
    as_of = fields.get("assessment_date")
    return {
        "complete": not unanswered,
        "unanswered_items": unanswered,
        "incomplete_items": {},
        "scores": ordered,
        "bands": {},
        "level": None,
        "flags": {"serial": None if victims is None else victims >= SERIAL_MIN_VICTIMS},
        "criteria": {},
        "criteria_groups": {},
        "warnings": warnings,
        "configuration": {"name": fields.get("config_name"), "hash": fields.get("config_hash")},
        "rfg": {
            "config_hash": fields.get("config_hash"),
            "config_name": fields.get("config_name"),
            "as_of": as_of.isoformat() if as_of else None,
            "window_months": fields.get("window_months"),
            "rank": fields.get("rank"),
            "cohort_size": fields.get("cohort_size"),
        },
    }
