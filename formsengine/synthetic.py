"""Synthetic assessments for demos, benchmarks and tests: no real person is described.

For every instrument the generator answers the items in order, honouring ``show_when``,
with answers that drift towards lower options at later occasions (so that a demo shows
change over time), a small share of "not known" answers, and no free text.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .conditions import evaluate_form_condition

if TYPE_CHECKING:
    from .engine import Engine
    from .instruments import Instrument

ROLE_PREFIX = {"victim_survivor": "VS", "service_user": "SU"}


def synthetic_answers(inst: Instrument, rng: random.Random, severity: float,
                      date: dt.date) -> dict[str, Any]:
    """One plausible answers object; ``severity`` in 0..1 biases towards higher options."""
    answers: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for f in inst.fields.values():
        if f.id == inst.assessment_date_field or (f.type == "date" and f.required):
            fields[f.id] = date.isoformat()
        elif f.type == "text" and f.required:
            fields[f.id] = "synthetic record"
        elif f.type == "integer" and rng.random() < 0.7:
            top = int(min(f.maximum if f.maximum is not None else 10, 10))
            low = int(f.minimum or 0)
            fields[f.id] = min(top, low + int(rng.random() * severity * 8))
        elif f.type == "choice" and f.options and f.required:
            fields[f.id] = rng.choice(f.options).value
    for item in inst.items.values():
        if item.show_when and not evaluate_form_condition(item.show_when, answers, fields):
            continue
        if item.type == "choice":
            known = [o for o in item.options if o.missing is None]
            missing = [o for o in item.options if o.missing == "dont_know"]
            if missing and rng.random() < 0.04:
                answers[item.id] = missing[0].value
                continue
            values = [o.value for o in known]
            if "yes" in values and "no" in values:
                answers[item.id] = "yes" if rng.random() < severity else "no"
            elif known:
                index = min(len(known) - 1, int(rng.random() * severity * len(known) * 1.3))
                answers[item.id] = known[index].value
        elif item.type == "multi_choice" and item.required is False and rng.random() < 0.5:
            choices = [o.value for o in item.options if o.missing is None]
            if choices:
                answers[item.id] = [rng.choice(choices)]
        elif item.type in ("integer", "number") and item.required:
            answers[item.id] = int(item.minimum or 0)
    return {"instrument": inst.id, "version": inst.version, "answers": answers,
            "fields": fields}


def generate(engine: Engine, *, people: int, seed: int = 1,
             instruments: list[str] | None = None,
             start: dt.date = dt.date(2025, 1, 6)) -> Iterator[dict[str, Any]]:
    """Import records (answers plus person, role, occasion) for ``people`` synthetic people
    per subject role, at every occasion of each instrument (ad-hoc occasions left out)."""
    rng = random.Random(seed)
    chosen = [i for i in engine.instruments
              if (instruments is None or i.id in instruments) and i.scoring
              and i.scoring.get("scores")]
    latest: dict[str, Instrument] = {}
    for inst in chosen:
        latest[inst.id] = inst
    for n in range(1, people + 1):
        base = rng.uniform(0.15, 0.8)
        improvement = rng.uniform(-0.1, 0.6)
        for inst in latest.values():
            person = f"{ROLE_PREFIX[inst.subject_role]}-{n:05d}"
            occasions = [o for o in inst.occasions if o != "after_incident"]
            for k, occasion in enumerate(occasions):
                share = k / max(1, len(occasions) - 1)
                severity = max(0.0, min(1.0, base * (1 - improvement * share)))
                date = start + dt.timedelta(days=91 * k + n % 28)
                record = synthetic_answers(inst, rng, severity, date)
                record.update(person=person, role=inst.subject_role, occasion=occasion,
                              assessor="synthetic", case=f"C-{n:05d}")
                yield record
