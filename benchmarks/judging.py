"""The verdict a benchmark prints beside its ratio: "met" or "NOT MET" only while the
machine is no busier than its cores (the 1-minute load average, the busier of the figures
read before and after the measurement); otherwise the ratio is printed but not judged.

A benchmark that fills the machine by design (its clients, servers and database share the
cores, so the load average after it is always above them) is judged instead by the load
before it started and by the CPU that every other process of the machine used while it
ran (``verdict_alone``)."""

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


OTHERS_MOST = 0.25  # cores: what other processes may use while a benchmark fills the machine


def verdict_alone(met: bool, load_before: float, others: float) -> str:
    """The verdict of a benchmark that fills the machine itself: judged while the load
    before it was at most the cores and the rest of the machine used at most a quarter of a
    core (``others``: CPU seconds a second of every process not the benchmark's) meanwhile."""
    cores = os.cpu_count() or 1
    if load_before > cores:
        return f"not judged: machine loaded before the run (load {load_before:.2f}, {cores} cores)"
    if others > OTHERS_MOST:
        return (f"not judged: other work used {others:.2f} cores during the run "
                f"(at most {OTHERS_MOST})")
    return "met" if met else "NOT MET"
