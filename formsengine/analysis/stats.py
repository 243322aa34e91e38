"""The statistics of paired comparisons, each small enough to check by hand.

* ``exact_mcnemar(b, c)``: the exact (binomial) McNemar test on the discordant pairs of a
  2x2 table: two-sided p = min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2),
  the binomial tail computed in floating point by scipy's ``binomtest`` (the same value
  as the exact rational sum to about 1e-14, in constant time: the exact big-integer sum
  took seconds for one test at 16,000 discordant pairs; the tests keep the rational sum
  as their oracle). With no discordant pairs p = 1.
* ``wilcoxon(changes)``: the Wilcoxon signed-rank test (scipy), zero changes dropped; with no
  non-zero change p = 1.
* ``fisher(table)``: Fisher's exact test of a 2x2 table (scipy), for differences between
  two groups.
"""

from __future__ import annotations

from collections.abc import Sequence


def exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    if b < 0 or c < 0:
        raise ValueError("counts cannot be negative")
    from scipy.stats import binomtest

    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, float(binomtest(min(b, c), n, 0.5).pvalue))


def wilcoxon(changes: Sequence[float]) -> dict[str, float | int | None]:
    """Wilcoxon signed-rank test of paired changes (scipy's default method: exact for
    small samples, normal approximation for large ones)."""
    from scipy.stats import wilcoxon as scipy_wilcoxon

    nonzero = [d for d in changes if d != 0]
    if not nonzero:
        return {"statistic": None, "p": 1.0, "nonzero": 0}
    result = scipy_wilcoxon(nonzero)
    return {"statistic": float(result.statistic), "p": float(result.pvalue),
            "nonzero": len(nonzero)}


def fisher(table: Sequence[Sequence[int]]) -> float:
    """Two-sided Fisher exact p-value of a 2x2 table."""
    import numpy as np
    from scipy.stats import fisher_exact

    if any(sum(row) == 0 for row in table) or any(sum(col) == 0 for col in zip(*table)):
        return 1.0
    return float(fisher_exact(np.asarray(table)).pvalue)


def percent(part: int | float, whole: int | float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def percent_change(before: int, after: int) -> float | None:
    """Change in a count as a percentage of the first count (None when it was zero)."""
    return None if not before else round(100.0 * (after - before) / before, 1)
