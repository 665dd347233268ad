"""Fixtures and helpers for tests that run services in-process against the suite's NATS and Postgres."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from seqpulse.common.bus import Bus
from seqpulse.common.db.pool import create_pool
from seqpulse.common.hmac_v2 import HmacRejected, HmacVerifier
from seqpulse.common.messages import DeploymentFinished, DeploymentTriggered
from seqpulse.common.secretbox import SecretBox

SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def bus(nats_url: str, bus_prefix: str) -> AsyncIterator[Bus]:
    bus = await Bus.connect(nats_url, bus_prefix, name="test")
    await bus.apply()
    yield bus
    await bus.close()


@pytest.fixture
def service_env(database_url: str, nats_url: str, bus_prefix: str) -> dict[str, Any]:
    """Settings every in-process service of a test shares."""
    return {
        "database_url": database_url,
        "nats_url": nats_url,
        "bus_prefix": bus_prefix,
        "secret_key": SECRET_KEY,
        "sequence_seconds": 1,
    }


@dataclass
class FakeApp:
    """A customer app whose metrics answer is set by the test; counts probes; verifies HMAC if asked."""

    metrics: dict[str, float] = field(
        default_factory=lambda: {
            "requests_per_sec": 50.0,
            "latency_p95": 120.0,
            "error_rate": 0.001,
            "cpu_usage": 0.3,
            "memory_usage": 0.4,
        }
    )
    status: int = 200
    hmac_secret: str | None = None
    hits: int = 0
    url: str = ""
    rejections: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.hmac_secret is not None:
            try:
                HmacVerifier(self.hmac_secret).verify(
                    request.headers, method=request.method, path=request.path
                )
            except HmacRejected as exc:
                self.rejections.append(exc.reason)
                return web.json_response({"error": exc.reason}, status=401)
        if self.status != 200:
            return web.json_response({"error": "boom"}, status=self.status)
        return web.json_response({"metrics": self.metrics})


@pytest.fixture
async def fake_app() -> AsyncIterator[FakeApp]:
    app_state = FakeApp()
    app = web.Application()
    app.router.add_get("/seqpulse-metrics", app_state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    app_state.url = str(server.make_url("/seqpulse-metrics"))
    yield app_state
    await server.close()


SeedFn = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def seed(pool: asyncpg.Pool[Any]) -> SeedFn:
    """Insert a user, a project and a deployment as the gateway would (for collector/analyzer tests)."""

    async def _seed(
        endpoint: str,
        *,
        hmac_secret: str | None = None,
        window: int = 3,
        seq: float = 1.0,
        state: str = "finished",
    ) -> dict[str, Any]:
        async with pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "INSERT INTO users (email, name) VALUES ($1, 'Test') RETURNING id",
                f"{uuid.uuid4().hex}@x.test",
            )
            project_id = uuid.uuid4()
            sealed = SecretBox(SECRET_KEY).seal(hmac_secret, context=str(project_id)) if hmac_secret else None
            await conn.execute(
                "INSERT INTO projects (id, owner_id, name, plan, metrics_endpoint_active, endpoint_state,"
                " hmac_enabled, hmac_secret_enc) VALUES ($1, $2, 'p', 'pro', $3, 'active', $4, $5)",
                project_id,
                user_id,
                endpoint,
                hmac_secret is not None,
                sealed,
            )
            deployment_id = await conn.fetchval(
                "INSERT INTO deployments (project_id, deployment_number, env, state, metrics_endpoint, plan,"
                " window_sequences, sequence_seconds, finished_at)"
                " VALUES ($1, 1, 'prod', $2, $3, 'pro', $4, $5,"
                " now()) RETURNING id",
                project_id,
                state,
                endpoint,
                window,
                seq,
            )
        return {
            "user_id": user_id,
            "project_id": project_id,
            "deployment_id": deployment_id,
            "window": window,
            "seq": seq,
        }

    return _seed


async def triggered(bus: Bus, d: dict[str, Any], at: datetime | None = None) -> None:
    await bus.publish(
        DeploymentTriggered(
            deployment_id=d["deployment_id"],
            project_id=d["project_id"],
            env="prod",
            plan="pro",
            triggered_at=at or datetime.now(UTC),
        )
    )


async def finished(bus: Bus, d: dict[str, Any], at: datetime | None = None) -> None:
    await bus.publish(
        DeploymentFinished(
            deployment_id=d["deployment_id"],
            project_id=d["project_id"],
            env="prod",
            result="success",
            finished_at=at or datetime.now(UTC),
            window_sequences=d["window"],
            sequence_seconds=d["seq"],
        )
    )


async def announce(bus: Bus, d: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    await triggered(bus, d, now)
    await finished(bus, d, now)
