"""Run an instrument's test vectors: answers in, expected scores, bands, levels, flags and
criteria out. The same runner serves the shipped plugins and organisations' own plugins
(``formsengine instruments test``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, SubmissionError

if TYPE_CHECKING:
    from .engine import Engine
    from .instruments import Instrument


@dataclass
class VectorOutcome:
    instrument: str
    version: str
    name: str
    passed: bool
    problems: list[str]


def subset_problems(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every place where ``actual`` does not hold what ``expected`` says."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or 'result'}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                problems.append(f"{where}: missing from the result")
            else:
                problems.extend(subset_problems(value, actual[key], where))
        return problems
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{path}: expected {expected!r}, got {actual!r}"]
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def run_vector(engine: Engine, inst: Instrument, vector: dict[str, Any]) -> VectorOutcome:
    data = {
        "instrument": inst.id,
        "version": inst.version,
        "answers": vector.get("answers", {}),
    }
    for key in ("fields", "judgement"):
        if key in vector:
            data[key] = vector[key]
    problems: list[str] = []
    try:
        _, sub = engine.check(data, where=f"vector {vector['name']!r}")
        result = engine.score(inst, sub, vector.get("parameters") or None)
    except (SubmissionError, ConfigError) as exc:
        if "expect_error" in vector and vector["expect_error"] in str(exc):
            return VectorOutcome(inst.id, inst.version, vector["name"], True, [])
        problems.append(f"refused: {exc}")
        return VectorOutcome(inst.id, inst.version, vector["name"], False, problems)
    if "expect_error" in vector:
        problems.append(f"expected refusal mentioning {vector['expect_error']!r}, was scored")
    problems.extend(subset_problems(vector.get("expect", {}), result))
    return VectorOutcome(inst.id, inst.version, vector["name"], not problems, problems)


def run_vectors(engine: Engine, instrument_id: str | None = None) -> list[VectorOutcome]:
    outcomes = []
    for inst in engine.instruments:
        if instrument_id and inst.id != instrument_id:
            continue
        for vector in inst.test_vectors:
            outcomes.append(run_vector(engine, inst, vector))
    return outcomes
