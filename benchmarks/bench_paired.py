"""`analyse paired` of dash-safelives intake -> exit vs a pandas merge of the same pairs.

Builds a database of N final dash-safelives assessments (synthetic people, every occasion
of the instrument, imported with `assessments import`), then times, in the same run and
alternately: formsengine's paired analysis (latest final assessment per person at each
occasion, 2x2 tables and exact McNemar tests for every yes/no item and result, transition
tables for bands and levels, Wilcoxon for numeric scores), and a baseline that reads the
same answer and score rows with pandas, pivots them, merges the two occasions on the
person and cross-tabulates every item and result. It checks both found the same pairs and
the same 2x2 table for every yes/no item, and prints the ratio (target <= 3x at 100,000).

    python benchmarks/bench_paired.py [--quick] [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import formsengine_dash
import pandas as pd

from formsengine.analysis.paired import paired
from formsengine.config import Settings
from formsengine.engine import Engine
from formsengine.importer import import_file
from formsengine.store import Store
from formsengine.synthetic import generate

INSTRUMENT, FIRST, SECOND = "dash-safelives", "intake", "exit"


def build(engine: Engine, n: int, folder: Path) -> Path:
    occasions = [o for o in engine.instruments.get(INSTRUMENT).occasions
                 if o != "after_incident"]
    people = n // len(occasions) + 1
    jsonl = folder / "in.jsonl"
    written = 0
    with jsonl.open("w") as out:
        for record in generate(engine, people=people, instruments=[INSTRUMENT], seed=5):
            out.write(json.dumps(record) + "\n")
            written += 1
            if written == n:
                break
    db = folder / "paired.db"
    store = Store.open(db, engine, create=True)
    import_file(store, jsonl, actor="bench")
    store.close()
    return db


def ours(engine: Engine, db: Path) -> tuple[float, dict]:
    store = Store.open(db, engine)
    start = time.process_time()
    result = paired(store, INSTRUMENT, FIRST, SECOND)
    elapsed = time.process_time() - start
    store.close()
    return elapsed, result


def _frame(conn, sql: str) -> pd.DataFrame:
    cursor = conn.execute(sql, [INSTRUMENT, FIRST, SECOND])
    return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def baseline(engine: Engine, db: Path) -> tuple[float, dict]:
    store = Store.open(db, engine)
    conn = store.conn
    start = time.process_time()
    answers = _frame(
        conn, "SELECT a.person_id, a.occasion, ans.item_id, ans.value FROM answers ans"
        " JOIN assessments a ON a.id = ans.assessment_id WHERE a.status = 'final'"
        " AND a.instrument_id = ? AND a.occasion IN (?, ?) ORDER BY a.id")
    scores = _frame(
        conn, "SELECT a.person_id, a.occasion, sv.kind || ':' || sv.name AS item_id,"
        " COALESCE(sv.value_text, CAST(sv.value_num AS TEXT)) AS value"
        " FROM score_values sv JOIN scores s ON s.id = sv.score_id"
        " JOIN assessments a ON a.id = s.assessment_id WHERE a.status = 'final'"
        " AND a.instrument_id = ? AND a.occasion IN (?, ?) ORDER BY a.id, s.seq")
    rows = pd.concat([answers, scores], ignore_index=True)
    wide = rows.pivot_table(index=["person_id", "occasion"], columns="item_id",
                            values="value", aggfunc="last")
    first = wide.xs(FIRST, level="occasion")
    second = wide.xs(SECOND, level="occasion")
    merged = first.merge(second, how="inner", left_index=True, right_index=True,
                         suffixes=("@1", "@2"))
    tables = {}
    for column in wide.columns:
        pair = merged[[f"{column}@1", f"{column}@2"]].dropna()
        tables[column] = pd.crosstab(pair.iloc[:, 0], pair.iloc[:, 1])
    elapsed = time.process_time() - start
    store.close()
    return elapsed, {"paired": len(merged), "tables": tables}


def check(result: dict, base: dict) -> None:
    assert result["people"]["paired"] == base["paired"], (result["people"], base["paired"])
    checked = 0
    for entry in result["all"]["binary"]:
        if entry["source"] != "item":
            continue
        table = base["tables"][entry["id"]]
        yes, no = json.dumps("yes"), json.dumps("no")
        full = table.reindex(index=[yes, no], columns=[yes, no], fill_value=0)

        def cell(a, b, full=full):
            return int(full.at[a, b])

        assert entry["table"] == {"yes_yes": cell(yes, yes), "yes_no": cell(yes, no),
                                  "no_yes": cell(no, yes), "no_no": cell(no, no)}, entry["id"]
        checked += 1
    assert checked > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 assessments, 2 rounds")
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    n, rounds = (10_000, 2) if args.quick else (args.n, 3)
    engine = Engine(Settings(), load_entrypoints=False, plugins=[formsengine_dash])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        db = build(engine, n, Path(tmp))
        print(f"built {n:,} final assessments in {time.perf_counter() - t0:.0f} s")
        best_ours = best_base = float("inf")
        for _ in range(rounds):
            t, result = ours(engine, db)
            best_ours = min(best_ours, t)
            t, base = baseline(engine, db)
            best_base = min(best_base, t)
            check(result, base)
    print(f"pairs: {result['people']['paired']:,}, yes/no tables checked against the baseline;"
          f" best of {rounds}, CPU time")
    print(f"formsengine analyse paired:             {best_ours:.2f} s")
    print(f"pandas read + pivot + merge + crosstab: {best_base:.2f} s")
    print(f"ratio: {best_ours / best_base:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
