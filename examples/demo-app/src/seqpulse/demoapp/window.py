"""Sliding-window request statistics: rate, p95 latency and error rate over the last N seconds."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Request statistics over one window."""

    requests_per_sec: float
    latency_p95_ms: float
    error_rate: float
    count: int


def p95(values: list[float]) -> float:
    """95th percentile by the public SDK's rule (lower nearest rank), so both report the same number."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[math.floor(0.95 * (len(ordered) - 1))]


class SlidingWindow:
    """Remembers each request of the last ``seconds`` seconds; memory is rate x window."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds <= 0:
            raise ValueError("window must be > 0 seconds")
        self.seconds = seconds
        self._clock = clock
        self._samples: deque[tuple[float, float, bool]] = deque()

    def record(self, latency_ms: float, *, error: bool) -> None:
        now = self._clock()
        self._samples.append((now, latency_ms, error))
        self._evict(now)

    def stats(self) -> WindowStats:
        self._evict(self._clock())
        count = len(self._samples)
        errors = sum(1 for _, _, error in self._samples if error)
        return WindowStats(
            # Divided by the full window even while the app is younger than it, as the SDK does: a fresh
            # process really has served fewer requests in the last window.
            requests_per_sec=count / self.seconds,
            latency_p95_ms=p95([latency for _, latency, _ in self._samples]),
            error_rate=errors / count if count else 0.0,
            count=count,
        )

    def _evict(self, now: float) -> None:
        cutoff = now - self.seconds
        while self._samples and self._samples[0][0] < cutoff:
            self._samples.popleft()
