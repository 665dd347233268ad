"""The gateway's own measurements reach Postgres: per minute, summed across replicas, kept over a drain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.gateway.api_stats import BOUNDS_MS, ApiStats, quantile
from seqpulse.gateway.app import create_app
from seqpulse.gateway.config import GatewaySettings
from seqpulse.gateway.routes.founder import F
from tests.integration.gateway.gateway_harness import Harness
from tests.support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def test_two_replicas_add_their_counts_and_histograms_for_the_same_minute(gw: Harness) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)
    first, second = ApiStats(), ApiStats()
    for _ in range(3):
        first.record("GET /projects", 200, 0.004, now=at)
    second.record("GET /projects", 200, 0.004, now=at)
    second.record("GET /projects", 500, 0.3, now=at)
    assert await first.flush(gw.pool) == 1
    assert await second.flush(gw.pool) == 2
    async with gw.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT status_class, requests, buckets FROM api_request_minutes ORDER BY status_class"
        )
        summed = await conn.fetchrow(F.api_latency_buckets, at - timedelta(minutes=1))
    assert [(r["status_class"], r["requests"]) for r in rows] == [("2xx", 4), ("5xx", 1)]
    assert rows[0]["buckets"][BOUNDS_MS.index(5)] == 4
    assert sum(summed["buckets"]) == 5
    assert quantile(summed["buckets"], 0.5) is not None and quantile(summed["buckets"], 0.5) <= 5


async def test_a_failed_flush_keeps_the_counts_for_the_next_one(gw: Harness) -> None:
    stats = ApiStats()
    stats.record("GET /health", 200, 0.001)

    class Broken:
        def acquire(self) -> object:
            raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        await stats.flush(Broken())  # type: ignore[arg-type]
    assert await stats.flush(gw.pool) == 1
    async with gw.pool.acquire() as conn:
        assert await conn.fetchval("SELECT sum(requests) FROM api_request_minutes") == 1


async def test_requests_answered_by_the_gateway_are_measured_and_flushed_at_shutdown(
    gateway_settings: GatewaySettings, gw: Harness
) -> None:
    settings = gateway_settings.model_copy(update={"api_stats_flush_seconds": 3600.0})
    async with TestClient(TestServer(create_app(settings), host="127.0.0.1")) as client:
        assert (await client.get("/livez")).status == 200
        assert (await client.get("/projects")).status == 401
        assert (await client.get("/static/css/app.css")).status == 200
    # The hour-long interval never elapsed: the shutdown's last flush wrote these.
    async with gw.pool.acquire() as conn:
        rows = await eventually(
            lambda: conn.fetch("SELECT route, status_class, requests FROM api_request_minutes ORDER BY route")
        )
    routes = {(r["route"], r["status_class"]): r["requests"] for r in rows}
    assert routes[("GET /livez", "2xx")] == 1
    assert routes[("GET /projects", "4xx")] == 1
    assert not any(route.startswith("GET /static") for route, _ in routes)
