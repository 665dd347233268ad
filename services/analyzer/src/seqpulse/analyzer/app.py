"""Composition root of the analyzer: pool, bus, window consumer and outbox relay."""

from __future__ import annotations

from typing import Any

import asyncpg
from nats.aio.msg import Msg

from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.analyzer.handlers import WindowHandlers
from seqpulse.analyzer.repository import OUTBOX, AnalyzerRepository
from seqpulse.analyzer.rpc import AnalysisRequests, respond
from seqpulse.common.bus import Bus, Consumer, route
from seqpulse.common.bus.streams import ANALYZER_WINDOWS
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.db.pool import create_pool
from seqpulse.common.messages import BacktestRequested, ReanalysisRequested, WindowClosed, rpc_subject
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
        requests = AnalysisRequests(repo, relay.wake, handlers.default_policy)
        # A queue group: every replica answers, each request goes to one of them.
        for name, model, handler in (
            ("reanalyze", ReanalysisRequested, requests.reanalyze),
            ("backtest", BacktestRequested, requests.backtest),
        ):

            async def on_request(msg: Msg, model: Any = model, handler: Any = handler) -> None:
                await respond(msg, model, handler)

            sub = await bus.nc.subscribe(rpc_subject(s.bus_prefix, name), queue="analyzer", cb=on_request)
            self.on_stop(f"{name} requests", sub.unsubscribe)
        self.spawn(relay.run(), "outbox relay", relay.stop)
        self.spawn(consumer.run(), "consumer", consumer.stop)
        await super().start()
