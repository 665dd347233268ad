"""A fixed-window rate limiter for the CI API, per API key (100/min as in the original).

In-process on purpose: each gateway replica counts on its own, so N replicas allow up to N × the limit.
That matches the original's `memory://` limiter and needs no shared store; a stricter global limit
would need Redis or a Postgres counter, which the CI API's volume does not justify.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_in: float  # seconds until the current window ends

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_in))


class FixedWindowLimiter:
    """`limit` hits per `window` seconds per key; windows are aligned on the clock, like slowapi's."""

    def __init__(self, limit: int, *, window: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._counts: dict[Hashable, tuple[int, int]] = {}  # key -> (window index, hits)

    def hit(self, key: Hashable) -> Decision:
        now = self._clock()
        index = int(now // self.window)
        reset_in = (index + 1) * self.window - now
        current, hits = self._counts.get(key, (index, 0))
        if current != index:
            hits = 0
        if hits >= self.limit:
            return Decision(False, self.limit, 0, reset_in)
        self._counts[key] = (index, hits + 1)
        if len(self._counts) > 10_000:
            # Forget keys of past windows so the table stays bounded by the active keys.
            self._counts = {k: v for k, v in self._counts.items() if v[0] == index}
        return Decision(True, self.limit, self.limit - hits - 1, reset_in)
