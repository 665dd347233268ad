"""A closed-loop HTTP load: a fixed list of requests, at most `concurrency` in flight, one client."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
import orjson


@dataclass(frozen=True, slots=True)
class Call:
    headers: dict[str, str]
    body: bytes


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    # "200 created", "200 existing", "429", "error: ClientOSError", …
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def post_all(
    url: str, calls: Sequence[Call], *, concurrency: int, time_limit: float = 120.0
) -> LoadResult:
    """POST every call to `url` (or as many as fit in `time_limit`), `concurrency` at a time."""
    result = LoadResult()
    pending = iter(calls)
    deadline = time.monotonic() + time_limit
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)

    async def worker(http: aiohttp.ClientSession) -> None:
        for call in pending:  # the shared iterator hands each call to exactly one worker
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                async with http.post(url, data=call.body, headers=call.headers) as response:
                    raw = await response.read()
                    outcome = str(response.status)
                    if response.status == 200:
                        outcome += f" {orjson.loads(raw).get('status')}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome = f"error: {type(exc).__name__}"
            result.latencies.append(time.perf_counter() - started)
            result.outcomes[outcome] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result
