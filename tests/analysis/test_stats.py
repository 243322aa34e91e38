"""The statistics against values worked out by hand."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from scipy.stats import binomtest

from formsengine.analysis.stats import exact_mcnemar, fisher, percent, percent_change, wilcoxon


@pytest.mark.parametrize("b, c, expected", [
    (0, 0, 1.0),                 # no discordant pairs
    (1, 9, 22 / 1024),           # 2 * (C(10,0) + C(10,1)) / 2^10
    (9, 1, 22 / 1024),           # symmetric
    (0, 6, 2 / 64),              # 2 * C(6,0) / 2^6
    (2, 10, 158 / 4096),         # 2 * (1 + 12 + 66) / 2^12
    (5, 5, 1.0),                 # 2 * 638 / 1024 > 1, capped at 1
    (3, 4, 1.0),                 # 2 * 64 / 128 = 1
    (0, 1, 1.0),                 # 2 * 1/2
])
def test_exact_mcnemar_matches_hand_computed_binomial_values(b, c, expected):
    assert exact_mcnemar(b, c) == pytest.approx(expected, rel=1e-15, abs=0)


def test_exact_mcnemar_with_large_counts_is_exact():
    # 85 stopped, 3 started: 2 * (C(88,0) + C(88,1) + C(88,2) + C(88,3)) / 2^88
    assert 1 + 88 + 3828 + 109736 == sum(math.comb(88, i) for i in range(4))
    p = exact_mcnemar(85, 3)
    assert p == pytest.approx(2 * 113653 / 2 ** 88, rel=1e-12)
    assert p == pytest.approx(binomtest(3, 88, 0.5).pvalue, rel=1e-9)


def rational_mcnemar(b: int, c: int) -> float:
    """The exact test in rational arithmetic: the oracle for the floating-point one."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2 ** n)))


def test_exact_mcnemar_agrees_with_the_rational_sum():
    rng = random.Random(20261206)
    pairs = [(b, c) for b in range(0, 41) for c in range(0, 41)]
    pairs += [(rng.randint(0, 600), rng.randint(0, 600)) for _ in range(400)]
    for b, c in pairs:
        oracle = rational_mcnemar(b, c)
        assert exact_mcnemar(b, c) == pytest.approx(oracle, rel=1e-13, abs=0), (b, c)


def test_exact_mcnemar_far_in_the_tail_and_at_sixteen_thousand_discordant_pairs():
    # Far in the tail (p near 3e-10, at 4,000 pairs, where the rational sum takes a
    # fraction of a second rather than the 11 s it takes at 16,000) the float agrees with
    # the rational sum; at the centre it is 1, at 16,000 pairs too.
    assert exact_mcnemar(1800, 2200) == pytest.approx(rational_mcnemar(1800, 2200), rel=1e-10)
    assert exact_mcnemar(8000, 8000) == 1.0 == exact_mcnemar(2000, 2000)
    assert 0 < exact_mcnemar(7600, 8400) < 1e-9  # z = 6.3: neither lost to 0 nor above


def test_exact_mcnemar_refuses_negative_counts():
    with pytest.raises(ValueError):
        exact_mcnemar(-1, 2)


def test_wilcoxon_exact_small_sample():
    # six positive changes, no ties: the exact two-sided p is 2 / 2^6
    assert wilcoxon([1, 2, 3, 4, 5, 6])["p"] == pytest.approx(2 / 64)
    assert wilcoxon([0, 0, 0]) == {"statistic": None, "p": 1.0, "nonzero": 0}
    assert wilcoxon([0, 1, 2, 3, 4, 5, 6])["nonzero"] == 6  # zero changes are dropped


def test_fisher_and_percentages():
    # hypergeometric by hand for [[3, 1], [1, 3]]: two-sided p = 34/70
    assert fisher([[3, 1], [1, 3]]) == pytest.approx(34 / 70)
    assert fisher([[0, 0], [1, 3]]) == 1.0
    assert percent(1, 3) == 33.3 and percent(1, 0) is None
    assert percent_change(100, 18) == -82.0 and percent_change(0, 5) is None
