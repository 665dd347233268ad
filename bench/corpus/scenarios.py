"""What each synthetic deployment is: traffic, window, baseline levels, injected change and hard cases.

The ground truth lives here and nowhere else. "Clear" regressions are defined up front, from the
injected effect and the data volume alone, never from what a policy answered.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

T = TypeVar("T")

STRATA = (("very_low", 0.05, 0.5), ("low", 0.5, 5.0), ("mid", 5.0, 50.0), ("high", 50.0, 1000.0))
WINDOWS = ((5, 0.30), (10, 0.35), (15, 0.20), (30, 0.15))
SHAPES = (("step", 0.60), ("delayed", 0.15), ("ramp", 0.15), ("intermittent", 0.10))
HEALTHY_TAGS = (
    "cold_start",  # first minutes slower (cold caches, JIT), then normal
    "error_burst",  # one minute of 5-20% errors, then normal
    "latency_spike",  # one minute at x3-x6 latency
    "traffic_ramp",  # traffic trending +-20-40% per hour (morning ramp, evening fall)
    "baseline_burst",  # the pre sample caught a traffic burst (x1.3-x1.8)
    "degraded_baseline",  # error rate 2-5% before and after
    "gaps",  # 20-50% of post samples never collected
    "stale",  # analysed 10-30 minutes after the last sample
    "duplicates",  # 1-3 post samples stored twice
    "future_timestamps",  # the last samples stamped minutes ahead
    "few_sequences",  # window of 2-3 sequences
    "idle_baseline",  # no traffic at all before the deploy
)
# (metric, kind, sizes, weight); kind: abs (+fraction), mult (x), drop (fraction lost), slope (/min)
GRID = (
    ("error_rate", "abs", (0.001, 0.005, 0.01, 0.02, 0.05, 0.20), 0.22),
    ("error_rate", "mult", (2.0, 5.0), 0.08),
    ("latency_p95", "mult", (1.1, 1.2, 1.5, 2.0, 3.0), 0.25),
    ("requests_per_sec", "drop", (0.10, 0.25, 0.50, 1.0), 0.20),
    ("cpu_usage", "mult", (1.2, 1.5, 2.0), 0.08),
    ("memory_usage", "slope", (0.001, 0.005, 0.02), 0.08),
    ("composite", "combo", (1.0,), 0.09),
)
COMPOSITES = {
    "partial_outage": (("error_rate", "abs", 0.05), ("requests_per_sec", "drop", 0.6)),
    "saturation": (("latency_p95", "mult", 2.0), ("cpu_usage", "mult", 1.8)),
    "degradation": (("error_rate", "abs", 0.03), ("latency_p95", "mult", 2.0)),
}
QUALITY_TAGS = frozenset({"gaps", "stale", "duplicates", "future_timestamps", "few_sequences"})


@dataclass(frozen=True, slots=True)
class Effect:
    metric: str
    kind: str
    size: float


@dataclass(frozen=True, slots=True)
class Scenario:
    index: int
    seed: int
    truth: str  # healthy | regression
    label: str
    effects: tuple[Effect, ...]
    shape: str
    onset_sequence: int
    rps: float
    stratum: str
    window: int
    sequence_seconds: int
    pre_count: int
    error_base: float
    latency_p95_ms: float
    latency_sigma: float
    cpu_base: float
    memory_base: float
    tags: tuple[str, ...]
    clear: bool  # a regression every policy should flag
    clear_user_facing: bool  # errors up, traffic down or latency x2: should be rolled back

    @property
    def judged_requests(self) -> float:
        """Requests in the post samples a policy can judge (post[0] straddles the restart)."""
        warm = math.ceil(60 / self.sequence_seconds)
        return self.rps * min(60, self.sequence_seconds) * max(0, self.window - warm)


def _pick(rng: random.Random, weighted: Sequence[tuple[T, float]]) -> T:
    roll, total = rng.random() * sum(w for _, w in weighted), 0.0
    for item, weight in weighted:
        total += weight
        if roll <= total:
            return item
    return weighted[-1][0]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def sample_scenarios(seed: int, healthy: int, regressions: int) -> list[Scenario]:
    rng = random.Random(seed)
    return [
        _scenario(rng, index, seed * 1_000_003 + index, "healthy" if index < healthy else "regression")
        for index in range(healthy + regressions)
    ]


def _scenario(rng: random.Random, index: int, seed: int, truth: str) -> Scenario:
    stratum, low, high = STRATA[rng.randrange(len(STRATA))]
    rps = _log_uniform(rng, low, high)
    window = _pick(rng, WINDOWS)
    sequence_seconds = 60 if rng.random() < 0.85 else 30
    pre_count = 1 if rng.random() < 0.85 else 3
    error_base = 0.0 if rng.random() < 0.25 else _log_uniform(rng, 2e-4, 8e-3)
    # p95 below the 300 ms default limit: a project sets limits its healthy service meets.
    latency = _log_uniform(rng, 40.0, 250.0)
    effects: tuple[Effect, ...] = ()
    shape, label = "none", "healthy"
    tags: tuple[str, ...] = ()
    if truth == "healthy":
        if rng.random() < 0.5:
            count = 1 if rng.random() < 0.8 else 2
            tags = tuple(sorted(set(rng.sample(HEALTHY_TAGS, count))))
    else:
        metric, kind, sizes, _ = _pick(rng, [(g, g[3]) for g in GRID])
        if metric == "composite":
            name = rng.choice(sorted(COMPOSITES))
            effects = tuple(Effect(m, k, s) for m, k, s in COMPOSITES[name])
            label = name
        else:
            size = rng.choice(sizes)
            effects = (Effect(metric, kind, size),)
            label = _label(metric, kind, size)
            if metric == "error_rate" and kind == "mult":
                error_base = _log_uniform(rng, 2e-3, 2e-2)
        shape = _pick(rng, SHAPES)
        if any(e.kind == "drop" and e.size >= 1.0 for e in effects) or any(
            e.kind == "slope" for e in effects
        ):
            shape = "step"  # a crash is a crash; a leak is its own shape
        if rng.random() < 0.1:
            tags = (rng.choice(("cold_start", "traffic_ramp", "gaps")),)
    if "few_sequences" in tags:
        window = rng.choice((2, 3))
    if "idle_baseline" in tags:
        stratum, rps = "very_low", _log_uniform(rng, 0.05, 0.5)
    if "degraded_baseline" in tags:
        error_base = rng.uniform(0.02, 0.05)
    onset = rng.randint(2, max(2, window // 3 + 1)) if shape == "delayed" else 0
    scenario = Scenario(
        index=index,
        seed=seed,
        truth=truth,
        label=label,
        effects=effects,
        shape=shape,
        onset_sequence=onset,
        rps=rps,
        stratum=stratum,
        window=window,
        sequence_seconds=sequence_seconds,
        pre_count=pre_count,
        error_base=error_base,
        latency_p95_ms=latency,
        latency_sigma=rng.uniform(0.35, 0.9),
        cpu_base=rng.uniform(0.05, 0.6),
        memory_base=rng.uniform(0.2, 0.65),
        tags=tags,
        clear=False,
        clear_user_facing=False,
    )
    user_facing, any_clear = _clear(scenario)
    return replace(scenario, clear=any_clear, clear_user_facing=user_facing)


def _label(metric: str, kind: str, size: float) -> str:
    if kind == "abs":
        return f"{metric} +{size * 100:g}pp"
    if kind == "drop":
        return f"{metric} -{size * 100:g}%"
    if kind == "slope":
        return f"{metric} +{size * 1000:g}pp/10min"
    return f"{metric} x{size:g}"


def _clear(s: Scenario) -> tuple[bool, bool]:
    """Decided before any policy runs: effect well beyond every margin, enough data, a plain shape."""
    plain = s.shape == "step" or (s.shape == "delayed" and s.onset_sequence <= max(2, s.window // 3))
    usable = plain and s.window >= 6 and not (set(s.tags) & QUALITY_TAGS) and "idle_baseline" not in s.tags
    if not usable or s.truth != "regression":
        return False, False
    user_facing = any_clear = False
    for e in s.effects:
        if e.metric == "error_rate":
            # Above the 1% default limit the baseline is degraded: the contract is a warning there.
            increase = e.size if e.kind == "abs" else s.error_base * (e.size - 1)
            user_facing |= increase >= 0.05 and s.judged_requests >= 1000 and s.error_base < 0.01
        elif e.metric == "requests_per_sec":
            # A drop is measured against the baseline, so the baseline needs counts too (>= 5 rps
            # with one 60 s pre sample).
            baseline_requests = s.rps * 60 * s.pre_count
            user_facing |= e.size >= 0.5 and s.judged_requests >= 1000 and baseline_requests >= 300
        elif e.metric == "latency_p95":
            user_facing |= e.size >= 2.0 and s.rps >= 20 and s.latency_p95_ms >= 50
        elif e.metric == "cpu_usage":
            any_clear |= e.size >= 2.0 and s.cpu_base >= 0.2
        elif e.metric == "memory_usage":
            any_clear |= e.size >= 0.02
    return user_facing, user_facing or any_clear
