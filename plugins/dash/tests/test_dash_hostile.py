"""Malformed and hostile answer files: the command refuses each with a clear message on
standard error and exit code 2, never a traceback and never a partial score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ANSWERS = Path(__file__).parent / "answers"
GOOD = json.loads((ANSWERS / "safelives-none.json").read_text(encoding="utf-8"))


def with_changes(**changes):
    data = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if key == "answers_update":
            data["answers"].update(value)
        else:
            data[key] = value
    return data


CASES = {
    "broken JSON": (b'{"instrument": "dash-safelives", "answers": {', "not valid JSON"),
    "not UTF-8": (b'{"instrument": "dash-safelives", "answers": {"dash.injury": "\xff"}}',
                  "not UTF-8 text"),
    "empty file": (b"", "not valid JSON"),
    "a list, not an object": (b"[1, 2, 3]", "is not of type 'object'"),
    "answers as a list": (with_changes(answers=["yes", "no"]), "$.answers"),
    "answer true instead of yes": (with_changes(answers_update={"dash.injury": True}),
                                   "$.answers.dash.injury"),
    "answer that is not an option": (with_changes(answers_update={"dash.injury": "maybe"}),
                                     ("item dash.injury: answer 'maybe' is not one of yes, no, "
                                      "dont_know, declined, not_asked")),
    "number of incidents as words": (with_changes(fields={"police_incidents_12m": "several"}),
                                     "field police_incidents_12m: must be a whole number"),
    "fractional number of incidents": (with_changes(fields={"police_incidents_12m": 2.5}),
                                       "field police_incidents_12m: must be a whole number"),
    "impossible date": (with_changes(fields={"assessment_date": "2026-13-01"}),
                        "field assessment_date: "),
    "unknown field": (with_changes(fields={"postcode": "AB1 2CD"}), "unknown field 'postcode'"),
    "unknown item": (with_changes(answers_update={"dash.weather": "yes"}),
                     "unknown item 'dash.weather'"),
    "hidden detail answered without its parent": (
        with_changes(answers_update={"dash.afraid_of.what": ["being_killed"]}),
        "item dash.afraid_of.what is answered but is only asked when its condition holds"),
    "detail as text instead of a list": (
        with_changes(answers_update={"dash.afraid_of": "yes",
                                     "dash.afraid_of.what": "being_killed"}),
        "item dash.afraid_of.what: must be a list of options"),
    "judgement as a string": (with_changes(judgement="high"), "$.judgement"),
    "judgement level that does not exist": (
        with_changes(judgement={"level": "critical", "reason": "r", "by": "duty IDVA"}),
        "judgement level 'critical' is not one of none, standard, medium, high"),
    "judgement without the assessor": (
        with_changes(judgement={"level": "high", "reason": "r", "by": " "}),
        "professional judgement needs the assessor's name"),
    "comment for an unknown item": (with_changes(comments={"dash.nothing": "x"}),
                                    "comment for unknown item 'dash.nothing'"),
    "comment on a detail item": (with_changes(comments={"dash.injury.detail": "x"}),
                                 "item dash.injury.detail takes no comment"),
    "file for another instrument": (with_changes(instrument="sdash"),
                                    "is for instrument 'sdash', not 'dash-safelives'"),
    "instrument version that does not exist": (with_changes(version="9.9"),
                                               "has no version '9.9'"),
    "deeply nested JSON": (b'{"instrument": "dash-safelives", "answers": {}, "x": '
                           + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    "number with thousands of digits": (
        b'{"instrument": "dash-safelives", "answers": {}, "fields": {"police_incidents_12m": '
        + b"9" * 5000 + b"}}", "not usable JSON"),
}


@pytest.mark.parametrize("content,message", CASES.values(), ids=list(CASES))
def test_refused_with_a_clear_message(cli, tmp_path: Path, content, message):
    path = tmp_path / "answers.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    run = cli("score", "dash-safelives", path)
    assert run.code == 2, run.stdout + run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith("error: ")
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_huge_file_is_refused_before_it_is_read(cli, tmp_path: Path):
    path = tmp_path / "huge.json"
    padding = "x" * 4000
    data = with_changes(comments={f"dash.item{i}": padding for i in range(300)})
    path.write_text(json.dumps(data), encoding="utf-8")
    assert path.stat().st_size > 1_000_000
    run = cli("score", "dash-safelives", path)
    assert run.code == 2
    assert "the limit is 1000000 bytes" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_instrument(cli):
    run = cli("score", "dash-nonexistent", ANSWERS / "safelives-none.json")
    assert run.code == 2
    assert "dash-safelives" in run.stderr  # names the instrument the file is for


def test_every_problem_is_listed_at_once(cli, tmp_path: Path):
    path = tmp_path / "answers.json"
    data = with_changes(answers_update={"dash.injury": "maybe", "dash.isolated": "often"},
                        fields={"police_incidents_12m": -3})
    path.write_text(json.dumps(data), encoding="utf-8")
    run = cli("score", "dash-safelives", path)
    assert run.code == 2
    assert "dash.injury" in run.stderr and "dash.isolated" in run.stderr
    assert "must be at least 0" in run.stderr


def test_a_missing_file(cli, tmp_path: Path):
    run = cli("score", "dash-safelives", tmp_path / "nothing.json")
    assert run.code == 2
    assert "does not exist" in run.stderr
