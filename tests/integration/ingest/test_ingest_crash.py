"""A crash or a database error between the COPY and the acks loses nothing and counts nothing twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from seqpulse.common.bus.batch import Envelope, Rejection
from seqpulse.common.messages import ProductEvent
from seqpulse.ingest.events import EventRecord, Row
from seqpulse.ingest.handlers import EventBatches
from seqpulse.ingest.repository import Hold, IngestRepository, Written
from tests.integration.ingest.conftest import Ingest, counter, product_event, user_key
from tests.support import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
YESTERDAY = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(9), UTC)
USERS = 7


def events(n: int) -> list[ProductEvent]:
    return [product_event(YESTERDAY + timedelta(seconds=i), user=f"user{i % USERS}") for i in range(n)]


async def assert_each_stored_and_counted_once(ingest: Ingest, n: int) -> None:
    assert await ingest.stored() == n
    expected = {(YESTERDAY.date(), user_key(f"user{u}")): len(range(u, n, USERS)) for u in range(USERS)}
    assert await ingest.activity() == expected


async def test_a_batch_committed_but_never_acknowledged_is_stored_and_counted_once_after_a_restart(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest.set_ack_wait(1.0)
    committed = asyncio.Event()
    original = EventBatches.on_batch

    async def commit_then_freeze(
        self: EventBatches, batch: Sequence[Envelope[EventRecord]]
    ) -> list[Rejection]:
        await original(self, batch)
        committed.set()
        await asyncio.Event().wait()  # the process dies here: no ack, no nak
        raise AssertionError("unreachable")

    monkeypatch.setattr(EventBatches, "on_batch", commit_then_freeze)
    first = await ingest.start(ingest_batch_size=30)
    await ingest.publish(*events(30))
    await asyncio.wait_for(committed.wait(), timeout=20)
    await first.stop(timeout=0.1)
    assert await ingest.stored() == 30
    monkeypatch.undo()

    duplicates = counter("duplicate")
    await ingest.publish(*events(50)[30:])
    await ingest.start()
    await eventually(ingest.drained, timeout=30)
    assert counter("duplicate") - duplicates == 30
    await assert_each_stored_and_counted_once(ingest, 50)


async def test_a_database_error_after_the_commit_naks_the_batch_and_the_redelivery_counts_nothing_twice(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = IngestRepository.write
    failures: list[int] = []

    async def commit_then_lose_the_connection(
        self: IngestRepository, rows: Sequence[Row], hold: Hold | None = None
    ) -> Written:
        written = await original(self, rows, hold)
        if not failures:
            failures.append(written.stored)
            raise ConnectionResetError("connection lost before the commit was confirmed")
        return written

    monkeypatch.setattr(IngestRepository, "write", commit_then_lose_the_connection)
    await ingest.publish(*events(40))
    await ingest.start(ingest_batch_size=40)
    await eventually(ingest.drained, timeout=30)
    assert failures == [40]
    await assert_each_stored_and_counted_once(ingest, 40)


async def test_a_database_error_before_the_commit_naks_the_batch_and_the_redelivery_stores_it(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = IngestRepository.write
    calls: list[int] = []

    async def fail_once(self: IngestRepository, rows: Sequence[Row], hold: Hold | None = None) -> Written:
        calls.append(len(rows))
        if len(calls) == 1:
            raise ConnectionResetError("database restarting")
        return await original(self, rows, hold)

    monkeypatch.setattr(IngestRepository, "write", fail_once)
    await ingest.publish(*events(25))
    await ingest.start(ingest_batch_size=25)
    await eventually(ingest.drained, timeout=30)
    assert calls[0] == 25 and sum(calls[1:]) == 25
    await assert_each_stored_and_counted_once(ingest, 25)


async def test_ingest_killed_mid_stream_stores_every_event_once_after_it_restarts(
    ingest: Ingest, service_env: dict[str, Any]
) -> None:
    await ingest.set_ack_wait(1.0)
    n = 3000
    publishing = asyncio.create_task(ingest.publish(*events(n)))
    first = await start_process(service_env)
    try:
        await eventually(lambda: ingest.has_stored(1), timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    await publishing
    assert await ingest.stored() < n, "the kill must land mid-stream for this test to mean anything"

    second = await start_process(service_env)
    try:
        await eventually(ingest.drained, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    await assert_each_stored_and_counted_once(ingest, n)


async def start_process(service_env: dict[str, Any]) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": service_env["database_url"],
        "NATS_URL": service_env["nats_url"],
        "SEQPULSE_BUS_PREFIX": service_env["bus_prefix"],
        "SEQPULSE_INGEST_BATCH_SIZE": "200",
        "SEQPULSE_INGEST_BATCH_MAX_WAIT_SECONDS": "0.05",
        "SEQPULSE_LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seqpulse.ingest",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
