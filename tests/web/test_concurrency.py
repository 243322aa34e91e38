"""8 or 20 clients saving DASH answers at once against a real server process on loopback for
a few seconds: zero errors, exactly one assessment per client, every acknowledged save stored
once, every row of the bare and floor runs once (the benchmark's check, not timed here)."""

from __future__ import annotations

import pytest

from .conftest import load_bench

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("clients", "threads"), [(8, 8), (20, 4)])
def test_concurrent_clients_lose_and_duplicate_nothing(clients, threads):
    bench = load_bench()
    result = bench.measure(seconds=2.0, clients=clients, threads=threads, rounds=1)
    stats = {name: bench.summary(run) for name, run in result["runs"].items()}
    assert result["problems"] == []
    assert all(s["errors"] == 0 for s in stats.values()), stats
    for name in ("save", "page"):
        assert all(r["saves"] > 0 for r in result["runs"][name].values())
        assert stats[name]["ops"] >= clients
