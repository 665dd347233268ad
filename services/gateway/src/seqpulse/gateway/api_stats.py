"""The gateway's request measurements, rolled up per minute into `api_request_minutes`.

Prometheus histograms live in each process and vanish with it; the Founder View needs 24 h of API errors
and latency across replicas, so each replica also adds its per-minute counts to Postgres every few
seconds. Percentiles are read back from the summed histogram (interpolated inside a bucket), which is
what Prometheus' `histogram_quantile` does too.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from seqpulse.common.db.pool import Pool
from seqpulse.common.logging import get_logger

log = get_logger(__name__)
# Upper bounds of the latency buckets in milliseconds; the last bucket is everything above.
BOUNDS_MS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
RETENTION_DAYS = 8


def status_class(status: int) -> str:
    return f"{min(max(status // 100, 2), 5)}xx"


@dataclass(slots=True)
class Cell:
    requests: int = 0
    latency_sum_ms: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))

    def add(self, latency_ms: float) -> None:
        self.requests += 1
        self.latency_sum_ms += latency_ms
        self.buckets[bisect.bisect_left(BOUNDS_MS, latency_ms)] += 1


Key = tuple[datetime, str, str]


class ApiStats:
    """Per-minute cells in memory; `flush` moves them to Postgres, adding to what other replicas wrote."""

    def __init__(self) -> None:
        self._cells: dict[Key, Cell] = {}

    def record(self, route: str, status: int, seconds: float, *, now: datetime | None = None) -> None:
        minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        key = (minute, route, status_class(status))
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = Cell()
        cell.add(seconds * 1000.0)

    def take(self) -> dict[Key, Cell]:
        cells, self._cells = self._cells, {}
        return cells

    def put_back(self, cells: dict[Key, Cell]) -> None:
        """After a failed flush: merge the cells back so the next flush carries them."""
        for key, cell in cells.items():
            mine = self._cells.setdefault(key, Cell())
            mine.requests += cell.requests
            mine.latency_sum_ms += cell.latency_sum_ms
            mine.buckets = [a + b for a, b in zip(mine.buckets, cell.buckets, strict=True)]

    async def flush(self, pool: Pool) -> int:
        cells = self.take()
        if not cells:
            return 0
        try:
            async with pool.acquire() as conn, conn.transaction():
                # One statement per cell keeps the array column simple; a minute has a few dozen cells.
                await conn.executemany(
                    """
                    INSERT INTO api_request_minutes
                        (minute, route, status_class, requests, latency_sum_ms, buckets)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (minute, route, status_class) DO UPDATE SET
                        requests = api_request_minutes.requests + EXCLUDED.requests,
                        latency_sum_ms = api_request_minutes.latency_sum_ms + EXCLUDED.latency_sum_ms,
                        buckets = (SELECT array_agg(a + b ORDER BY i)
                                   FROM unnest(api_request_minutes.buckets, EXCLUDED.buckets)
                                        WITH ORDINALITY AS u(a, b, i))
                    """,
                    [
                        (minute, route, klass, c.requests, c.latency_sum_ms, c.buckets)
                        for (minute, route, klass), c in cells.items()
                    ],
                )
                await conn.execute(
                    "DELETE FROM api_request_minutes WHERE minute < now() - make_interval(days => $1)",
                    RETENTION_DAYS,
                )
        except Exception:
            self.put_back(cells)
            raise
        return len(cells)

    async def run(self, pool: Pool, interval: float, stop: asyncio.Event) -> None:
        """Flush every `interval` seconds until `stop`, then once more so a drain loses nothing."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
            try:
                await self.flush(pool)
            except Exception:  # a database hiccup: the cells are kept for the next round
                log.exception("api_stats_flush_failed")


def quantile(buckets: Sequence[int], q: float) -> float | None:
    """The q-quantile in ms of a histogram over BOUNDS_MS, linearly interpolated within its bucket."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lower = BOUNDS_MS[index - 1] if index > 0 else 0.0
            if index >= len(BOUNDS_MS):
                return lower  # above the last bound: all we can say is "more than"
            upper = BOUNDS_MS[index]
            return lower + (upper - lower) * ((rank - seen) / count)
        seen += count
    return math.nan


API_STATS = web.AppKey("api_stats", ApiStats)
