"""Helpers of the gateway integration tests: a fake instrumented app and a harness around the real app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from seqpulse.common.hmac_v2 import HmacRejected, HmacVerifier
from seqpulse.gateway.admin import create_token, create_user
from seqpulse.gateway.app import RESOURCES
from seqpulse.gateway.config import GatewaySettings

GOOD_METRICS = {
    "requests_per_sec": 12.5,
    "latency_p95": 180.0,
    "error_rate": 0.01,
    "cpu_usage": 0.3,
    "memory_usage": 0.45,
}
TABLES = (
    "users",
    "access_tokens",
    "projects",
    "project_api_keys",
    "project_endpoint_events",
    "deployments",
)


@dataclass
class FakeApp:
    """An instrumented app's `/seqpulse-metrics`: answers GOOD_METRICS, or what a test sets."""

    url: str = ""
    status: int = 200
    body: Any = field(default_factory=lambda: {"metrics": dict(GOOD_METRICS)})
    secret: str | None = None
    hits: int = 0
    rejected: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.secret is not None:
            try:
                HmacVerifier(self.secret).verify(request.headers, method=request.method, path=request.path)
            except HmacRejected as exc:
                self.rejected += 1
                return web.json_response({"detail": exc.reason}, status=401)
        return web.json_response(self.body, status=self.status)


@dataclass
class Harness:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    settings: GatewaySettings
    fake: FakeApp
    _users: int = 0

    @property
    def pool(self) -> Any:
        return self.app[RESOURCES].pool

    async def token(
        self, *, scopes: tuple[str, ...] = ("read", "write"), admin: bool = False, email: str | None = None
    ) -> str:
        """A new user (unless `email` names an existing one) and a token of theirs."""
        if email is None:
            self._users += 1
            email = f"user{self._users}@example.com"
            await create_user(
                self.pool, email=email, name=f"User {self._users}", password=None, is_admin=admin
            )
        return (await create_token(self.pool, email=email, name="test", scopes=scopes)).token

    async def project(self, token: str, *, activate: bool = True, **fields: Any) -> dict[str, Any]:
        """POST /projects (pointing at the fake app by default), then test and activate its endpoint."""
        body = {"name": "shop", "metrics_endpoint": self.fake.url, **fields}
        response = await self.client.post("/projects", json=body, headers=bearer(token))
        assert response.status == 201, await response.text()
        project: dict[str, Any] = await response.json()
        if activate:
            tested = await self.client.post(f"/projects/{project['id']}/endpoint/test", headers=bearer(token))
            assert tested.status == 200, await tested.text()
        return project

    async def trigger(self, api_key: str, **body: Any) -> tuple[int, dict[str, Any]]:
        body.setdefault("env", "prod")
        response = await self.client.post("/deployments/trigger", json=body, headers={"X-API-Key": api_key})
        return response.status, await response.json()

    async def finish(
        self, api_key: str, deployment_id: str, result: str = "success"
    ) -> tuple[int, dict[str, Any]]:
        response = await self.client.post(
            "/deployments/finish",
            json={"deployment_id": deployment_id, "result": result},
            headers={"X-API-Key": api_key},
        )
        return response.status, await response.json()

    async def counts(self) -> dict[str, int]:
        """Rows of every gateway table, plus the messages it published (once the relay caught up)."""

        async def drained() -> bool:
            async with self.pool.acquire() as conn:
                return bool(await conn.fetchval("SELECT count(*) FROM gateway_outbox") == 0)

        await eventually(drained, what="the outbox to drain")
        async with self.pool.acquire() as conn:
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608  # fixed names
        stream = await self.app[RESOURCES].bus.js.stream_info(
            f"{self.settings.bus_prefix.upper()}_DEPLOYMENTS"
        )
        counts["published"] = stream.state.messages
        return counts


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll `check` until true, failing after `timeout` seconds (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
