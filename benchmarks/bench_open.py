"""Opening the database: ``Store.open`` with the definition snapshot check vs without it.

Builds a database of synthetic assessments of every shipped form instrument (imported with
``assessments import``), then opens it repeatedly, each time with a new engine (so that no
definition's hash is cached, as in a new command-line process), in turns: the real
``Store.open`` (migrations checked, then every used definition version compared with its
stored snapshot, retired versions registered) and the same open with the snapshot check
left out. Prints the medians, their ratio and the time the check adds (target: at most
10 ms per open, against the 250 ms or more a command takes to start; the bare open is a
few milliseconds, so the ratio alone says little).

    python benchmarks/bench_open.py [--quick] [--people 300] [--rounds 21]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from judging import load, verdict

import formsengine.store.snapshots as snapshots
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.importer import import_file
from formsengine.store import Store
from formsengine.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    people, rounds = (30, 7) if args.quick else (args.people, args.rounds)
    folder = Path(tempfile.mkdtemp())
    engine = Engine(Settings())
    store = Store.open(folder / "open.db", engine, create=True)
    forms = sorted({i.id for i in engine.instruments if i.id != "rfg-ranking"})
    with (folder / "in.jsonl").open("w") as fh:
        for record in generate(engine, people=people, instruments=forms):
            fh.write(json.dumps(record) + "\n")
    count = import_file(store, folder / "in.jsonl", actor="bench")["imported"]
    store.close()

    real = snapshots.check_definitions
    timings: dict[str, list[float]] = {"with": [], "without": []}
    before = load()
    for _ in range(rounds):
        for kind in ("with", "without"):
            snapshots.check_definitions = real if kind == "with" else (lambda store: [])
            fresh = Engine(Settings())
            start = time.perf_counter()
            Store.open(folder / "open.db", fresh).close()
            timings[kind].append(time.perf_counter() - start)
    snapshots.check_definitions = real
    with_ms = statistics.median(timings["with"]) * 1000
    without_ms = statistics.median(timings["without"]) * 1000
    ratio = with_ms / without_ms
    added = with_ms - without_ms
    print(f"{count} assessments of {len(forms)} instruments "
          f"({len(Engine(Settings()).instruments)} definition versions), {rounds} opens each")
    print(f"Store.open with the snapshot check {with_ms:.1f} ms, without {without_ms:.1f} ms: "
          f"{ratio:.2f}x, {added:.1f} ms added ({verdict(added <= 10, before)})")


if __name__ == "__main__":
    main()
