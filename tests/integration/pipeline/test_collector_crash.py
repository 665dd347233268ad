"""A collector killed (SIGKILL) mid-window loses nothing and duplicates nothing after it restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import asyncpg
import pytest

from seqpulse.common.bus import Bus
from seqpulse.common.messages import WindowClosed
from tests.support import FakeApp, SeedFn, announce, eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


async def start_collector(service_env: dict[str, Any]) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": service_env["database_url"],
        "NATS_URL": service_env["nats_url"],
        "SEQPULSE_BUS_PREFIX": service_env["bus_prefix"],
        "SEQPULSE_SECRET_KEY": service_env["secret_key"],
        "SEQPULSE_SEQUENCE_SECONDS": "1",
        "SEQPULSE_COLLECTOR_LEASE_SECONDS": "1.5",
        "SEQPULSE_LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seqpulse.collector",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def post_samples(pool: asyncpg.Pool[Any]) -> list[int]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT sequence_index FROM metric_samples WHERE phase='post' ORDER BY 1")
    return [r["sequence_index"] for r in rows]


async def test_collector_killed_mid_window_collects_every_sequence_once_after_restart(
    service_env: dict[str, Any],
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    d = await seed(fake_app.url, window=6)
    closed: list[WindowClosed] = []

    async def on_closed(msg: Any) -> None:
        closed.append(WindowClosed.from_bytes(msg.data))

    sub = await bus.nc.subscribe(WindowClosed.subject(bus.prefix), cb=on_closed)
    first = await start_collector(service_env)
    try:
        await announce(bus, d)
        await eventually(lambda: _at_least(post_samples(pool), 2), timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    before = await post_samples(pool)
    assert len(before) < 6, "the kill must land mid-window for this test to mean anything"

    second = await start_collector(service_env)
    try:
        await eventually(lambda: _at_least(post_samples(pool), 6), timeout=30)
        await eventually(lambda: _truthy(len(closed) >= 1), timeout=15)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    await sub.unsubscribe()

    assert await post_samples(pool) == list(range(6))
    assert [c.reason for c in closed] == ["complete"]
    assert closed[0].collected_post == 6 and closed[0].collected_pre == 1
    async with pool.acquire() as conn:
        statuses = {r["status"] for r in await conn.fetch("SELECT status FROM collection_jobs")}
    assert statuses == {"done"}


async def _at_least(samples: Any, n: int) -> bool:
    return len(await samples) >= n


async def _truthy(value: bool) -> bool:
    return value
