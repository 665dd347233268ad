"""Composition root of the collector: settings, connections, consumer, scheduler, outbox relay."""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg

from seqpulse.collector.config import CollectorSettings
from seqpulse.collector.handlers import DeploymentHandlers
from seqpulse.collector.repository import OUTBOX, CollectorRepository
from seqpulse.collector.scheduler import JobScheduler
from seqpulse.common.bus import Bus, Consumer, route
from seqpulse.common.bus.streams import COLLECTOR_DEPLOYMENTS
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.db.pool import create_pool
from seqpulse.common.messages import DeploymentFinished, DeploymentTriggered
from seqpulse.common.runtime import Service


class CollectorService(Service):
    name = "collector"

    def __init__(self, settings: CollectorSettings) -> None:
        super().__init__()
        self.settings = settings
        self.pool: asyncpg.Pool[Any] | None = None
        self.bus: Bus | None = None

    async def start(self) -> None:
        s = self.settings
        self.pool = pool = await create_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
        self.on_stop("db pool", pool.close)
        listen_conn = await asyncpg.connect(s.database_url)
        self.on_stop("listen connection", listen_conn.close)
        self.bus = bus = await Bus.connect(s.nats_url, s.bus_prefix, name="seqpulse-collector")
        self.on_stop("nats", bus.close)
        http = aiohttp.ClientSession()
        self.on_stop("http client", http.close)

        repo = CollectorRepository(pool, s.bus_prefix)
        relay = OutboxRelay(pool, bus, OUTBOX)
        scheduler = JobScheduler(s, repo, http, relay, listen_conn)
        handlers = DeploymentHandlers(repo, s.sequence_seconds, scheduler.wake, relay.wake)
        consumer = Consumer(
            bus,
            COLLECTOR_DEPLOYMENTS,
            [
                route(DeploymentTriggered, handlers.on_triggered),
                route(DeploymentFinished, handlers.on_finished),
            ],
        )
        # Stop order on drain: stop taking messages, finish probes, then flush the outbox.
        self.spawn(relay.run(), "outbox relay", relay.stop)
        self.spawn(scheduler.run(), "scheduler", scheduler.stop)
        self.spawn(consumer.run(), "consumer", consumer.stop)
        await super().start()
