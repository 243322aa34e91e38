"""The statistics of paired comparisons, each small enough to check by hand.

* ``exact_mcnemar(b, c)``: the exact (binomial) McNemar test on the discordant pairs of a
  2x2 table: two-sided p = min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2),
  computed in exact rational arithmetic. With no discordant pairs p = 1.
* ``wilcoxon(changes)``: the Wilcoxon signed-rank test (scipy), zero changes dropped; with no
  non-zero change p = 1.
* ``fisher(table)``: Fisher's exact test of a 2x2 table (scipy), for differences between
  two groups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    if b < 0 or c < 0:
        raise ValueError("counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2 ** n)))


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
    from scipy.stats import fisher_exact

    if any(sum(row) == 0 for row in table) or any(sum(col) == 0 for col in zip(*table)):
        return 1.0
    return float(fisher_exact(table).pvalue)


def percent(part: int | float, whole: int | float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def percent_change(before: int, after: int) -> float | None:
    """Change in a count as a percentage of the first count (None when it was zero)."""
    return None if not before else round(100.0 * (after - before) / before, 1)
