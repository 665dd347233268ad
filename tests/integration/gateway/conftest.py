"""Gateway integration fixtures: the real app on real Postgres + NATS, and a tiny app serving metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.common.bus.client import Bus
from seqpulse.gateway.app import create_app
from seqpulse.gateway.config import GatewaySettings
from tests.integration.gateway.gateway_harness import FakeApp, Harness


@pytest.fixture
async def fake_app() -> AsyncIterator[FakeApp]:
    fake = FakeApp()
    app = web.Application()
    app.router.add_get("/seqpulse-metrics", fake.handle)
    app.router.add_get("/other-metrics", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("/seqpulse-metrics"))
    yield fake
    await server.close()


@pytest.fixture
def gateway_settings(database_url: str, nats_url: str, bus_prefix: str) -> GatewaySettings:
    return GatewaySettings(
        database_url=database_url,
        nats_url=nats_url,
        bus_prefix=bus_prefix,
        sequence_seconds=1.0,
        port=0,
        db_pool_max=4,
    )


@pytest.fixture
async def gw(gateway_settings: GatewaySettings, fake_app: FakeApp) -> AsyncIterator[Harness]:
    bus = await Bus.connect(gateway_settings.nats_url, gateway_settings.bus_prefix, name="test-setup")
    try:
        await bus.apply()
    finally:
        await bus.close()
    app = create_app(gateway_settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Harness(client=client, app=app, settings=gateway_settings, fake=fake_app)
