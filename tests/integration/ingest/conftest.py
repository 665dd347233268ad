"""Ingest fixtures: the service in-process on the suite's NATS and Postgres, events, and what got stored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import REGISTRY

from seqpulse.common.bus import Bus
from seqpulse.common.bus.streams import INGEST_EVENTS
from seqpulse.common.messages import ProductEvent
from seqpulse.common.messages.product import pseudonymise
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings
from seqpulse.ingest.partitions import Clock, utc_now
from tests.support import eventually

ANALYTICS_KEY = b"test-analytics-key-0123456789abcdef"


def user_key(name: str) -> str:
    return pseudonymise(name, ANALYTICS_KEY)


def product_event(
    occurred_at: datetime | None = None, *, user: str | None = "alice", **fields: Any
) -> ProductEvent:
    """A `user_login` by `user`, now unless told otherwise; received when it occurred."""
    at = occurred_at or datetime.now(UTC)
    values: dict[str, Any] = {
        "event_name": "user_login",
        "occurred_at": at,
        "received_at": at,
        "user_key": user_key(user) if user else None,
        "source": "http",
    }
    return ProductEvent.model_validate(values | fields)


def counter(outcome: str) -> float:
    """The process-wide `seqpulse_ingest_events_total{outcome}` (compare before and after)."""
    return REGISTRY.get_sample_value("seqpulse_ingest_events_total", {"outcome": outcome}) or 0.0


@dataclass
class Ingest:
    """Starts ingest services for one test and looks at what they stored."""

    bus: Bus
    pool: asyncpg.Pool[Any]
    env: dict[str, Any]
    services: list[IngestService] = field(default_factory=list)

    async def start(self, *, clock: Clock = utc_now, **settings: Any) -> IngestService:
        options = {
            "ingest_batch_max_wait_seconds": 0.1,
            "ingest_rollup_interval_seconds": 0.05,
            "db_pool_max": 4,
        } | settings
        service = IngestService(IngestSettings(**self.env, **options), clock=clock)
        await service.start()
        self.services.append(service)
        return service

    async def stop_all(self) -> None:
        for service in reversed(self.services):
            await service.stop()

    async def publish(self, *events: ProductEvent) -> None:
        for event in events:
            await self.bus.publish(event)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def stored(self) -> int:
        return int((await self.fetch("SELECT count(*) AS n FROM product_events"))[0]["n"])

    async def has_stored(self, n: int) -> bool:
        return await self.stored() >= n

    async def backlog(self) -> int:
        """Batches committed and not folded into the rollups yet (rows of the backlog)."""
        return int((await self.fetch("SELECT count(*) AS n FROM rollup_backlog"))[0]["n"])

    async def folded(self) -> None:
        """Waits until the rollup stage has folded every summary committed (the rollups are complete)."""
        await eventually(self._backlog_empty)

    async def _backlog_empty(self) -> bool:
        return await self.backlog() == 0

    async def activity(self) -> dict[tuple[date, str], int]:
        """The daily activity, once every committed summary is folded."""
        await self.folded()
        rows = await self.fetch("SELECT day, user_key, events FROM user_daily_activity")
        return {(r["day"], r["user_key"]): r["events"] for r in rows}

    async def partitions(self) -> list[str]:
        rows = await self.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'product_events'::regclass ORDER BY 1"
        )
        return [r["relname"] for r in rows]

    async def drained(self) -> bool:
        """Every published event delivered and settled (acked or terminated)."""
        info = await self.bus.js.consumer_info(
            INGEST_EVENTS.stream_spec().name(self.bus.prefix), INGEST_EVENTS.durable
        )
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    async def set_ack_wait(self, seconds: float) -> None:
        """Redeliver unacknowledged events after `seconds` (30 s in production) so a crash test is quick."""
        await self.bus.js.add_consumer(
            INGEST_EVENTS.stream_spec().name(self.bus.prefix),
            ConsumerConfig(
                durable_name=INGEST_EVENTS.durable,
                filter_subject=self.bus.subject(INGEST_EVENTS.filter_subject),
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=seconds,
                max_deliver=INGEST_EVENTS.max_deliver,
                max_ack_pending=INGEST_EVENTS.max_ack_pending,
                num_replicas=1,
            ),
        )


@pytest.fixture
async def ingest(bus: Bus, pool: asyncpg.Pool[Any], service_env: dict[str, Any]) -> AsyncIterator[Ingest]:
    harness = Ingest(bus, pool, service_env)
    yield harness
    await harness.stop_all()


def event_uuid(event: ProductEvent) -> uuid.UUID:
    return uuid.UUID(event.message_id)
