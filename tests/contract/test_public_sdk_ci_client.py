"""The public PyPI client (`seqpulse==0.4.1`, `SeqPulseCIClient`) drives our CI API unchanged."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.common.bus.client import Bus
from seqpulse.gateway.admin import create_token, create_user
from seqpulse.gateway.app import RESOURCES, create_app
from seqpulse.gateway.config import GatewaySettings

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

METRICS = {
    "requests_per_sec": 3.0,
    "latency_p95": 120.0,
    "error_rate": 0.0,
    "cpu_usage": 0.2,
    "memory_usage": 0.3,
}
# Runs in a separate interpreter whose path starts with the SDK directory (see conftest.py).
CLIENT_SCRIPT = r"""
import json, sys
import seqpulse
from seqpulse import SeqPulseCIClient

sdk_dir, base_url, api_key, endpoint = sys.argv[1:5]
assert seqpulse.__file__.startswith(sdk_dir), seqpulse.__file__
client = SeqPulseCIClient(base_url=base_url, api_key=api_key, metrics_endpoint=endpoint, non_blocking=False)
trigger = client.trigger(env="prod", idempotency_key="contract-run-1", branch="main")
again = client.trigger(env="prod", idempotency_key="contract-run-1")
finish = client.finish(deployment_id=trigger["deployment_id"], result="success")
finish_again = client.finish(deployment_id=trigger["deployment_id"], pipeline_status="failed")
try:
    SeqPulseCIClient(base_url=base_url, api_key="SP_wrong", metrics_endpoint=endpoint,
                     non_blocking=False).trigger(env="prod")
    refused = None
except RuntimeError as exc:
    refused = str(exc)
soft = SeqPulseCIClient(base_url=base_url, api_key="SP_wrong", metrics_endpoint=endpoint).trigger(env="prod")
json.dump({"trigger": trigger, "again": again, "finish": finish, "finish_again": finish_again,
           "refused": refused, "soft": soft}, sys.stdout)
"""


@dataclass
class Live:
    base_url: str
    api_key: str
    endpoint: str
    app: web.Application


@pytest.fixture
async def live_gateway(database_url: str, nats_url: str, bus_prefix: str) -> AsyncIterator[Live]:
    """The gateway on a real port, a project whose endpoint (a tiny app) is tested and active."""
    bus = await Bus.connect(nats_url, bus_prefix, name="contract-setup")
    try:
        await bus.apply()
    finally:
        await bus.close()

    async def metrics(_request: web.Request) -> web.Response:
        return web.json_response({"metrics": METRICS})

    instrumented = web.Application()
    instrumented.router.add_get("/seqpulse-metrics", metrics)
    settings = GatewaySettings(database_url=database_url, nats_url=nats_url, bus_prefix=bus_prefix, port=0)
    app = create_app(settings)
    async with (
        TestServer(instrumented, host="127.0.0.1") as app_server,
        TestClient(TestServer(app, host="127.0.0.1")) as client,
    ):
        pool = app[RESOURCES].pool
        await create_user(pool, email="ci@example.com", name="CI", password=None)
        token = (await create_token(pool, email="ci@example.com", name="ci", scopes=["read", "write"])).token
        auth = {"Authorization": f"Bearer {token}"}
        endpoint = str(app_server.make_url("/seqpulse-metrics"))
        created = await client.post(
            "/projects", json={"name": "web", "metrics_endpoint": endpoint}, headers=auth
        )
        project: dict[str, Any] = await created.json()
        tested = await client.post(f"/projects/{project['id']}/endpoint/test", headers=auth)
        assert tested.status == 200, await tested.text()
        yield Live(str(client.make_url("")).rstrip("/"), project["api_key"], endpoint, app)


async def test_the_public_ci_client_triggers_and_finishes(live_gateway: Live, public_sdk_dir: Path) -> None:
    # A subprocess that does not block our loop: the in-process server must keep answering it.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLIENT_SCRIPT,
        str(public_sdk_dir),
        live_gateway.base_url,
        live_gateway.api_key,
        live_gateway.endpoint,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(public_sdk_dir)},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    result = json.loads(stdout)

    trigger = result["trigger"]
    assert (trigger["ok"], trigger["http_status"], trigger["status"]) == (True, 200, "created")
    assert result["again"]["status"] == "existing"
    assert result["again"]["deployment_id"] == trigger["deployment_id"]
    assert result["again"]["message"] == "Deployment already exists for this idempotency key"
    finish = result["finish"]
    assert (finish["ok"], finish["status"]) == (True, "accepted")
    assert finish["message"] == "Deployment finished. Analysis scheduled in 5 sequences."
    assert (result["finish_again"]["status"], result["finish_again"]["message"]) == (
        "ignored",
        "Deployment state is 'finished', finish ignored",
    )
    assert result["refused"] == "trigger failed: http 401"
    assert (result["soft"]["ok"], result["soft"]["skipped"], result["soft"]["http_status"]) == (
        False,
        True,
        401,
    )

    async with live_gateway.app[RESOURCES].pool.acquire() as conn:
        row = await conn.fetchrow("SELECT state, pipeline_result, branch, idempotency_key FROM deployments")
    assert dict(row) == {
        "state": "finished",
        "pipeline_result": "success",
        "branch": "main",
        "idempotency_key": "contract-run-1",
    }
