"""Benchmark: RFG ranking of 100,000 synthetic incidents for 20,000 perpetrators.

The plugin (read and check the CSV, then rank) is timed against a plain baseline that
computes the same R, F (crimes and non-crimes), G and V from the same file in the same run:
a pandas groupby when pandas is installed, otherwise a short pure-Python loop without row
checks. The two must agree for every perpetrator. Prints the time ratio (target: the plugin
at most 3x slower) and the peak memory of each (tracemalloc, measured in separate runs so
that tracing does not slow the timed runs).

Run: python benchmarks/bench_rfg.py [--incidents N] [--perpetrators N] [--repeat N]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from formsengine_rfg.config import load_config
from formsengine_rfg.dates import add_months
from formsengine_rfg.incidents import read_incidents
from formsengine_rfg.ranking import rank

AS_OF = dt.date(2024, 12, 31)
TARGET_RATIO = 3.0
TRUTH = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def make_incidents(path: Path, incidents: int, perpetrators: int, codes: list[str],
                   seed: int = 7) -> None:
    """Synthetic incidents: no real person. Dates from 2019 to mid-2025 (some after the
    as-of date), a quarter non-crimes, one to three victims per perpetrator, a few rows
    without a victim, every perpetrator with at least one incident."""
    rng = random.Random(seed)
    first = dt.date(2019, 1, 1).toordinal()
    span = dt.date(2025, 6, 30).toordinal() - first
    refs = [f"P{n:06d}" for n in range(perpetrators)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["perpetrator_ref", "date", "offence_code", "is_crime", "victim_ref"])
        for i in range(incidents):
            ref = refs[i] if i < perpetrators else rng.choice(refs)
            day = dt.date.fromordinal(first + rng.randrange(span)).isoformat()
            crime = rng.random() < 0.75
            code = rng.choice(codes) if crime else ""
            victim = "" if rng.random() < 0.03 else f"V{ref[1:]}-{rng.randrange(3)}"
            writer.writerow([ref, day, code, rng.choice(["true", "yes", "1"]) if crime
                             else rng.choice(["false", "no", "0"]), victim])


def run_plugin(path: Path):
    config = load_config(None)
    data = read_incidents(path, config.matrix(), table="gravity matrix",
                          non_crime_value=config.gravity["non_crime"])
    assert not data.bad, data.bad[:3]
    ranking = rank(data, config, AS_OF)
    return {r.ref: (r.recency, r.frequency_crime, r.frequency_noncrime, r.gravity, r.victims)
            for r in ranking.results}


def recency_table(config) -> list[tuple[dt.date, float]]:
    """(earliest date in the band, points), most recent band first."""
    return [(add_months(AS_OF, -months), points) for months, points in config.bands]


def run_pandas(path: Path):
    import numpy as np
    import pandas as pd

    config = load_config(None)
    matrix = config.matrix()
    as_of = pd.Timestamp(AS_OF)
    start = as_of - pd.DateOffset(months=config.window_months)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    df["crime"] = df["is_crime"].str.lower().map(TRUTH).astype(bool)
    weights = df["offence_code"].str.strip().str.lower().map(matrix)
    df["g"] = np.where(df["crime"], weights, config.gravity["non_crime"])
    past = df[df["date"] <= as_of]
    last = past.groupby("perpetrator_ref")["date"].max()
    window = past[past["date"] >= start]
    grouped = window.groupby("perpetrator_ref")
    crimes = grouped["crime"].sum()
    total = grouped.size()
    gravity = grouped["g"].sum()
    victims = window[window["victim_ref"] != ""].groupby("perpetrator_ref")[
        "victim_ref"].nunique()
    out = pd.DataFrame({"last": last})
    out["fc"] = crimes.reindex(out.index, fill_value=0)
    out["fn"] = total.reindex(out.index, fill_value=0) - out["fc"]
    out["g"] = gravity.reindex(out.index, fill_value=0)
    out["v"] = victims.reindex(out.index, fill_value=0)
    points = np.zeros(len(out))
    for since, value in reversed(recency_table(config)):
        points = np.where(out["last"] >= pd.Timestamp(since), value, points)
    out["r"] = points
    return {ref: (r, int(fc), int(fn), g, int(v)) for ref, r, fc, fn, g, v in zip(
        out.index, out["r"], out["fc"], out["fn"], out["g"], out["v"])}


def run_plain(path: Path):
    config = load_config(None)
    matrix = config.matrix()
    start = add_months(AS_OF, -config.window_months)
    bands = recency_table(config)
    people: dict[str, list] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for ref, day, code, flag, victim in reader:
            d = dt.date.fromisoformat(day)
            if d > AS_OF:
                continue
            p = people.setdefault(ref, [d, 0, 0, 0, set()])
            if d > p[0]:
                p[0] = d
            if d < start:
                continue
            crime = TRUTH[flag.lower()]
            p[1 if crime else 2] += 1
            p[3] += matrix[code.strip().lower()] if crime else config.gravity["non_crime"]
            if victim:
                p[4].add(victim)
    out = {}
    for ref, (last, fc, fn, g, victims) in people.items():
        r = next((points for since, points in bands if last >= since), 0)
        out[ref] = (r, fc, fn, g, len(victims))
    return out


def best_time(fn, path: Path, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn(path)
        best = min(best, time.perf_counter() - began)
    return best, result


def peak_mb(fn, path: Path) -> float:
    tracemalloc.start()
    try:
        fn(path)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--perpetrators", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", choices=["auto", "pandas", "plain"], default="auto")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 incidents for 2,000 perpetrators, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.incidents, args.perpetrators, args.repeat = 10_000, 2_000, 3
    kind = args.baseline
    if kind == "auto":
        try:
            import pandas  # noqa: F401

            kind = "pandas"
        except ImportError:
            kind = "plain"
    baseline = run_pandas if kind == "pandas" else run_plain
    codes = sorted(load_config(None).matrix())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "incidents.csv"
        make_incidents(path, args.incidents, args.perpetrators, codes)
        baseline(path)                              # warm up imports and caches
        plugin_s, plugin_result = best_time(run_plugin, path, args.repeat)
        base_s, base_result = best_time(baseline, path, args.repeat)
        plugin_mb, base_mb = peak_mb(run_plugin, path), peak_mb(baseline, path)
    mismatched = [ref for ref in base_result if plugin_result.get(ref) != base_result[ref]]
    agree = not mismatched and len(plugin_result) == len(base_result)
    ratio = plugin_s / base_s
    print(f"bench_rfg: {args.incidents:,} incidents, {args.perpetrators:,} perpetrators: "
          f"plugin {plugin_s:.3f} s, {kind} baseline {base_s:.3f} s, ratio {ratio:.2f}x "
          f"(target <= {TARGET_RATIO:g}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'}); "
          f"peak memory plugin {plugin_mb:.1f} MB, baseline {base_mb:.1f} MB; "
          f"results {'agree' if agree else 'DISAGREE'} for {len(base_result):,} perpetrators")
    if not agree:
        for ref in mismatched[:5]:
            print(f"  {ref}: plugin {plugin_result.get(ref)} baseline {base_result[ref]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
