"""evidence-v1: error rate, judged as counts of errors among requests rather than as a percentage.

One error at 1 req/s is 1 error in 60 requests; 50 errors in 3000 requests is another story. The
test is one-sided and against a practical margin, not against "no change": an increase too small to
matter is never significant, however many requests there are.
"""

from __future__ import annotations

import math

from seqpulse.analyzer.model import MetricComparison
from seqpulse.analyzer.policies.evidence_judgement import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    POWER,
    WARN,
    Judgement,
    SegmentResult,
    needed,
    num,
    p_text,
    pct,
    pick,
    power_of,
    pp,
    segments,
    unjudged,
)
from seqpulse.analyzer.policies.evidence_window import Point, Window
from seqpulse.analyzer.stats import binom_sf, norm_ppf, poisson_sf, wilson
from seqpulse.common.policy_settings import PolicySettings

MAX_DISPERSION = 10.0
MIN_EXPECTED_FOR_DISPERSION = 5.0  # below this per sequence, Pearson's statistic says nothing
BASELINE_Z = 1.644854  # one-sided 95% upper bound of the baseline error rate
INTERVAL_Z = 1.644854  # two-sided 90%, like the other metrics' ci90


def _dispersion(points: tuple[Point, ...], rate: float) -> float:
    """Quasi-binomial dispersion of per-sequence errors: bursty errors weigh less than independent ones."""
    if len(points) < 3 or not 0.0 < rate < 1.0:
        return 1.0
    expected = [p.requests * rate for p in points]
    if sum(expected) / len(points) < MIN_EXPECTED_FOR_DISPERSION:
        return 1.0
    chi2 = sum((p.errors - e) ** 2 / (e * (1.0 - rate)) for p, e in zip(points, expected, strict=True))
    return min(MAX_DISPERSION, max(1.0, chi2 / (len(points) - 1)))


def judge_errors(window: Window, s: PolicySettings, critical: bool) -> Judgement:
    e0 = sum(p.errors for p in window.pre)
    n0 = sum(p.requests for p in window.pre)
    p0 = e0 / n0 if n0 > 0 else None
    n_all = sum(p.requests for p in window.post)
    e_all = sum(p.errors for p in window.post)
    if n_all <= 0:
        return unjudged("error_rate", p0, critical, "no_requests_after_deploy")
    base = p0 or 0.0
    # The baseline is one app window, so its rate is uncertain: post is held against the practical
    # margin of the baseline's 95% upper bound, with the baseline's counts shrunk by the dispersion
    # seen after the deploy (error rates wobble minute to minute beyond binomial noise). At low
    # traffic that bound is useless (0 errors in 12 requests allows 22%), so it is capped at the
    # limit: unless the baseline itself shows otherwise, the service is assumed to have been within
    # its error limit before the deploy.
    # The least dispersed segment: a step mid-window makes the whole window look overdispersed.
    phi_all = min(_dispersion(pts, _rate(pts)) for _, pts in segments(window.post))
    if p0 is None:
        reference = s.error_rate_limit
    else:
        upper = wilson(round(e0 / phi_all), max(1, round(n0 / phi_all)), BASELINE_Z)[1]
        reference = upper if base > s.error_rate_limit else min(upper, s.error_rate_limit)
    p_star = min(1.0, max(s.error_ratio * reference, reference + s.error_increase_floor))
    parts = segments(window.post)
    aw, af = s.alpha_warn / len(parts), s.alpha_fail / len(parts)

    def margin_p(e1: float, n1: float, phi: float) -> float:
        return binom_sf(e1 / phi, n1 / phi, p_star) if n1 > 0 else 1.0

    results: list[SegmentResult] = []
    for name, pts in parts:
        e1, n1 = sum(p.errors for p in pts), sum(p.requests for p in pts)
        phi = _dispersion(pts, e1 / n1) if n1 > 0 else 1.0
        p_margin = margin_p(e1, n1, phi)
        p_loo = margin_p(*_without_worst(pts, window.span, p_star), phi)
        exceed = sum(1 for p in pts if p.requests > 0 and p.errors > p_star * p.requests)
        status = PASS
        if p_margin <= aw and p_loo <= aw:
            status = WARN
            if p_margin <= af and exceed >= needed(s.persistence, len(pts), window.span):
                status = FAIL
        results.append(SegmentResult(status, p_margin, name, exceed, len(pts), phi))
    seg = pick(results)
    status, p_value, phi = seg.status, seg.p, seg.scale
    flags = {"relative"} if status != PASS else set()

    observed = e_all / n_all
    p_abs = binom_sf(e_all / phi, n_all / phi, s.error_rate_limit)
    e_rest, n_rest = _without_worst(window.post, window.span, s.error_rate_limit)
    p_rest = binom_sf(e_rest / phi, n_rest / phi, s.error_rate_limit) if n_rest > 0 else 1.0
    if status == PASS and max(p_abs, p_rest) <= aw and observed > s.error_rate_limit:
        status, p_value, flags = WARN, p_abs, {"absolute"}
    if p0 is not None and binom_sf(e0, n0, s.error_rate_limit) <= 0.05:
        flags.add("degraded_baseline")

    mde = _error_mde(n_all / phi, p_star, aw)
    spread = math.sqrt(max(mde, 1e-6) * (1 - min(mde, 0.999)) * phi / n_all)
    power = power_of(mde - base, s.max_detectable_error_increase, spread)
    if status == PASS and mde - base > s.max_detectable_error_increase:
        status = INCONCLUSIVE
    ratio = "inf" if base == 0 and observed > 0 else num(observed / base) if base > 0 else "1.00"
    margin = f"max({num(s.error_ratio, 1)}x,{pp(s.error_increase_floor)})"
    tokens = (
        ("post", f"{e_all:.0f}/{n_all:.0f}"),
        ("post_rate", pct(observed)),
        ("baseline", f"{e0:.0f}/{n0:.0f}" if p0 is not None else "none"),
        ("baseline_rate", pct(base) if p0 is not None else "none"),
        ("ratio", ratio),
        ("ci90", "[{},{}]".format(*(pct(v) for v in _interval(e_all / phi, n_all / phi)))),
        ("threshold", f"{margin}_of_{pct(reference)}={pct(p_star)}"),
        ("limit", pct(s.error_rate_limit)),
        ("p", p_text(p_value)),
        ("segment", seg.name),
        ("persistent", f"{seg.persistent}/{seg.count}"),
        ("dispersion", num(phi)),
        ("mde", pp(mde - base)),
    )
    comparison = MetricComparison(
        "error_rate",
        p0,
        observed,
        p_star,
        seg.persistent / seg.count,
        s.persistence,
        status in (WARN, FAIL),
        critical,
        status=status,
        test="count_test",
        change=observed - base,
        interval=_interval(e_all / phi, n_all / phi),
        p_value=p_value,
        min_detectable=mde - base,
        evidence={
            "errors": round(e_all, 3),
            "requests": round(n_all, 3),
            "baseline_errors": round(e0, 3),
            "baseline_requests": round(n0, 3),
            "dispersion": phi,
            "segment": seg.name,
            "persistent_sequences": seg.persistent,
            "sequences": seg.count,
        },
    )
    summary = (
        f"error rate {pct(observed)} vs {pct(base)} before"
        if p0 is not None
        else f"error rate {pct(observed)}"
    )
    return Judgement(comparison, tokens, "count_test", summary, frozenset(flags), p_value, power)


def _interval(errors: float, requests: float) -> tuple[float, float]:
    """90% Wilson interval of the post error rate (counts already shrunk by the dispersion)."""
    return wilson(round(errors), max(1, round(requests)), INTERVAL_Z)


def _rate(points: tuple[Point, ...]) -> float:
    requests = sum(p.requests for p in points)
    return sum(p.errors for p in points) / requests if requests > 0 else 0.0


def _without_worst(points: tuple[Point, ...], span: int, rate: float) -> tuple[float, float]:
    """Errors and requests without the worst run of `span` samples (all one burst can touch): a
    finding must survive it, so that one burst never decides. (0, 0) when nothing would be left."""
    if len(points) <= span:
        return 0.0, 0.0
    runs = [points[i : i + span] for i in range(len(points) - span + 1)]
    worst = max(runs, key=lambda run: sum(p.errors - rate * p.requests for p in run))
    errors = sum(p.errors for p in points) - sum(p.errors for p in worst)
    requests = sum(p.requests for p in points) - sum(p.requests for p in worst)
    return errors, requests


def _critical_count(mean: float, alpha: float) -> float:
    """The smallest count k with P(Poisson(mean) >= k) <= alpha."""
    z = norm_ppf(1.0 - alpha)
    if mean > 200.0:
        return math.ceil(mean + z * math.sqrt(mean) + 0.5)
    k = max(1, math.floor(mean + z * math.sqrt(mean)))
    while k > 1 and poisson_sf(k - 1, mean) <= alpha:
        k -= 1
    while poisson_sf(k, mean) > alpha:
        k += 1
    return float(k)


def _gamma_quantile(shape: float, q: float) -> float:
    # Wilson-Hilferty: within a few percent for the upper quantiles this is used for.
    z = norm_ppf(q)
    return shape * max(0.0, 1.0 - 1.0 / (9.0 * shape) + z / (3.0 * math.sqrt(shape))) ** 3


def _error_mde(n: float, p_star: float, alpha: float) -> float:
    """The post error rate the test would flag with 80% power (approximate, within a few percent)."""
    # The test flags X >= c, c the critical count; P(X >= c) = 0.8 at the 0.8-quantile of Gamma(c),
    # since Poisson tails and gamma CDFs are the same function.
    c = _critical_count(n * p_star, alpha)
    return min(1.0, _gamma_quantile(c, POWER) / n)
