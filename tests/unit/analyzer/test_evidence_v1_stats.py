"""The analyzer's distribution tails and intervals agree with brute-force sums and known tables."""

from __future__ import annotations

import math

import pytest

from seqpulse.analyzer.stats import (
    betainc,
    binom_sf,
    norm_ppf,
    ols_slope,
    poisson_sf,
    sample_variance,
    t_ppf,
    t_sf,
    wilson,
)


def binom_sf_by_sum(k: int, n: int, p: float) -> float:
    terms = (
        math.exp(
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * math.log(p)
            + (n - i) * math.log1p(-p)
        )
        for i in range(k, n + 1)
    )
    return math.fsum(terms)


def poisson_sf_by_sum(k: int, mean: float) -> float:
    return 1.0 - math.fsum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k))


@pytest.mark.parametrize(("k", "n", "p"), [(5, 300, 0.005), (50, 3000, 0.005), (1, 60, 0.01), (3, 12, 0.2)])
def test_binomial_tail_is_exact_for_small_counts(k: int, n: int, p: float) -> None:
    assert binom_sf(k, n, p) == pytest.approx(binom_sf_by_sum(k, n, p), rel=1e-9)


@pytest.mark.parametrize(("k", "n", "p"), [(700, 60000, 0.01), (450, 60000, 0.007), (380, 60000, 0.007)])
def test_binomial_tail_is_close_for_large_counts(k: int, n: int, p: float) -> None:
    assert binom_sf(k, n, p) == pytest.approx(binom_sf_by_sum(k, n, p), rel=0.05)


@pytest.mark.parametrize(("k", "mean"), [(5, 1.5), (9, 3.0), (30, 20.0), (250, 220.0)])
def test_poisson_tail(k: int, mean: float) -> None:
    assert poisson_sf(k, mean) == pytest.approx(poisson_sf_by_sum(k, mean), rel=0.05)


def test_tails_at_the_edges() -> None:
    assert binom_sf(0, 10, 0.1) == 1.0
    assert binom_sf(11, 10, 0.1) == 0.0
    assert binom_sf(1, 10, 0.0) == 0.0
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 0.0) == 0.0
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0


@pytest.mark.parametrize(
    ("q", "df", "expected"), [(0.975, 1, 12.7062), (0.99, 9, 2.8214), (0.95, 30, 1.6973)]
)
def test_t_quantiles_match_the_tables(q: float, df: float, expected: float) -> None:
    assert t_ppf(q, df) == pytest.approx(expected, abs=1e-3)
    assert 1 - t_sf(t_ppf(q, df), df) == pytest.approx(q, abs=1e-9)
    assert t_ppf(1 - q, df) == pytest.approx(-t_ppf(q, df))


def test_normal_quantile() -> None:
    assert norm_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)


def test_wilson_interval_covers_zero_events_by_the_rule_of_three() -> None:
    low, high = wilson(0, 300)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert 0.009 < high < 3 / 300 + 0.003
    assert wilson(0, 0) == (0.0, 1.0)


def test_least_squares_slope_and_its_error() -> None:
    slope, se, last = ols_slope([0, 1, 2, 3], [1.0, 2.0, 3.1, 3.9])
    assert slope == pytest.approx(0.98)
    assert se == pytest.approx(0.0424264, rel=1e-5)
    assert last == pytest.approx(3.97)
    assert ols_slope([0, 1], [1.0, 2.0])[1] == math.inf


def test_sample_variance() -> None:
    assert sample_variance([1.0, 2.0, 3.0, 4.0]) == pytest.approx(5 / 3)
    assert sample_variance([1.0]) == 0.0
