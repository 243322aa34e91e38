"""Start-up cost of the command line: `formsengine --help`, `score` and `instruments list`
against `python -c "import click, pluggy, jsonschema"` (the libraries every command needs),
run alternately in the same run. Each figure is the median CPU time (user + system) of the
child process, which the load of a shared machine changes less than wall time; wall time is
printed beside it. Target: --help and score <= 2x the baseline.

The commands run as on an installation, with their compiled bytecode: pip writes it for the
libraries of the baseline when it installs them, but an editable install of formsengine
gets it at its first run, so every command runs once before the timed rounds, and
PYTHONDONTWRITEBYTECODE (which would leave formsengine compiled again at every start) is
removed from the children's environment.

    python benchmarks/bench_cli.py [--quick] [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ANSWERS = {"instrument": "dash-safelives",
           "answers": {"dash.injury": "yes", "dash.very_frightened": "dont_know"},
           "fields": {"assessment_date": "2026-03-02"}}


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, check=False, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert out.returncode == 0, out.stderr.decode()[-500:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rounds = 5 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        answers = Path(tmp, "answers.json")
        answers.write_text(json.dumps(ANSWERS))
        commands = {
            "baseline: import click, pluggy, jsonschema": [
                sys.executable, "-c", "import click, pluggy, jsonschema"],
            "formsengine --help": [str(BIN / "formsengine"), "--help"],
            "formsengine score": [str(BIN / "formsengine"), "score", "dash-safelives",
                                  str(answers)],
            "formsengine instruments list": [str(BIN / "formsengine"), "instruments", "list"],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for argv in commands.values():  # bytecode written, as an installation has it
            run(argv)
        for _ in range(rounds):  # interleaved: every command once per round
            for name, argv in commands.items():
                times[name].append(run(argv))
    base = statistics.median(cpu for cpu, _ in times["baseline: import click, pluggy, "
                                                      "jsonschema"])
    print(f"median of {rounds} rounds, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    for name, samples in times.items():
        cpu = statistics.median(c for c, _ in samples)
        wall = statistics.median(w for _, w in samples)
        target = " (target <= 2x)" if name in ("formsengine --help", "formsengine score") else ""
        print(f"{name:45s} CPU {cpu * 1000:6.0f} ms  wall {wall * 1000:6.0f} ms  "
              f"ratio {cpu / base:4.2f}x{target}")


if __name__ == "__main__":
    main()
