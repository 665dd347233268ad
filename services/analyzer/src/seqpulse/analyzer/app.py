"""Composition root of the analyzer: pool, bus, window consumer and outbox relay."""

from __future__ import annotations

from typing import Any

import asyncpg

from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.analyzer.handlers import WindowHandlers
from seqpulse.analyzer.repository import OUTBOX, AnalyzerRepository
from seqpulse.common.bus import Bus, Consumer, route
from seqpulse.common.bus.streams import ANALYZER_WINDOWS
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.db.pool import create_pool
from seqpulse.common.messages import WindowClosed
from seqpulse.common.runtime import Service


class AnalyzerService(Service):
    name = "analyzer"

    def __init__(self, settings: AnalyzerSettings) -> None:
        super().__init__()
        self.settings = settings
        self.pool: asyncpg.Pool[Any] | None = None
        self.bus: Bus | None = None

    async def start(self) -> None:
        s = self.settings
        self.pool = pool = await create_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
        self.on_stop("db pool", pool.close)
        self.bus = bus = await Bus.connect(s.nats_url, s.bus_prefix, name="seqpulse-analyzer")
        self.on_stop("nats", bus.close)
        repo = AnalyzerRepository(pool, s.bus_prefix)
        relay = OutboxRelay(pool, bus, OUTBOX)
        handlers = WindowHandlers(repo, relay.wake, s.analyzer_default_policy)
        consumer = Consumer(bus, ANALYZER_WINDOWS, [route(WindowClosed, handlers.on_window_closed)])
        self.spawn(relay.run(), "outbox relay", relay.stop)
        self.spawn(consumer.run(), "consumer", consumer.stop)
        await super().start()
