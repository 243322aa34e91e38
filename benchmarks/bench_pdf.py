"""PDF reports vs WeasyPrint alone on the same HTML.

Data: one synthetic victim-survivor with dash-safelives and IDVA outcomes assessed at every
occasion, imported into a fresh database. Ours: ``render_assessment_pdf`` (the report's
context read from the store, the HTML from its template, the PDF, the audit row) of the
latest DASH, and ``render_case_pdf`` (the case's assessments, score history and charts) of
its case. Baseline: WeasyPrint alone turning the same HTML into a PDF, with the same
resources and the same options (tagged PDF/UA-1, as the product makes), so that both make
the same document; WeasyPrint with its default options (untagged) is printed beside it.

Times are CPU times of this process, best of several runs taken in turn (so that load on a
shared machine falls on each alike). Target: each report <= 1.3x WeasyPrint alone; judged
only while the machine's load average is below its number of cores.

    python benchmarks/bench_pdf.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from judging import load, verdict

INSTRUMENTS = ["dash-safelives", "idva-outcomes"]


def build(folder: Path):
    import formsengine_dash
    import formsengine_outcomes

    from formsengine.config import Settings
    from formsengine.engine import Engine
    from formsengine.importer import import_file
    from formsengine.store import Store
    from formsengine.synthetic import generate

    engine = Engine(Settings(), load_entrypoints=False,
                    plugins=[formsengine_dash, formsengine_outcomes])
    store = Store.open(folder / "pdf.db", engine, create=True)
    lines = folder / "records.jsonl"
    with lines.open("w") as fh:
        for record in generate(engine, people=1, instruments=INSTRUMENTS, seed=3):
            fh.write(json.dumps(record) + "\n")
    import_file(store, lines, actor="bench")
    return store


def best_cpu(fns: dict, repeats: int) -> dict:
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 7")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7

    from weasyprint import HTML

    from formsengine.reports import (
        render_assessment_html,
        render_assessment_pdf,
        render_case_html,
        render_case_pdf,
    )
    from formsengine.reports.pdf import PDF_OPTIONS, STATIC_URL, StaticOnlyFetcher

    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp))
        assessment = store.one("SELECT id FROM assessments WHERE instrument_id = ?"
                               " AND status = 'final' ORDER BY id DESC LIMIT 1",
                               ["dash-safelives"])["id"]
        case = store.one("SELECT case_id FROM assessments WHERE id = ?",
                         [assessment])["case_id"]
        html = {"assessment": render_assessment_html(store, assessment),
                "case": render_case_html(store, case)}

        def raw(kind: str, **options):
            return lambda: HTML(string=html[kind], base_url=STATIC_URL,
                                url_fetcher=StaticOnlyFetcher()).write_pdf(**options)

        fns = {
            "assessment": lambda: render_assessment_pdf(store, assessment, actor="bench"),
            "assessment raw": raw("assessment", **PDF_OPTIONS),
            "assessment untagged": raw("assessment"),
            "case": lambda: render_case_pdf(store, case, actor="bench"),
            "case raw": raw("case", **PDF_OPTIONS),
            "case untagged": raw("case"),
        }
        sizes = {name: len(fn()) for name, fn in fns.items()}  # warm, and the same document
        load_before = load()
        best = best_cpu(fns, repeats)
        store.close()
    print(f"best CPU time of {repeats} runs each")
    failed = False
    for kind in ("assessment", "case"):
        ours, same, plain = best[kind], best[f"{kind} raw"], best[f"{kind} untagged"]
        print(f"  {kind} report: ours {ours * 1000:7.1f} ms ({sizes[kind] / 1000:.0f} kB),"
              f" WeasyPrint alone {same * 1000:7.1f} ms"
              f" ({sizes[kind + ' raw'] / 1000:.0f} kB), untagged {plain * 1000:7.1f} ms")
        if abs(sizes[kind] - sizes[f"{kind} raw"]) > 0.05 * sizes[f"{kind} raw"]:
            print(f"PROBLEM: the {kind} report and WeasyPrint's PDF differ in size")
            failed = True
        ratio = ours / same
        print(f"HEADLINE {kind} report / WeasyPrint alone, same HTML and options:"
              f" {ratio:.2f}x (untagged WeasyPrint: {ours / plain:.2f}x)"
              f" (target <= 1.3x): {verdict(ratio <= 1.3, load_before)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
