"""Declarative DASH scoring vs a hand-written Python function computing the same result.

Both score the same synthetic submissions of dash-safelives in the same run; the script
checks that they agree on every score, band, level, flag and criterion, then prints the
ratio of ``engine.score``, the call the product makes (hook dispatch, parameters, the
declarative scoring and the configuration record), to the hand-written function's CPU time
(target: <= 3x). The declarative scoring alone is printed beside it. The ratio is judged
only while the machine's load average is below its number of cores.

    python benchmarks/bench_scoring.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

import formsengine_dash
from judging import load, verdict

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.scoring import declarative_score
from formsengine.synthetic import synthetic_answers

ITEMS = [
    "dash.injury", "dash.very_frightened", "dash.afraid_of", "dash.isolated",
    "dash.depressed_suicidal", "dash.separation", "dash.child_contact_conflict",
    "dash.stalking_harassment", "dash.pregnant_recent_baby", "dash.more_often",
    "dash.getting_worse", "dash.control_jealousy", "dash.weapons_objects",
    "dash.threat_to_kill", "dash.strangle_choke", "dash.sexual_abuse",
    "dash.other_threat_person", "dash.hurt_others", "dash.animal_cruelty", "dash.financial",
    "dash.abuser_drugs_alcohol_mh", "dash.abuser_suicide", "dash.breach_bail_orders",
    "dash.criminal_history",
]
NOT_KNOWN = {"dont_know", "declined", "not_asked"}
INCOMPLETE = {"declined", "not_asked"}
ORDER = ["none", "standard", "medium", "high"]


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            pass
    raise AssertionError


def hand_written(sub, params) -> dict:
    """dash-safelives scored directly in Python, for comparison only."""
    a = sub.answers
    f = sub.fields
    values = [a.get(i) for i in ITEMS]
    yes = sum(1 for v in values if v == "yes")
    answered = sum(1 for v in values if v is not None)
    not_known = sum(1 for v in values if v in NOT_KNOWN)
    unanswered = sum(1 for v in values if v is None)
    band = None
    for c in params["risk_cutoffs"]:
        if yes >= c["min"]:
            band = c["band"]
    judged = sub.judgement["level"] if sub.judgement else None
    final = band
    if judged and (band is None or ORDER.index(judged) > ORDER.index(band)):
        final = judged

    def y(item):
        return a.get(item) == "yes"

    flags = {
        "strangulation": y("dash.strangle_choke"),
        "threat_to_kill": y("dash.threat_to_kill"),
        "stalking": y("dash.stalking_harassment"),
        "fear_of_being_killed": "being_killed" in (a.get("dash.afraid_of.what") or []),
        "sexual_abuse": y("dash.sexual_abuse"),
        "cluster_separation_control_violence": y("dash.separation") and y(
            "dash.control_jealousy") and any(y(i) for i in (
                "dash.injury", "dash.weapons_objects", "dash.strangle_choke",
                "dash.sexual_abuse")),
    }
    incidents = f.get("police_incidents_12m")
    last, date = f.get("last_marac_referral"), f.get("assessment_date")
    criteria = {
        "visible_high_risk": yes >= params["marac_visible_high_risk"],
        "professional_judgement": judged == "high",
        "potential_escalation": incidents is not None
        and incidents >= params["marac_escalation_incidents"],
        "repeat_marac": bool(last and date and last <= date <= add_months(
            last, params["repeat_marac_months"])),
    }
    return {
        "complete": unanswered == 0 and not any(v in INCOMPLETE for v in values),
        "scores": {"yes_count": yes, "answered": answered, "not_known_count": not_known,
                   "unanswered_count": unanswered},
        "bands": {"risk_band": band},
        "level": {"computed": band, "judged": judged, "final": final},
        "flags": flags,
        "criteria": criteria,
        "marac": any(criteria.values()),
    }


def comparable(result: dict) -> dict:
    return {
        "complete": result["complete"],
        "scores": {k: result["scores"][k] for k in
                   ("yes_count", "answered", "not_known_count", "unanswered_count")},
        "bands": result["bands"],
        "level": {k: result["level"][k] for k in ("computed", "judged", "final")},
        "flags": result["flags"],
        "criteria": result["criteria"],
        "marac": result["criteria_groups"]["marac"]["met"],
    }


def interleaved_best(fns: dict, repeats: int) -> dict:
    """Best CPU time of each function, running them in turn so that load on a shared
    machine falls on all of them alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer submissions and repeats")
    args = parser.parse_args()
    n, repeats = (2000, 5) if args.quick else (20000, 7)
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    inst = engine.instruments.get("dash-safelives")
    params = engine.parameters_for(inst)
    rng = random.Random(7)
    subs = []
    for k in range(n):
        data = synthetic_answers(inst, rng, rng.random(), dt.date(2026, 1, 1))
        data["fields"]["last_marac_referral"] = "2025-06-01"
        if k % 10 == 0:
            data["judgement"] = {"level": "high", "reason": "benchmark", "by": "bench"}
        subs.append(engine.check(data)[1])
    for sub in subs:  # same answers, same result
        assert comparable(declarative_score(inst, sub, params)) == hand_written(sub, params)
    def each(fn):
        # Results are used and dropped one by one, as when scoring before storing.
        def run():
            for s in subs:
                fn(s)
        return run

    load_before = load()
    best = interleaved_best({
        "hand": each(lambda s: hand_written(s, params)),
        "declarative": each(lambda s: declarative_score(inst, s, params)),
        "full": each(lambda s: engine.score(inst, s)),
    }, repeats)
    t_hand, t_decl, t_full = best["hand"], best["declarative"], best["full"]
    print(f"submissions: {n}, best CPU time of {repeats}")
    print(f"hand-written:        {t_hand * 1e6 / n:8.1f} us per assessment")
    print(f"declarative engine:  {t_decl * 1e6 / n:8.1f} us per assessment")
    print(f"engine.score (full): {t_full * 1e6 / n:8.1f} us per assessment")
    print(f"ratio declarative scoring alone / hand-written: {t_decl / t_hand:.2f}x")
    print(f"HEADLINE engine.score / hand-written: {t_full / t_hand:.2f}x (target <= 3x): "
          + verdict(t_full / t_hand <= 3, load_before))


if __name__ == "__main__":
    main()
