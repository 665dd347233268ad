"""evidence-v1: traffic, judged as request counts against the baseline rate, also at low traffic.

The original switched this check off below 0.5 req/s; counts keep it on: at 0.1 req/s, ten minutes
with no request at all is still strong evidence of a crash, while a 20% dip is not detectable.
"""

from __future__ import annotations

import math

from seqpulse.analyzer.model import MetricComparison
from seqpulse.analyzer.policies.evidence_judgement import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    POWER,
    SKIPPED,
    WARN,
    Judgement,
    SegmentResult,
    moderated,
    needed,
    p_text,
    pick,
    power_of,
    segments,
    unjudged,
)
from seqpulse.analyzer.policies.evidence_window import Point, Window
from seqpulse.analyzer.stats import binom_sf, sample_variance, t_ppf
from seqpulse.common.policy_settings import PolicySettings

TRAFFIC_LEVEL_SD = 0.05  # floor of minute-to-minute traffic wobble beyond Poisson noise
TRAFFIC_PRIOR_SD = 0.08  # the typical wobble, which short windows are shrunk towards


def judge_traffic(window: Window, s: PolicySettings, critical: bool) -> Judgement:
    n0 = sum(p.requests for p in window.pre)
    if not window.pre or not window.post:
        return unjudged("requests_per_sec", None, critical, "no_baseline" if not window.pre else "no_samples")
    rate0 = n0 / window.pre_seconds
    if n0 <= 0:
        return unjudged("requests_per_sec", 0.0, critical, "no_traffic_before_deploy", SKIPPED)
    keep = 1.0 - s.traffic_warn_drop
    parts = segments(window.post)
    aw, af = s.alpha_warn / len(parts), s.alpha_fail / len(parts)
    m0 = window.effective(window.pre)

    def information(pts: tuple[Point, ...]) -> tuple[float, float, float, float, float]:
        """Counts and their information once minute-to-minute wobble is added to Poisson noise."""
        n1, t1 = sum(p.requests for p in pts), sum(p.seconds for p in pts)
        logs = [math.log((p.requests + 0.5) / (rate0 * p.seconds + 0.5)) for p in pts]
        poisson = sum(1.0 / (p.requests + 0.5) for p in pts) / len(pts)
        own = max(TRAFFIC_LEVEL_SD**2, sample_variance(logs) - poisson)
        tau2, df = moderated(own, window.effective(pts), TRAFFIC_PRIOR_SD)
        info1 = 1.0 / (1.0 / (n1 + 0.5) + tau2 / window.effective(pts))
        info0 = 1.0 / (1.0 / (n0 + 0.5) + tau2 / m0)
        return n1, t1, info1, info0, df

    results: list[SegmentResult] = []
    for name, pts in parts:
        n1, t1, info1, info0, df = information(pts)
        # Shrink each side's counts to its information, then test post's share of the total against a
        # post rate of (1 - warn drop) x baseline: an exact test at low traffic, a wobble-aware one at high.
        k1, k0 = n1 * info1 / (n1 + 0.5), n0 * info0 / (n0 + 0.5)
        exp1, exp0 = t1 * info1 / (n1 + 0.5), window.pre_seconds * info0 / (n0 + 0.5)
        share0 = exp0 / (exp0 + keep * exp1)
        p_drop = binom_sf(k0, k0 + k1, share0) if k0 > 0 else 1.0
        se = math.sqrt(1.0 / info1 + 1.0 / info0)
        log_ratio = math.log(max(n1, 0.5) / t1 / rate0)
        halving_plausible = log_ratio - t_ppf(0.9, df) * se <= math.log(1.0 - s.traffic_rollback_drop)
        exceed = sum(1 for p in pts if p.requests < keep * rate0 * p.seconds)
        status = PASS
        if p_drop <= aw:
            status = WARN
            if p_drop <= af and halving_plausible and exceed >= needed(s.persistence, len(pts), window.span):
                status = FAIL
        results.append(SegmentResult(status, p_drop, name, exceed, len(pts), se))
    seg = pick(results)
    status, p_value = seg.status, seg.p

    n_all, t_all, info1, info0, df = information(window.post)
    rate1 = n_all / t_all
    expected = rate0 * t_all
    # The standard error if nothing had changed: post counts at the baseline rate, same wobble.
    wobble = 1.0 / info1 - 1.0 / (n_all + 0.5)
    se0 = math.sqrt(1.0 / (expected + 0.5) + wobble + 1.0 / info0)
    log_mde = math.log(keep) - (t_ppf(1.0 - aw, df) + t_ppf(POWER, df)) * se0
    mde = 1.0 - math.exp(log_mde)
    target = -math.log(max(1e-9, 1.0 - s.max_detectable_traffic_drop))
    power = power_of(-log_mde, target, se0)
    if status == PASS and mde > s.max_detectable_traffic_drop:
        status = INCONCLUSIVE
    se = math.sqrt(1.0 / info1 + 1.0 / info0)
    t90 = t_ppf(0.95, df)
    low, high = rate1 / rate0 * math.exp(-t90 * se), rate1 / rate0 * math.exp(t90 * se)
    tokens = (
        ("baseline", f"{rate0:.3g}rps"),
        ("observed", f"{rate1:.3g}rps"),
        ("change", f"{(rate1 / rate0 - 1) * 100:+.1f}%"),
        ("ci90", f"[{(low - 1) * 100:+.0f}%,{(high - 1) * 100:+.0f}%]"),
        (
            "threshold",
            f"warn>{s.traffic_warn_drop * 100:.0f}%,rollback>={s.traffic_rollback_drop * 100:.0f}%",
        ),
        ("p", p_text(p_value)),
        ("segment", seg.name),
        ("persistent", f"{seg.persistent}/{seg.count}"),
        ("mde", f"-{mde * 100:.0f}%"),
    )
    comparison = MetricComparison(
        "requests_per_sec",
        rate0,
        rate1,
        rate0 * keep,
        seg.persistent / seg.count,
        s.persistence,
        status in (WARN, FAIL),
        critical,
        status=status,
        test="drop_test",
        change=rate1 / rate0,
        interval=(low, high),
        p_value=p_value,
        min_detectable=-mde,
        evidence={"requests": round(n_all, 3), "baseline_requests": round(n0, 3), "segment": seg.name},
    )
    flags = frozenset({"relative"}) if status in (WARN, FAIL) else frozenset()
    summary = f"traffic {(rate1 / rate0 - 1) * 100:+.0f}% ({rate1:.3g} vs {rate0:.3g} req/s)"
    return Judgement(comparison, tokens, "drop_test", summary, flags, p_value, power)
