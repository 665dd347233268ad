"""How apps measure, simulated: Poisson requests in 5 s buckets, binomial errors, lognormal latencies,
each sample the app's own 60 s sliding window (reset when the new version's process starts).

The collector's schedule is reproduced: one pre sample at trigger time, post[i] at finish + i x seq.
Latency p95 is drawn exactly as an order statistic (the SDK's lower nearest rank) of the window's
requests, so a p95 from 12 requests is as noisy as a real one. Every draw comes from one seeded RNG.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.corpus.scenarios import Scenario
from seqpulse.analyzer.model import AnalysisInput, Sample

BUCKET = 5.0
APP_WINDOW = 60.0
EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
SLOW_SHARE, SLOW_FACTOR = 0.02, 4.0  # a slow tail (cache misses, retries) on top of the lognormal body


@dataclass(slots=True)
class _Bucket:
    start: float
    requests: int
    errors: int
    log_median: float


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n < 40:
        return sum(1 for _ in range(n) if rng.random() < p)
    if n * p < 30:
        return min(n, _poisson(rng, n * p))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


class _Ar:
    """A stationary AR(1) wobble in log space, so levels drift minute to minute as real ones do."""

    def __init__(self, rng: random.Random, sd: float, correlation_seconds: float) -> None:
        self.rng, self.sd = rng, sd
        self.rho = math.exp(-BUCKET / correlation_seconds)
        self.value = rng.gauss(0.0, sd)

    def step(self) -> float:
        self.value = self.rho * self.value + math.sqrt(1 - self.rho**2) * self.rng.gauss(0.0, self.sd)
        return self.value


def _p95_quantile(u: float, sigma: float) -> float:
    """The u-quantile (log scale, body median 0) of the body-plus-slow-tail latency mixture."""
    shift, low, high = math.log(SLOW_FACTOR), -8.0 * sigma, 8.0 * sigma + math.log(SLOW_FACTOR)
    scale = sigma * math.sqrt(2.0)
    for _ in range(30):
        mid = (low + high) / 2
        cdf = (1 - SLOW_SHARE) * 0.5 * math.erfc(-mid / scale) + SLOW_SHARE * 0.5 * math.erfc(
            -(mid - shift) / scale
        )
        low, high = (mid, high) if cdf < u else (low, mid)
    return (low + high) / 2


def simulate(sc: Scenario) -> AnalysisInput:
    rng = random.Random(sc.seed)
    seq, n = float(sc.sequence_seconds), sc.window
    deploy = rng.uniform(60.0, 240.0)
    restart = -rng.uniform(2.0, 20.0)
    trigger = -deploy
    pre_times = [trigger - APP_WINDOW * (sc.pre_count - 1 - i) for i in range(sc.pre_count)]
    post_times = [i * seq + rng.uniform(0.0, 1.5) for i in range(n)]
    start = pre_times[0] - APP_WINDOW - BUCKET
    trend = rng.gauss(0.0, 0.05) / 3600.0
    if "traffic_ramp" in sc.tags:
        trend = rng.choice((-1, 1)) * rng.uniform(0.2, 0.4) / 3600.0
    traffic = _Ar(rng, rng.uniform(0.03, 0.12), 120.0)
    error_wobble = _Ar(rng, 0.3, 60.0)
    latency_wobble = _Ar(rng, rng.uniform(0.03, 0.10), 90.0)
    sigma = sc.latency_sigma
    log_median = math.log(sc.latency_p95_ms) - 1.645 * sigma
    on_minutes = {m for m in range(n * int(seq) // 60 + 2) if rng.random() < 0.3}
    burst_at = rng.uniform(seq, max(2 * seq, n * seq))
    spike_at = rng.uniform(seq, max(2 * seq, n * seq))
    cold_len, cold_factor = rng.uniform(60.0, 150.0), rng.uniform(1.5, 3.0)
    pre_burst = rng.uniform(1.3, 1.8)

    def strength(t: float) -> float:
        if t < restart:
            return 0.0
        if sc.shape == "delayed":
            return 1.0 if t >= sc.onset_sequence * seq else 0.0
        if sc.shape == "ramp":
            return min(1.0, (t - restart) / (n * seq))
        if sc.shape == "intermittent":
            return 1.0 if int((t - restart) // 60) in on_minutes else 0.0
        return 1.0

    buckets: list[_Bucket] = []
    t = start
    while t <= post_times[-1]:
        f = strength(t)
        rate = sc.rps * math.exp(trend * t + traffic.step())
        if "idle_baseline" in sc.tags and t < restart:
            rate = 0.0
        if "baseline_burst" in sc.tags and trigger - APP_WINDOW < t <= trigger:
            rate *= pre_burst
        p = sc.error_base * math.exp(error_wobble.step() - 0.045)
        level = log_median + latency_wobble.step()
        for e in sc.effects:
            if e.metric == "requests_per_sec":
                rate *= max(0.0, 1.0 - f * e.size)
            elif e.metric == "error_rate":
                p = p + f * e.size if e.kind == "abs" else p * (1 + f * (e.size - 1))
            elif e.metric == "latency_p95":
                level += math.log(1 + f * (e.size - 1))
        if "error_burst" in sc.tags and burst_at <= t < burst_at + 60:
            p += rng.uniform(0.05, 0.20)
        if "latency_spike" in sc.tags and spike_at <= t < spike_at + 60:
            level += math.log(rng.uniform(3.0, 6.0))
        if "cold_start" in sc.tags and restart <= t < restart + cold_len:
            level += math.log(cold_factor) * (1 - (t - restart) / cold_len)
        count = _poisson(rng, rate * BUCKET)
        buckets.append(_Bucket(t, count, _binomial(rng, count, min(1.0, p)), level))
        t += BUCKET

    cpu_sd, memory_sd = rng.uniform(0.005, 0.03), rng.uniform(0.002, 0.01)
    warm_drop, warm_tau = rng.uniform(0.1, 0.5), rng.uniform(60.0, 240.0)

    def sample(at: float, index: int | None) -> Sample:
        born = restart if at >= restart else start
        inside = [b for b in buckets if at - APP_WINDOW < b.start + BUCKET <= at and b.start >= born]
        requests = sum(b.requests for b in inside)
        errors = sum(b.errors for b in inside)
        latency = 0.0
        if requests:
            mu = sum(b.log_median * b.requests for b in inside) / requests
            spread = sum((b.log_median - mu) ** 2 * b.requests for b in inside) / requests
            rank = math.floor(0.95 * (requests - 1)) + 1
            u = rng.betavariate(rank, requests - rank + 1)
            latency = math.exp(mu + _p95_quantile(u, math.sqrt(sigma**2 + spread)))
        f = strength(at)
        load = sc.rps * math.exp(trend * at)
        cpu = sc.cpu_base * (0.5 + 0.5 * (requests / APP_WINDOW) / max(load, 1e-9)) if load else sc.cpu_base
        memory = sc.memory_base
        if at >= restart:
            memory *= 1 - warm_drop * math.exp(-(at - restart) / warm_tau)
        for e in sc.effects:
            if e.metric == "cpu_usage":
                cpu *= 1 + f * (e.size - 1)
            elif e.metric == "memory_usage":
                memory += e.size * max(0.0, at - restart) / 60.0
        return Sample(
            EPOCH + timedelta(seconds=at),
            requests / APP_WINDOW,
            round(latency, 3),
            errors / requests if requests else 0.0,
            min(1.0, max(0.0, cpu + rng.gauss(0.0, cpu_sd))),
            min(1.0, max(0.0, memory + rng.gauss(0.0, memory_sd))),
            index,
        )

    pre = tuple(sample(at, 0) for at in pre_times)
    post = [sample(at, i) for i, at in enumerate(post_times)]
    analyzed_at = n * seq + max(seq, 5.0) + 2.0
    post, analyzed_at = _quality_faults(sc, rng, post, analyzed_at)
    return AnalysisInput(pre, tuple(post), n, int(seq), EPOCH + timedelta(seconds=analyzed_at))


def _quality_faults(
    sc: Scenario, rng: random.Random, post: list[Sample], analyzed_at: float
) -> tuple[list[Sample], float]:
    """What collection gets wrong: missed sequences, double inserts, skewed clocks, late analysis."""
    if "gaps" in sc.tags and len(post) > 2:
        lost = set(rng.sample(range(len(post)), max(1, round(len(post) * rng.uniform(0.2, 0.5)))))
        post = [s for i, s in enumerate(post) if i not in lost]
    if "duplicates" in sc.tags and post:
        for s in rng.sample(post, min(len(post), rng.randint(1, 3))):
            post.append(s)
        post.sort(key=lambda s: s.collected_at or EPOCH)
    if "future_timestamps" in sc.tags and post:
        skew = timedelta(minutes=rng.uniform(5, 15))
        cut = max(0, len(post) - rng.randint(1, 2))
        post = post[:cut] + [_shifted(s, skew) for s in post[cut:]]
    if "stale" in sc.tags:
        analyzed_at += rng.uniform(600.0, 1800.0)
    return post, analyzed_at


def _shifted(sample: Sample, skew: timedelta) -> Sample:
    at = sample.collected_at + skew if sample.collected_at else None
    return Sample(
        at,
        sample.requests_per_sec,
        sample.latency_p95,
        sample.error_rate,
        sample.cpu_usage,
        sample.memory_usage,
        sample.sequence_index,
    )
