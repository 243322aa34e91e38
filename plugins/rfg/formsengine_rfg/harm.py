"""Crime harm in blocks before and after each perpetrator's reference date.

With block length B months and N blocks, for a reference date D:

- ``before_k`` (k = N..1) runs from D minus k*B months to the day before D minus (k-1)*B
  months, so ``before_1`` ends the day before D;
- ``reference_date`` is D itself: an incident on the reference date (often the one that led
  to selection) is reported on its own and counted in neither side;
- ``after_k`` (k = 1..N) runs from the day after D plus (k-1)*B months to D plus k*B months.

Per perpetrator and block: harm days (sum of the harm table's days over crimes), crimes and
non-crime incidents (0 harm days, counted separately). Per block over the cohort (everyone in
the reference-dates file): the DA reoffending rate, the share of perpetrators with any
incident in the block (crime or not), the share with any crime, and harm totals and means.

A block is *observed* for a perpetrator when it lies inside the period the incident data
covers (``data_start``..``data_end``, when given). Cohort figures count observed blocks only,
so that a block running past the end of the extract does not look like desistance.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .dates import add_months
from .incidents import IncidentSet, ReferenceDates

ONE_DAY = dt.timedelta(days=1)
BLOCK_COLUMNS = ("perpetrator_ref", "reference_date", "block", "start", "end", "observed",
                 "harm_days", "crimes", "non_crimes")
SUMMARY_COLUMNS = ("block", "perpetrators", "observed", "with_any_incident",
                   "reoffending_rate", "with_any_crime", "crime_rate", "harm_days_total",
                   "harm_days_mean", "crimes", "non_crimes")


def block_labels(blocks: int) -> list[str]:
    return ([f"before_{k}" for k in range(blocks, 0, -1)] + ["reference_date"]
            + [f"after_{k}" for k in range(1, blocks + 1)])


def block_bounds(reference: dt.date, months: int, blocks: int) -> list[tuple[dt.date, dt.date]]:
    """(first day, last day) of each block, in the order of ``block_labels``."""
    out = []
    for k in range(blocks, 0, -1):
        out.append((add_months(reference, -k * months),
                    add_months(reference, -(k - 1) * months) - ONE_DAY))
    out.append((reference, reference))
    for k in range(1, blocks + 1):
        out.append((add_months(reference, (k - 1) * months) + ONE_DAY,
                    add_months(reference, k * months)))
    return out


@dataclass
class HarmReport:
    block_months: int
    blocks: int
    labels: list[str]
    perpetrators: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def block_rows(self) -> list[list[Any]]:
        rows = []
        for p in self.perpetrators:
            for b in p["blocks"]:
                rows.append([p["perpetrator_ref"], p["reference_date"], b["block"], b["start"],
                             b["end"], b["observed"], b["harm_days"], b["crimes"],
                             b["non_crimes"]])
        return rows


def _number(value: float) -> float:
    value = round(value, 4)
    return int(value) if float(value).is_integer() else value


def harm_blocks(incidents: IncidentSet, references: ReferenceDates, *, block_months: int = 6,
                blocks: int = 2, data_start: dt.date | None = None,
                data_end: dt.date | None = None) -> HarmReport:
    labels = block_labels(blocks)
    people: list[dict[str, Any]] = []
    outside = 0
    past_latest = 0
    for ref, reference in sorted(references.dates.items()):
        bounds = block_bounds(reference, block_months, blocks)
        starts = [b[0] for b in bounds]
        tallies = [[0.0, 0, 0] for _ in bounds]
        for day, crime, value, _victim, _code in incidents.by_perpetrator.get(ref, ()):
            index = bisect.bisect_right(starts, day) - 1
            if index < 0 or day > bounds[index][1]:
                outside += 1
                continue
            tally = tallies[index]
            if crime:
                tally[0] += value
                tally[1] += 1
            else:
                tally[2] += 1
        rows: list[dict[str, Any]] = []
        for label, (start, end), (harm, crimes, non_crimes) in zip(labels, bounds, tallies):
            observed = ((data_start is None or start >= data_start)
                        and (data_end is None or end <= data_end))
            rows.append({"block": label, "start": start.isoformat(), "end": end.isoformat(),
                         "observed": observed, "harm_days": _number(harm), "crimes": crimes,
                         "non_crimes": non_crimes})
        if data_end is None and incidents.latest and bounds[-1][1] > incidents.latest:
            past_latest += 1
        before = sum(r["harm_days"] for r in rows if r["block"].startswith("before_"))
        after = sum(r["harm_days"] for r in rows if r["block"].startswith("after_"))
        people.append({
            "perpetrator_ref": ref,
            "reference_date": reference.isoformat(),
            "blocks": rows,
            "harm_days_before": _number(before),
            "harm_days_after": _number(after),
            "harm_days_change": _number(after - before),
            "all_blocks_observed": all(r["observed"] for r in rows),
        })
    summary = []
    for i, label in enumerate(labels):
        seen = [p["blocks"][i] for p in people if p["blocks"][i]["observed"]]
        any_incident = sum(1 for b in seen if b["crimes"] or b["non_crimes"])
        any_crime = sum(1 for b in seen if b["crimes"])
        harm = sum(b["harm_days"] for b in seen)
        summary.append({
            "block": label,
            "perpetrators": len(people),
            "observed": len(seen),
            "with_any_incident": any_incident,
            "reoffending_rate": round(any_incident / len(seen), 4) if seen else None,
            "with_any_crime": any_crime,
            "crime_rate": round(any_crime / len(seen), 4) if seen else None,
            "harm_days_total": _number(harm),
            "harm_days_mean": _number(harm / len(seen)) if seen else None,
            "crimes": sum(b["crimes"] for b in seen),
            "non_crimes": sum(b["non_crimes"] for b in seen),
        })
    not_in_cohort = sum(len(g) for ref, g in incidents.by_perpetrator.items()
                        if ref not in references.dates)
    no_incidents = sum(1 for ref in references.dates if ref not in incidents.by_perpetrator)
    warnings = []
    if past_latest:
        warnings.append(
            f"for {past_latest} perpetrator(s) the last block ends after the latest incident in "
            f"the file ({incidents.latest}); if the extract ends before then, give "
            "--data-end so that unobserved time is not counted as time without incidents")
    counts = {"cohort": len(people), "cohort_without_incidents": no_incidents,
              "incidents_outside_blocks": outside,
              "incidents_of_perpetrators_not_in_cohort": not_in_cohort}
    return HarmReport(block_months, blocks, labels, people, summary, counts, warnings)
