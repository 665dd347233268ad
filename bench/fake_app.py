"""A customer app's `/seqpulse-metrics`, served in-process on 127.0.0.1: fast, always healthy."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

HEALTHY = {
    "requests_per_sec": 50.0,
    "latency_p95": 120.0,
    "error_rate": 0.001,
    "cpu_usage": 0.3,
    "memory_usage": 0.4,
}


@dataclass
class MetricsApp:
    url: str
    hits: int = 0


@contextlib.asynccontextmanager
async def metrics_app() -> AsyncIterator[MetricsApp]:
    state = MetricsApp(url="")
    body = {"metrics": HEALTHY}

    async def handle(_request: web.Request) -> web.Response:
        state.hits += 1
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/seqpulse-metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        state.url = f"http://127.0.0.1:{port}/seqpulse-metrics"
        yield state
    finally:
        await runner.cleanup()
