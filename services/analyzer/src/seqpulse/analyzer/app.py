"""Composition root of the analyzer: pool, bus, window consumer and outbox relay."""

from __future__ import annotations

from typing import Any

from nats.aio.msg import Msg

from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.analyzer.handlers import WindowHandlers
from seqpulse.analyzer.repository import OUTBOX, AnalyzerRepository
from seqpulse.analyzer.rpc import AnalysisRequests, respond
from seqpulse.common.bus import Consumer, route
from seqpulse.common.bus.streams import ANALYZER_WINDOWS
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.messages import BacktestRequested, ReanalysisRequested, WindowClosed, rpc_subject
from seqpulse.common.runtime import Service


class AnalyzerService(Service):
    name = "analyzer"

    def __init__(self, settings: AnalyzerSettings) -> None:
        super().__init__()
        self.settings = settings

    async def start(self) -> None:
        s = self.settings
        pool = await self.open_pool(s)
        bus = await self.open_bus(s)
        repo = AnalyzerRepository(pool, s.bus_prefix, pseudonym_key=s.pseudonym_key)
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
