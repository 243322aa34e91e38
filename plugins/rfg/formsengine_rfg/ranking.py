"""RFG ranking: recency, frequency, gravity and victims per perpetrator, and the ranked list.

For each perpetrator, as of a date D, with a look-back window of W months (incidents dated
on or after D minus W months and on or before D; incidents after D are ignored):

- R (recency): points from the recency bands for the months since the most recent incident
  on or before D (``dates.months_since``: 1 means within the last month);
- F (frequency): incidents in the window, crimes and non-crimes counted separately;
- G (gravity): the sum (or the largest) of the incidents' weights in the window: a crime's
  weight from the gravity matrix or its harm days, a non-crime's the configured value;
- V (victims): distinct non-empty ``victim_ref`` values in the window; serial when V >= 2.

Each component is normalised to 0..1 (R by the largest recency points; F, G and V by their
scale, or by the largest value in the cohort), F optionally capped first; the total is the
weighted sum of the normalised components, rounded to 4 decimal places.

Ranking: by total, highest first. Ties on the total are broken, in order, by higher G, higher
R, higher crime F, higher non-crime F, higher V, and finally by ``perpetrator_ref`` in
character-code order, so the same input and configuration always give the same ranking.
Perpetrators whose totals are equal are marked ``tied``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .config import RfgConfig
from .dates import add_months, months_since
from .incidents import IncidentSet

SERIAL_MIN_VICTIMS = 2
OUTPUT_COLUMNS = ("rank", "perpetrator_ref", "total", "recency", "months_since_last",
                  "last_incident", "frequency_crime", "frequency_noncrime", "gravity",
                  "victims", "serial", "tied", "config_hash")


@dataclass
class Result:
    ref: str
    last_incident: dt.date
    months_since_last: int
    recency: float
    frequency_crime: int
    frequency_noncrime: int
    gravity: float
    victims: int
    total: float = 0.0
    rank: int = 0
    tied: bool = False

    @property
    def serial(self) -> bool:
        return self.victims >= SERIAL_MIN_VICTIMS

    def row(self, config_hash: str) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "perpetrator_ref": self.ref,
            "total": self.total,
            "recency": self.recency,
            "months_since_last": self.months_since_last,
            "last_incident": self.last_incident.isoformat(),
            "frequency_crime": self.frequency_crime,
            "frequency_noncrime": self.frequency_noncrime,
            "gravity": self.gravity,
            "victims": self.victims,
            "serial": self.serial,
            "tied": self.tied,
            "config_hash": config_hash,
        }


@dataclass
class Ranking:
    as_of: dt.date
    window_start: dt.date
    config_hash: str
    results: list[Result]
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        return [r.row(self.config_hash) for r in self.results]


def recency_points(months: int, bands: list[tuple[int, float]]) -> float:
    for max_months, points in bands:
        if months <= max_months:
            return points
    return 0


def _round(value: float) -> float:
    value = round(value, 4)
    return int(value) if float(value).is_integer() else value


def components(incidents: IncidentSet, config: RfgConfig, as_of: dt.date,
               counts: dict[str, int]) -> list[Result]:
    """R, F, G and V for every perpetrator with an incident on or before ``as_of``."""
    start = add_months(as_of, -config.window_months)
    bands = config.bands
    use_max = config.gravity["aggregate"] == "max"
    after = before_window = 0
    results = []
    months_cache: dict[dt.date, int] = {}
    for ref, group in incidents.by_perpetrator.items():
        last = None
        crimes = non_crimes = 0
        gravity = 0.0
        victims = set()
        for day, crime, value, victim, _code in group:
            if day > as_of:
                after += 1
                continue
            if last is None or day > last:
                last = day
            if day < start:
                before_window += 1
                continue
            if crime:
                crimes += 1
            else:
                non_crimes += 1
            if use_max:
                if value > gravity:
                    gravity = value
            else:
                gravity += value
            if victim:
                victims.add(victim)
        if last is None:
            counts["perpetrators_only_after_as_of"] += 1
            continue
        months = months_cache.get(last)
        if months is None:
            months = months_cache[last] = months_since(last, as_of)
        results.append(Result(ref, last, months, recency_points(months, bands), crimes,
                              non_crimes, _round(gravity), len(victims)))
    counts["incidents_after_as_of"] += after
    counts["incidents_before_window"] += before_window
    return results


def rank(incidents: IncidentSet, config: RfgConfig, as_of: dt.date,
         harm_table_sha256: str | None = None) -> Ranking:
    counts = {"perpetrators_only_after_as_of": 0, "incidents_after_as_of": 0,
              "incidents_before_window": 0}
    results = components(incidents, config, as_of, counts)
    weights = config.weights
    cap = config.cap
    max_points = config.max_points

    def capped(value: int) -> int:
        return value if cap is None else min(value, cap)

    values: dict[str, list[float]] = {
        "frequency_crime": [capped(r.frequency_crime) for r in results],
        "frequency_noncrime": [capped(r.frequency_noncrime) for r in results],
        "gravity": [r.gravity for r in results],
        "victims": [r.victims for r in results],
    }
    if config.method == "scale":
        scales = dict(config.scale)
    else:
        scales = {name: max(column, default=0) for name, column in values.items()}
    warnings = []
    if config.method == "scale":
        for name, column in values.items():
            positive = sum(1 for v in column if v > 0)
            full = sum(1 for v in column if v >= scales[name])
            if positive >= 10 and full * 2 > positive:
                warnings.append(
                    f"{full} of the {positive} perpetrators with any {name} reach its scale "
                    f"({scales[name]:g}): the scale may be too small for this configuration "
                    f"(normalisation.scale.{name})")
    parts = [(weights[name], scales[name], column) for name, column in values.items()
             if scales[name] > 0]
    for i, r in enumerate(results):
        total = weights["recency"] * r.recency / max_points
        for weight, scale, column in parts:
            value = column[i]
            total += weight * (value if value < scale else scale) / scale
        r.total = _round(total)
    results.sort(key=lambda r: (-r.total, -r.gravity, -r.recency, -r.frequency_crime,
                                -r.frequency_noncrime, -r.victims, r.ref))
    for i, r in enumerate(results):
        r.rank = i + 1
        r.tied = ((i > 0 and results[i - 1].total == r.total)
                  or (i + 1 < len(results) and results[i + 1].total == r.total))
    counts["perpetrators_ranked"] = len(results)
    counts["serial"] = sum(1 for r in results if r.serial)
    counts["with_incident_in_window"] = sum(
        1 for r in results if r.frequency_crime or r.frequency_noncrime)
    return Ranking(as_of, add_months(as_of, -config.window_months),
                   config.hash(harm_table_sha256), results, counts, warnings)
