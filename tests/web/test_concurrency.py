"""8 clients saving DASH answers at once against a real server process on loopback for a
few seconds: zero errors, exactly one assessment per client, every acknowledged save stored
once (the benchmark's check, not timed here)."""

from __future__ import annotations

import pytest

from .conftest import load_bench

pytestmark = pytest.mark.slow


def test_eight_concurrent_clients_lose_and_duplicate_nothing():
    bench = load_bench()
    result = bench.measure(seconds=2.0, clients=8, threads=8)
    stats = {name: bench.summary(run) for name, run in result["runs"].items()}
    assert result["problems"] == []
    assert all(s["errors"] == 0 for s in stats.values()), stats
    for name in ("save", "page"):
        assert all(r["saves"] > 0 for r in result["runs"][name].values())
        assert stats[name]["ops"] >= 8
