"""Distribution tails and intervals for verdicts, from `math` alone (no numpy/scipy in the analyzer).

Counts are floats on purpose: an app reports rates over a sliding window, so requests and errors
recovered from them are rarely integers; every tail uses the continuous (beta/gamma) extension.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from statistics import NormalDist

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 400
# Above this many expected events the exact tails cost O(sqrt(n)) iterations; the signed-root
# likelihood ratio is accurate to ~1e-3 relative there, far below what a verdict can tell apart.
_LARGE_COUNT = 200.0
_STD_NORMAL = NormalDist()


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_ppf(q: float) -> float:
    """The q-quantile of the standard normal."""
    return _STD_NORMAL.inv_cdf(min(max(q, 1e-15), 1.0 - 1e-15))


def _betacf(a: float, b: float, x: float) -> float:
    # Lentz's continued fraction for the incomplete beta (Numerical Recipes §6.4).
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS * 10:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta I_x(a, b), for a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def gammainc_lower(a: float, x: float) -> float:
    """The regularized lower incomplete gamma P(a, x), for a > 0."""
    if x <= 0.0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return min(1.0, total * math.exp(log_front))
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER + 1):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS * 10:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def _root_sf(x: float, mean: float, deviance: float) -> float:
    """P(X >= x) from the signed root of a likelihood-ratio deviance (x already continuity-corrected)."""
    root = math.sqrt(max(0.0, 2.0 * deviance))
    return norm_sf(root if x > mean else -root)


def binom_sf(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), continuous in k and n."""
    if k <= 0.0 or p >= 1.0:
        return 1.0
    if p <= 0.0 or k > n:
        return 0.0
    if n * p > _LARGE_COUNT and n * (1.0 - p) > _LARGE_COUNT:
        x, mean = k - 0.5, n * p  # continuity correction: X >= k starts half a count below k
        deviance = x * math.log(x / mean) + (n - x) * math.log((n - x) / (n - mean))
        return _root_sf(x, mean, deviance)
    return betainc(k, n - k + 1.0, p)


def poisson_sf(k: float, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), continuous in k."""
    if k <= 0.0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if mean > _LARGE_COUNT:
        x = k - 0.5
        return _root_sf(x, mean, x * math.log(x / mean) - (x - mean)) if x > 0 else 1.0
    return gammainc_lower(k, mean)


def poisson_cdf(k: float, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean)."""
    return 1.0 - poisson_sf(k + 1.0, mean)


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's T with df degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def t_pdf(t: float, df: float) -> float:
    """The density of Student's T."""
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))


@lru_cache(maxsize=1024)
def t_ppf(q: float, df: float) -> float:
    """The q-quantile of Student's T: a Cornish-Fisher start, then Newton on the exact CDF."""
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    z = norm_ppf(q)
    t = z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    if not math.isfinite(t) or t <= 0:
        t = z
    for _ in range(50):
        step = (1.0 - t_sf(t, df) - q) / t_pdf(t, df)
        # Newton overshoots in the heavy tails of 1-2 df: never step below half the current value.
        t = max(t / 2, t - step)
        if abs(step) < 1e-10 * max(1.0, t):
            break
    return t


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    phat = successes / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def ols_slope(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope of ys on xs, its standard error and the intercept-at-last-x fit.

    The standard error is infinite with fewer than 3 points or no spread in xs.
    """
    n = len(xs)
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    if n < 3 or sxx <= 0.0:
        return 0.0, math.inf, my
    slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = math.fsum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    se = math.sqrt(residual / (n - 2) / sxx)
    return slope, se, my + slope * (xs[-1] - mx)


def sample_variance(values: Sequence[float]) -> float:
    """The unbiased sample variance; 0 with fewer than two values."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = math.fsum(values) / n
    return math.fsum((v - mean) ** 2 for v in values) / (n - 1)
