"""Each list page's server time at 1k, 10k and 100k final assessments, in one run.

Each database holds one team whose cases have 5 final assessments each (a dash-safelives
intake, review and exit and a dash-police intake and review), imported through
``formsengine import``'s code (``import_file``, the fastest checked bulk path), with a
supervisor, a researcher and an administrator. The built files are kept under the system's
temporary folder (``formsengine-bench-scale/``) and reused by later runs; ``--rebuild``
makes them again.

The pages (case list, caseload, due, team due, researcher counts, audit) are loaded
through the Flask test client, so the time is the server's, interleaved across the sizes
(1k, 10k, 100k, 1k, 10k, ...) after a warm-up; prints each page's median at each size
and the ratio largest / smallest (target: at most 2x).

    python benchmarks/bench_scale.py [--quick] [--repeat 15] [--rebuild]

``--quick`` builds and times 1k and 10k only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import formsengine_dash
from bench_caseload import HASH, PASSWORD, signed_in

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.importer import import_file
from formsengine.store import Store
from formsengine.synthetic import generate
from formsengine.web import accounts, create_app

PER_CASE = 5
WANTED = {("dash-safelives", "intake"), ("dash-safelives", "review"),
          ("dash-safelives", "exit"), ("dash-police", "intake"), ("dash-police", "review")}
PAGES = {"case list": ("sup", "/"), "caseload": ("sup", "/caseload"),
         "due": ("sup", "/due"), "team due": ("sup", "/due?scope=team"),
         "researcher counts": ("res", "/research"), "audit": ("adm", "/admin/audit")}


def build(path: Path, engine: Engine, assessments: int) -> None:
    cases = assessments // PER_CASE
    store = Store.open(path, engine, create=True)
    team = store.ensure_team("Team")
    for name, role in (("sup", "supervisor"), ("res", "researcher"), ("adm", "administrator")):
        accounts.create_user(store, name, role=role, password=PASSWORD, params=HASH,
                             must_change=False, teams=[team] if role == "supervisor" else [])
    lines = path.with_suffix(".jsonl")
    with lines.open("w") as out:
        for record in generate(engine, people=cases, instruments=["dash-safelives",
                                                                  "dash-police"], seed=7):
            if (record["instrument"], record["occasion"]) in WANTED:
                out.write(json.dumps({**record, "team": "Team"}) + "\n")
    summary = import_file(store, lines, actor="bench")
    lines.unlink()
    assert summary["imported"] == assessments, summary
    # No statistics (the application never runs ANALYZE): the schedule's triggers find each
    # case's final assessments through the case index (core_0011). Before it, this update
    # read every final assessment of the occasion for each case and did not finish in 25
    # minutes at 100k.
    start = time.perf_counter()
    with store.write():  # opened at the first assessment, following DASH (as `demo` does)
        store.conn.execute(
            "UPDATE cases SET instruments = '[\"dash-safelives\"]', opened_on = (SELECT"
            " MIN(assessment_date) FROM assessments WHERE case_id = cases.id)")
    print(f"  opening dates of {cases:,} cases set (schedule written by the triggers) in"
          f" {time.perf_counter() - start:.1f} s")
    store.close()


def database(folder: Path, engine: Engine, assessments: int, rebuild: bool) -> Path:
    path = folder / f"scale-{assessments}.db"
    if rebuild or not path.exists():
        for old in folder.glob(f"scale-{assessments}.*"):
            old.unlink()
        start = time.perf_counter()
        build(path, engine, assessments)
        print(f"built {assessments:,} final assessments in {time.perf_counter() - start:.1f} s")
    return path


def timed(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k only")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    folder = Path(tempfile.gettempdir()) / "formsengine-bench-scale"
    folder.mkdir(exist_ok=True)
    clients = {}
    for n in sizes:
        app = create_app({"DATABASE": str(database(folder, engine, n, args.rebuild)),
                          "ENGINE": engine, "PASSWORD_HASH": HASH,
                          "SECRET_KEY": "benchmark-secret-key-long-enough-0000"})
        clients[n] = {who: signed_in(app, who) for who in ("sup", "res", "adm")}
    load_before = os.getloadavg()[0]
    worst = 0.0
    for label, (who, url) in PAGES.items():
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for n in sizes:  # warm-up
            timed(clients[n][who], url)
        for _ in range(args.repeat):
            for n in sizes:  # interleaved across the sizes
                times[n].append(timed(clients[n][who], url))
        medians = {n: statistics.median(times[n]) * 1000 for n in sizes}
        ratio = medians[sizes[-1]] / medians[sizes[0]]
        worst = max(worst, ratio)
        cells = ", ".join(f"{n // 1000}k {medians[n]:6.1f} ms" for n in sizes)
        print(f"{label:18} {cells}, ratio {sizes[-1] // 1000}k/1k {ratio:.2f}x")
    busiest, cores = max(load_before, os.getloadavg()[0]), os.cpu_count() or 1
    verdict = ("met" if worst <= 2 else "NOT met") if busiest <= cores else (
        f"not judged: machine loaded (load {busiest:.2f}, {cores} cores)")
    print(f"worst ratio {worst:.2f}x (target <= 2x): {verdict}; load {busiest:.2f}")


if __name__ == "__main__":
    main()
