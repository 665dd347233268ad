"""evidence-v1: a memory leak is a rising slope that would reach the limit soon, not a high reading.

Memory of a fresh process also rises while caches warm up; that curve flattens, a leak does not.
With enough sequences the second half must keep at least half the slope, which tells them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from seqpulse.analyzer.policies.evidence_judgement import degrees, format_detail, p_text
from seqpulse.analyzer.policies.evidence_window import Window
from seqpulse.analyzer.stats import ols_slope, t_sf
from seqpulse.common.policy_settings import PolicySettings

MIN_POINTS = 4
SUSTAIN_POINTS = 8  # from here on the second half is long enough to have a slope of its own
SUSTAIN_SHARE = 0.5
ABOVE_BASELINE = 0.02  # two points of memory: beyond a GC sawtooth, well within any real leak
ABOVE_BASELINE = 0.02  # two points of memory: beyond a GC sawtooth, well within any real leak


@dataclass(frozen=True, slots=True)
class Leak:
    found: bool
    slope_per_minute: float
    p_value: float
    minutes_to_limit: float
    sustained: bool
    detail: str


def detect_leak(window: Window, s: PolicySettings) -> Leak | None:
    """The least-squares slope of memory over the judged sequences, with a t test; None if too short."""
    points = window.post
    if len(points) < MIN_POINTS or points[-1].minutes <= points[0].minutes:
        return None
    xs = [p.minutes for p in points]
    ys = [p.sample.memory_usage for p in points]
    slope, se, fitted_last = ols_slope(xs, ys)
    df = degrees(len(points), fitted=2)
    if slope <= 0:
        p_value = 1.0
    elif se == 0:
        p_value = 0.0
    else:
        p_value = t_sf(slope / se, df)
    minutes = (s.memory_limit - fitted_last) / slope if slope > 0 else math.inf
    sustained = True
    if len(points) >= SUSTAIN_POINTS:
        half = len(points) // 2
        late_slope, _, _ = ols_slope(xs[half:], ys[half:])
        sustained = late_slope >= SUSTAIN_SHARE * slope
    # A fresh process starts below the old one's memory and climbs back: only growth past the
    # pre-deploy level can be a leak. Measured on the last third, not the line, which overshoots
    # a flattening warm-up curve.
    baseline = sum(p.sample.memory_usage for p in window.pre) / len(window.pre) if window.pre else 0.0
    tail = ys[-max(2, len(ys) // 3) :]
    above = sum(tail) / len(tail) > baseline + ABOVE_BASELINE
    found = (
        p_value <= s.alpha_warn
        and slope > 0
        and minutes <= s.memory_leak_horizon_minutes
        and sustained
        and above
    )
    tokens = (
        ("slope", f"{slope * 100:+.3f}pp/min"),
        ("p", p_text(p_value)),
        ("limit_in", f"{max(0.0, minutes):.0f}min" if math.isfinite(minutes) else "never"),
        ("horizon", f"{s.memory_leak_horizon_minutes:.0f}min"),
        ("sustained", "yes" if sustained else "no"),
        ("above_baseline", "yes" if above else "no"),
    )
    status = "warn" if found else "pass"
    detail = format_detail("memory_usage", "slope_test", tokens, status)
    return Leak(found, slope, p_value, minutes, sustained, detail)
