"""The verdict a benchmark prints beside its ratio: "met" or "NOT MET" only while the
machine is no busier than its cores (the 1-minute load average, the busier of the figures
read before and after the measurement); otherwise the ratio is printed but not judged."""

from __future__ import annotations

import os


def load() -> float:
    return os.getloadavg()[0]


def verdict(met: bool, load_before: float) -> str:
    busiest = max(load_before, load())
    cores = os.cpu_count() or 1
    if busiest > cores:
        return f"not judged: machine loaded (load {busiest:.2f}, {cores} cores)"
    return "met" if met else "NOT MET"
