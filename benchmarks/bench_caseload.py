"""The caseload's first page for a team of 20 cases and for a team of 2,000, in one run.

One SQLite file holds both teams, their cases imported through ``formsengine import``'s
code (``import_file``) with an intake and a review dash-safelives assessment each (scored
on the way in), and a supervisor of each team. Each supervisor's first caseload page
(50 cases a page) is loaded through the Flask test client, interleaved (small, large,
small, large ...) after a warm-up, in each order the page offers: by reference, by risk
level and filtered to high risk; the case list's first page and the team's due page (the
schedule entries not done, read from the stored schedule's index). Prints the median time
of each and the ratio large / small (target: at most 2x: a page costs the same whatever
the size of the team).

    python benchmarks/bench_caseload.py [--small 20] [--large 2000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import formsengine_dash

from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.importer import import_file
from formsengine.store import Store
from formsengine.synthetic import generate
from formsengine.web import accounts, create_app

PASSWORD = "benchmark passphrase"
HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CARD = re.compile(r'class="govuk-summary-card app-caseload-card"')
ROW = re.compile(r'<tr class="govuk-table__row">\s*<th scope="row"')
PAGES = {"by reference": "/caseload", "by risk level": "/caseload?sort=level",
         "high risk only": "/caseload?show=high", "case list": "/",
         "team due page": "/due?scope=team"}


def records(engine: Engine, teams: dict[str, int]) -> list[dict]:
    """An intake and a review for each case; each case in one of ``teams``."""
    wanted = [(team, n) for team, count in teams.items() for n in range(count)]
    out, cases = [], {}
    for record in generate(engine, people=len(wanted) + 5, instruments=["dash-safelives"],
                           seed=7):
        if record["occasion"] not in ("intake", "review"):
            continue
        case = record["case"]
        if case not in cases:
            if len(cases) == len(wanted):
                continue
            cases[case] = wanted[len(cases)][0]
        out.append({**record, "team": cases[case]})
    assert len(cases) == len(wanted), "not enough cases generated"
    return out


def build(folder: Path, engine: Engine, teams: dict[str, int]) -> Path:
    db = folder / "caseload.db"
    store = Store.open(db, engine, create=True)
    for team in teams:
        accounts.create_user(store, f"sup-{team.lower()}", role="supervisor",
                             password=PASSWORD, params=HASH, must_change=False,
                             teams=[store.ensure_team(team)])
    lines = folder / "cases.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records(engine, teams)))
    summary = import_file(store, lines, actor="bench")
    assert summary["imported"] > 0, summary
    with store.write():  # opened at the first assessment, following DASH (as `demo` does)
        store.conn.execute(
            "UPDATE cases SET instruments = '[\"dash-safelives\"]', opened_on = (SELECT"
            " MIN(assessment_date) FROM assessments WHERE case_id = cases.id)")
    store.close()
    return db


def signed_in(app, username: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    response = client.post("/sign-in", data={"username": username, "password": PASSWORD,
                                              "csrf_token": token})
    assert response.status_code == 302, response.status_code
    return client


def timed(client, url: str, expect: int | None) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    cards = len(CARD.findall(page)) if "caseload" in url else len(ROW.findall(page))
    assert expect is None or cards == expect, (url, cards, expect)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    teams = {"Small": args.small, "Large": args.large}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        db = build(Path(tmp), engine, teams)
        print(f"built {args.small} + {args.large} cases in {time.perf_counter() - start:.1f} s")
        app = create_app({"DATABASE": str(db), "ENGINE": engine, "PASSWORD_HASH": HASH,
                          "SECRET_KEY": "benchmark-secret-key-long-enough-0000"})
        clients = {t: signed_in(app, f"sup-{t.lower()}") for t in teams}
        load_before = os.getloadavg()[0]
        worst = 0.0
        for label, url in PAGES.items():
            times: dict[str, list[float]] = {t: [] for t in teams}
            for t in teams:  # warm-up
                timed(clients[t], url, None)
            for _ in range(args.repeat):
                for t in teams:  # interleaved: small, large, small, large ...
                    expect = min(teams[t], 50) if "show" not in url and "due" not in url \
                        else None
                    times[t].append(timed(clients[t], url, expect))
            small = statistics.median(times["Small"]) * 1000
            large = statistics.median(times["Large"]) * 1000
            ratio = large / small
            worst = max(worst, ratio)
            print(f"{label:16} first page: {args.small} cases {small:6.1f} ms, "
                  f"{args.large} cases {large:6.1f} ms, ratio {ratio:.2f}x")
        busiest, cores = max(load_before, os.getloadavg()[0]), os.cpu_count() or 1
        verdict = ("met" if worst <= 2 else "NOT met") if busiest <= cores else (
            f"not judged: machine loaded (load {busiest:.2f}, {cores} cores)")
        print(f"worst ratio {worst:.2f}x (target <= 2x): {verdict}")


if __name__ == "__main__":
    main()
