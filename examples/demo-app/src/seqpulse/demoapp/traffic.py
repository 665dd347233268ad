"""Open-loop load generator: real HTTP requests to the app's own /api/work with Poisson arrivals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp

log = logging.getLogger(__name__)

WORK_PATH = "/api/work"
# When the effective rate is zero there is nothing to schedule; look again this often for a change.
IDLE_RECHECK_SECONDS = 0.25
# Open loop means a slow server piles up requests; past this many in flight new arrivals are dropped
# (and counted) instead of growing without bound.
MAX_IN_FLIGHT = 256


@dataclass(slots=True)
class TrafficCounters:
    sent: int = 0
    failed: int = 0
    dropped: int = 0


class TrafficGenerator:
    """Sends ``GET /api/work`` at ``rate x fraction()`` requests per second once a target is bound.

    Arrivals do not wait for earlier responses, as real users would not: an injected latency raises the
    measured latency instead of quietly lowering the request rate.
    """

    def __init__(
        self,
        rate: float,
        *,
        fraction: Callable[[], float] = lambda: 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.rate = rate
        self._fraction = fraction
        self._rng = rng or random.Random()
        self._target = asyncio.get_running_loop().create_future()
        self._in_flight: set[asyncio.Task[None]] = set()
        self.counters = TrafficCounters()

    @property
    def effective_rate(self) -> float:
        return self.rate * self._fraction()

    @property
    def target(self) -> str | None:
        return self._target.result() if self._target.done() else None

    def bind(self, base_url: str) -> None:
        """Start sending to ``base_url``; known only once the server listens (port 0 picks one late)."""
        if self._target.done():
            raise RuntimeError("traffic target already bound")
        self._target.set_result(base_url.rstrip("/") + WORK_PATH)

    async def run(self) -> None:
        url = await self._target
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                while True:
                    rate = self.effective_rate
                    if rate <= 0:
                        await asyncio.sleep(IDLE_RECHECK_SECONDS)
                        continue
                    await asyncio.sleep(self._rng.expovariate(rate))
                    if len(self._in_flight) >= MAX_IN_FLIGHT:
                        self.counters.dropped += 1
                        continue
                    task = asyncio.create_task(self._send(session, url))
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
            finally:
                # The session closes next; requests still running would only fail against it.
                for task in list(self._in_flight):
                    task.cancel()
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _send(self, session: aiohttp.ClientSession, url: str) -> None:
        self.counters.sent += 1
        try:
            async with session.get(url) as response:
                await response.read()
                if response.status >= 500:
                    self.counters.failed += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.counters.failed += 1
            log.debug("self-traffic request failed: %r", exc)


@contextlib.asynccontextmanager
async def running(generator: TrafficGenerator) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Run ``generator`` in the background for the duration of the block; yields an early `stop`."""
    task = asyncio.create_task(generator.run(), name="seqpulse-demo-traffic")
    task.add_done_callback(_log_crash)

    async def stop() -> None:
        task.cancel()
        # wait() rather than awaiting the task: a cancellation aimed at us must not be swallowed.
        await asyncio.wait([task])

    try:
        yield stop
    finally:
        await stop()


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("traffic generator stopped", exc_info=exc)
