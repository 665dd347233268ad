"""evidence-v1: latency p95, CPU and memory, judged against the baseline and against absolute limits.

One pre sample has no spread of its own, so the baseline borrows the post samples' minute-to-minute
spread (the same app, minutes apart); a p95 computed from few requests adds sampling noise on top.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from seqpulse.analyzer.model import MetricComparison
from seqpulse.analyzer.policies.evidence_judgement import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    POWER,
    WARN,
    Judgement,
    SegmentResult,
    moderated,
    needed,
    num,
    p_text,
    pick,
    power_of,
    segments,
    unjudged,
)
from seqpulse.analyzer.policies.evidence_window import Point, Window
from seqpulse.analyzer.stats import sample_variance, t_ppf, t_sf
from seqpulse.common.policy_settings import PolicySettings

# se(log p95) of n lognormal latencies is ~2.1 sigma / sqrt(n); 1.5 is sigma ~0.7, a typical spread.
P95_NOISE = 1.5
LATENCY_LEVEL_SD = 0.05  # floor of the minute-to-minute wobble of p95 beyond sampling noise
LATENCY_PRIOR_SD = 0.08  # the typical wobble, which short windows are shrunk towards
USAGE_LEVEL_SD = 0.01  # the same for CPU and memory fractions
USAGE_PRIOR_SD = 0.02
IMPROVED_RATIO = 0.8
SPIKE_SDS = 4.0
MIN_AFTER_DESPIKE = 3


@dataclass(frozen=True, slots=True)
class _Shift:
    """Mean post-minus-baseline on some scale, with its standard error and degrees of freedom."""

    mean: float
    se: float
    post_se: float  # without the baseline's share: for comparisons with a fixed limit
    df: float
    values: tuple[float, ...]
    despiked: int


def _shift(
    window: Window,
    pre: tuple[Point, ...],
    post: tuple[Point, ...],
    scale: Callable[[Point], float],
    noise: Callable[[Point], float],
    floor_sd: float,
    prior_sd: float,
) -> _Shift:
    base = sum(scale(p) for p in pre) / len(pre)
    values = tuple(scale(p) - base for p in post)
    kept = _despiked(values, window.span, floor_sd)
    post = tuple(p for p, keep in zip(post, kept, strict=True) if keep)
    judged = tuple(v for v, keep in zip(values, kept, strict=True) if keep)
    post_noise = sum(noise(p) for p in post) / len(post)
    n_eff, m_eff = window.effective(post), window.effective(pre)
    level, df = moderated(max(floor_sd**2, sample_variance(judged) - post_noise), n_eff, prior_sd)
    post_var = (level + post_noise) / n_eff
    base_var = (level + sum(noise(p) for p in pre) / len(pre)) / m_eff
    return _Shift(
        sum(judged) / len(judged),
        math.sqrt(post_var + base_var),
        math.sqrt(post_var),
        df,
        values,
        len(values) - len(judged),
    )


def _despiked(values: tuple[float, ...], span: int, floor_sd: float) -> list[bool]:
    """Which samples to judge: all but one run of `span` samples (one burst's reach) standing out by
    more than SPIKE_SDS robust standard deviations from the others. One spike must neither raise a
    warning nor widen the interval until nothing is detectable."""
    keep = [True] * len(values)
    if len(values) < span + MIN_AFTER_DESPIKE:
        return keep
    centre = statistics.median(values)
    start = max(range(len(values) - span + 1), key=lambda i: abs(sum(values[i : i + span]) - span * centre))
    rest = values[:start] + values[start + span :]
    middle = statistics.median(rest)
    spread = max(floor_sd, 1.4826 * statistics.median(abs(v - middle) for v in rest))
    run_mean = sum(values[start : start + span]) / span
    if abs(run_mean - middle) > SPIKE_SDS * spread:
        keep[start : start + span] = [False] * span
    return keep


def judge_latency(window: Window, s: PolicySettings, critical: bool) -> Judgement:
    pre = tuple(p for p in window.pre if p.requests >= 1 and p.sample.latency_p95 > 0)
    post = tuple(p for p in window.post if p.requests >= 1 and p.sample.latency_p95 > 0)
    if not pre or not post:
        return unjudged("latency_p95", None, critical, "no_baseline_requests" if not pre else "no_requests")
    warn_log, roll_log = math.log(s.latency_warn_ratio), math.log(s.latency_rollback_ratio)
    parts = segments(post)
    aw, af = s.alpha_warn / len(parts), s.alpha_fail / len(parts)

    def shift(pts: tuple[Point, ...]) -> _Shift:
        return _shift(
            window,
            pre,
            pts,
            lambda p: math.log(p.sample.latency_p95),
            lambda p: P95_NOISE**2 / p.requests,
            LATENCY_LEVEL_SD,
            LATENCY_PRIOR_SD,
        )

    baseline = math.exp(sum(math.log(p.sample.latency_p95) for p in pre) / len(pre))
    results: list[SegmentResult] = []
    for name, pts in parts:
        sh = shift(pts)
        p_warn = t_sf((sh.mean - warn_log) / sh.se, sh.df)
        above_floor = baseline * math.exp(sh.mean) >= s.latency_floor_ms
        # A rollback needs ×rollback to be plausible (inside the 90% interval or below the estimate), not
        # proven: with one pre sample, proving ×2 would miss most real doublings.
        plausible = sh.mean + t_ppf(0.95, sh.df) * sh.se >= roll_log
        exceed = sum(1 for v in sh.values if v > warn_log)
        status = PASS
        if above_floor and p_warn <= aw:
            status = WARN
            if p_warn <= af and plausible and exceed >= needed(s.persistence, len(pts), window.span):
                status = FAIL
        results.append(SegmentResult(status, p_warn, name, exceed, len(pts), sh.se))
    seg = pick(results)
    status, p_value = seg.status, seg.p
    flags = {"relative"} if status != PASS else set()

    sh = shift(post)
    observed = baseline * math.exp(sh.mean)
    limit_log = math.log(s.latency_p95_limit_ms / baseline)
    p_abs = t_sf((sh.mean - limit_log) / sh.post_se, sh.df)
    if status == PASS and p_abs <= aw:
        status, p_value, flags = WARN, p_abs, {"absolute"}
    if baseline > s.latency_p95_limit_ms:
        flags.add("degraded_baseline")
    if t_sf((math.log(IMPROVED_RATIO) - sh.mean) / sh.se, sh.df) <= aw:
        flags.add("improved")
    mde_log = warn_log + (t_ppf(1.0 - aw, sh.df) + t_ppf(POWER, sh.df)) * sh.se
    power = power_of(mde_log, math.log(s.max_detectable_latency_ratio), sh.se)
    if (
        status == PASS
        and mde_log > math.log(s.max_detectable_latency_ratio)
        and observed >= s.latency_floor_ms
    ):
        status = INCONCLUSIVE
    t90 = t_ppf(0.95, sh.df)
    ratio = math.exp(sh.mean)
    interval = (ratio * math.exp(-t90 * sh.se), ratio * math.exp(t90 * sh.se))
    tokens = (
        ("baseline", f"{baseline:.0f}ms"),
        ("observed", f"{observed:.0f}ms"),
        ("ratio", num(ratio)),
        ("ci90", f"[{num(interval[0])},{num(interval[1])}]"),
        ("threshold", f"warn>{num(s.latency_warn_ratio)}x,rollback>={num(s.latency_rollback_ratio)}x"),
        ("limit", f"{s.latency_p95_limit_ms:.0f}ms"),
        ("floor", f"{s.latency_floor_ms:.0f}ms"),
        ("p", p_text(p_value)),
        ("segment", seg.name),
        ("persistent", f"{seg.persistent}/{seg.count}"),
        ("despiked", str(sh.despiked)),
        ("mde", f"x{num(math.exp(mde_log))}"),
    )
    comparison = MetricComparison(
        "latency_p95",
        baseline,
        observed,
        baseline * s.latency_warn_ratio,
        seg.persistent / seg.count,
        s.persistence,
        status in (WARN, FAIL),
        critical,
        status=status,
        test="ratio_test",
        change=ratio,
        interval=interval,
        p_value=p_value,
        min_detectable=math.exp(mde_log),
        evidence={"segment": seg.name, "sequences": seg.count, "limit_ms": s.latency_p95_limit_ms},
    )
    summary = f"latency p95 x{ratio:.2f} ({observed:.0f} ms vs {baseline:.0f} ms)"
    return Judgement(comparison, tokens, "ratio_test", summary, frozenset(flags), p_value, power)


def judge_usage(window: Window, s: PolicySettings, metric: str, critical: bool) -> Judgement:
    """CPU or memory: up by more than a margin against the baseline, or above the absolute limit."""
    if not window.pre or not window.post:
        return unjudged(metric, None, critical, "no_baseline" if not window.pre else "no_samples")
    limit = s.cpu_limit if metric == "cpu_usage" else s.memory_limit
    min_increase = s.cpu_min_increase if metric == "cpu_usage" else s.memory_min_increase
    baseline = sum(p.sample.value(metric) for p in window.pre) / len(window.pre)
    ratio_margin = (s.cpu_warn_ratio - 1.0) * baseline if metric == "cpu_usage" else 0.0
    margin = max(min_increase, ratio_margin)
    parts = segments(window.post)
    aw, af = s.alpha_warn / len(parts), s.alpha_fail / len(parts)

    def shift(pts: tuple[Point, ...]) -> _Shift:
        return _shift(
            window,
            window.pre,
            pts,
            lambda p: p.sample.value(metric),
            lambda p: 0.0,
            USAGE_LEVEL_SD,
            USAGE_PRIOR_SD,
        )

    results: list[SegmentResult] = []
    for name, pts in parts:
        sh = shift(pts)
        p_rel = t_sf((sh.mean - margin) / sh.se, sh.df)
        p_abs = t_sf((baseline + sh.mean - limit) / sh.post_se, sh.df)
        exceed = sum(1 for v in sh.values if v > margin)
        status = WARN if p_rel <= aw or p_abs <= aw else PASS
        # A deploy that pushes usage past the limit (not one that found it there) fails the metric.
        if p_rel <= af and p_abs <= aw and exceed >= needed(s.persistence, len(pts), window.span):
            status = FAIL
        results.append(SegmentResult(status, min(p_rel, p_abs), name, exceed, len(pts), sh.se))
    seg = pick(results)
    status, p_value = seg.status, seg.p
    sh = shift(window.post)
    observed = baseline + sh.mean
    flags = set()
    if status != PASS:
        flags.add("absolute" if observed > limit else "relative")
    if baseline > limit:
        flags.add("degraded_baseline")
    mde = margin + (t_ppf(1.0 - aw, sh.df) + t_ppf(POWER, sh.df)) * sh.se
    tokens = (
        ("baseline", f"{baseline * 100:.1f}%"),
        ("observed", f"{observed * 100:.1f}%"),
        ("change", f"{sh.mean * 100:+.1f}pp"),
        ("threshold", f"+{margin * 100:.1f}pp"),
        ("limit", f"{limit * 100:.0f}%"),
        ("p", p_text(p_value)),
        ("segment", seg.name),
        ("persistent", f"{seg.persistent}/{seg.count}"),
        ("despiked", str(sh.despiked)),
        ("mde", f"+{mde * 100:.1f}pp"),
    )
    comparison = MetricComparison(
        metric,
        baseline,
        observed,
        limit,
        seg.persistent / seg.count,
        s.persistence,
        status in (WARN, FAIL),
        critical,
        status=status,
        test="level_test",
        change=sh.mean,
        interval=(sh.mean - 2 * sh.se, sh.mean + 2 * sh.se),
        p_value=p_value,
        min_detectable=mde,
        evidence={"segment": seg.name, "margin": margin, "limit": limit},
    )
    label = "CPU" if metric == "cpu_usage" else "memory"
    summary = f"{label} {observed * 100:.0f}% vs {baseline * 100:.0f}% before"
    return Judgement(comparison, tokens, "level_test", summary, frozenset(flags), p_value)
