"""Composition root of the collector: settings, connections, consumer, scheduler, outbox relay."""

from __future__ import annotations

import aiohttp
import asyncpg

from seqpulse.collector.config import CollectorSettings
from seqpulse.collector.handlers import DeploymentHandlers
from seqpulse.collector.repository import OUTBOX, CollectorRepository
from seqpulse.collector.scheduler import JobScheduler
from seqpulse.common.bus import Consumer, route
from seqpulse.common.bus.streams import COLLECTOR_DEPLOYMENTS
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.messages import DeploymentFinished, DeploymentTriggered
from seqpulse.common.runtime import Service


class CollectorService(Service):
    name = "collector"

    def __init__(self, settings: CollectorSettings) -> None:
        super().__init__()
        self.settings = settings

    async def start(self) -> None:
        s = self.settings
        pool = await self.open_pool(s)
        listen_conn = await asyncpg.connect(s.database_url)
        self.on_stop("listen connection", listen_conn.close)
        bus = await self.open_bus(s)
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
