"""Storing a ranking as ``rfg-ranking`` assessments: one per perpetrator, at one occasion.

Each perpetrator (by ``perpetrator_ref``) becomes, or already is, a person with the role
``service_user``. The assessment date is the ranking's as-of date, so ``formsengine compare``
orders occasions by it. Everything is checked first (answers, roles, an assessment already
stored at the occasion) and then written in one transaction: all or nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from formsengine.errors import FormsEngineError, StorageError
from formsengine.store.plugin_tables import people_by_refs, refs_with_final_assessment

from .ranking import Ranking, Result
from .scoring import INSTRUMENT_ID

if TYPE_CHECKING:
    from formsengine.store import Store

REPEATABLE = {"after_incident"}


def answers_for(result: Result, ranking: Ranking, *, config_name: str, window_months: int,
                cohort_size: int) -> dict[str, Any]:
    return {
        "instrument": INSTRUMENT_ID,
        "answers": {
            "rfg.recency": result.recency,
            "rfg.months_since_last": result.months_since_last,
            "rfg.frequency_crime": result.frequency_crime,
            "rfg.frequency_noncrime": result.frequency_noncrime,
            "rfg.gravity": result.gravity,
            "rfg.victims": result.victims,
            "rfg.total": result.total,
        },
        "fields": {
            "assessment_date": ranking.as_of.isoformat(),
            "config_hash": ranking.config_hash,
            "config_name": config_name[:300],
            "window_months": window_months,
            "rank": result.rank,
            "cohort_size": cohort_size,
        },
    }


def store_ranking(store: Store, ranking: Ranking, results: list[Result], *, occasion: str,
                  config_name: str, window_months: int, actor: str,
                  existing_only: bool = False) -> dict[str, Any]:
    """Store ``results`` (all or part of ``ranking``); return what was stored."""
    engine = store.engine
    inst = engine.instruments.get(INSTRUMENT_ID)
    if occasion not in inst.occasions and occasion not in REPEATABLE:
        raise StorageError(f"instrument {inst.id} is not used at occasion {occasion!r} "
                           f"(occasions: {', '.join(inst.occasions)}, after_incident)")
    people = people_by_refs(store, [r.ref for r in results])
    given = len(results)
    if existing_only:
        results = [r for r in results if r.ref in people]
    problems: list[str] = []
    for ref, row in people.items():
        if row["role"] != "service_user":
            problems.append(f"person {ref!r} is recorded as {row['role']}, not service_user")
    if occasion not in REPEATABLE and people:
        already = refs_with_final_assessment(store, inst.id, occasion,
                                             [row["id"] for row in people.values()])
        problems.extend(f"person {ref!r} already has a final {inst.id} assessment at occasion "
                        f"{occasion}" for ref in sorted(already))
    checked = []
    cohort = len(ranking.results)
    for result in results:
        data = answers_for(result, ranking, config_name=config_name,
                           window_months=window_months, cohort_size=cohort)
        try:
            checked.append((result.ref, engine.check(data, where=f"perpetrator {result.ref!r}")))
        except FormsEngineError as exc:
            problems.append(str(exc))
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise StorageError(f"nothing was stored: {len(problems)} problem(s)\n{shown}{more}")
    with store.write():
        for ref, (inst_checked, sub) in checked:
            person_id = store.ensure_person(ref, "service_user", actor=actor)
            store.create_assessment(inst_checked, sub, person_id=person_id, occasion=occasion,
                                    assessor=actor, status="final", actor=actor)
        store.audit("rfg_store", actor=actor, object_type="rfg_ranking",
                    details={"occasion": occasion, "as_of": ranking.as_of.isoformat(),
                             "config_hash": ranking.config_hash, "stored": len(checked)})
    return {"stored": len(checked), "occasion": occasion,
            "skipped_not_in_database": given - len(checked)}
