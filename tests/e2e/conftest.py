"""The e2e stack: gateway, collector, analyzer and the demo app in-process, driven over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.common.bus import Bus
from seqpulse.common.db.pool import Pool
from seqpulse.demoapp.app import bind_traffic_target
from seqpulse.demoapp.app import create_app as create_demo_app
from seqpulse.demoapp.config import DemoAppSettings
from seqpulse.gateway.admin import create_token, create_user
from seqpulse.gateway.app import create_app as create_gateway
from seqpulse.gateway.config import GatewaySettings
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings
from tests.support import eventually

GEOIP_TEST_DB = Path(__file__).resolve().parents[2] / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"


class Stack:
    def __init__(self, base: str, http: aiohttp.ClientSession, token: str, demo: str) -> None:
        self.base = base
        self.http = http
        self.auth = {"Authorization": f"Bearer {token}"}
        self.demo = demo

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> dict[str, Any]:
        url = path if path.startswith("http") else f"{self.base}{path}"
        async with self.http.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None)
            assert response.status == expect, body
            return body  # type: ignore[no-any-return]

    async def project(self, name: str, *, hmac: bool) -> dict[str, Any]:
        project = await self.call(
            "POST",
            "/projects",
            expect=201,
            headers=self.auth,
            json={
                "name": name,
                "plan": "pro",
                "metrics_endpoint": f"{self.demo}/seqpulse-metrics",
                "window_sequences": 5,
            },
        )
        # One demo app serves every project of the test: it verifies signatures only for HMAC projects.
        if hmac:
            secret = await self.call("POST", f"/projects/{project['id']}/hmac/enable", headers=self.auth)
            await self.call("PUT", f"{self.demo}/admin/hmac", json={"secret": secret["hmac_secret"]})
        else:
            await self.call("DELETE", f"{self.demo}/admin/hmac")
        await self.call("POST", f"/projects/{project['id']}/endpoint/test", headers=self.auth)
        # The demo app measures over 1 s windows here (60 s in production): the policy must know.
        await self.call(
            "PUT",
            f"/projects/{project['id']}/policy",
            headers=self.auth,
            json={"settings": {"app_window_seconds": 1}},
        )
        return project

    async def deploy(self, project: dict[str, Any], regression: dict[str, Any] | None) -> dict[str, Any]:
        key = {"X-API-Key": project["api_key"]}
        trigger = await self.call("POST", "/deployments/trigger", headers=key, json={"env": "prod"})
        deployment_id = trigger["deployment_id"]
        await eventually(lambda: self._detail(deployment_id, lambda d: d["window"]["collected_pre"] >= 1))
        if regression:
            await self.call("PUT", f"{self.demo}/admin/regression", json=regression)
        finish = await self.call(
            "POST",
            "/deployments/finish",
            headers=key,
            json={"deployment_id": deployment_id, "result": "success"},
        )
        assert finish["status"] == "accepted"
        return await eventually(
            lambda: self._detail(deployment_id, lambda d: d["verdict"] is not None), timeout=40
        )

    async def _detail(self, deployment_id: str, done: Any) -> dict[str, Any] | None:
        body = await self.call("GET", f"/deployments/{deployment_id}", headers=self.auth)
        return body if done(body) else None


@pytest.fixture
async def stack(service_env: dict[str, Any], bus: Bus, pool: Pool) -> AsyncIterator[Stack]:
    collector = CollectorService(CollectorSettings(**service_env))
    analyzer = AnalyzerService(AnalyzerSettings(**service_env))
    ingest = IngestService(IngestSettings(**service_env, ingest_batch_max_wait_seconds=0.1))
    await collector.start()
    await analyzer.start()
    await ingest.start()
    demo_app = create_demo_app(DemoAppSettings(rps=100, window_seconds=1.0))
    demo = TestServer(demo_app, host="127.0.0.1")
    await demo.start_server()
    bind_traffic_target(demo_app, str(demo.make_url("")).rstrip("/"))
    # The MaxMind test database, and the test client as a trusted proxy: X-Forwarded-For sets the country.
    gateway_settings = GatewaySettings(**service_env, geoip_db=GEOIP_TEST_DB, trusted_proxies="127.0.0.1/32")
    gateway = TestServer(create_gateway(gateway_settings), host="127.0.0.1")
    await gateway.start_server()
    await create_user(pool, email="ops@example.test", name="Ops", password="correct horse battery")
    token = (await create_token(pool, email="ops@example.test", name="e2e", scopes=["read", "write"])).token
    async with aiohttp.ClientSession() as http:
        yield Stack(str(gateway.make_url("")).rstrip("/"), http, token, str(demo.make_url("")).rstrip("/"))
    await gateway.close()
    await demo.close()
    await ingest.stop()
    await analyzer.stop()
    await collector.stop()
