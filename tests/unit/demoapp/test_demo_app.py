"""Demo app: metrics from its own real traffic, HMAC attack cases, regression injection, CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from seqpulse.common.hmac_v2 import signed_headers
from seqpulse.demoapp.app import bind_traffic_target, create_app
from seqpulse.demoapp.config import MIB, DemoAppSettings, load_settings

Client = TestClient[web.Request, web.Application]
Metrics = dict[str, float]

SECRET = "spm_demo_secret"
METRICS_PATH = "/seqpulse-metrics"
POLL_DEADLINE_SECONDS = 20.0


@contextlib.asynccontextmanager
async def demo_app(**overrides: Any) -> AsyncIterator[Client]:
    settings = DemoAppSettings(**{"port": 0, "rps": 0.0, "window_seconds": 3.0} | overrides)
    app = create_app(settings)
    async with TestClient(TestServer(app)) as client:
        bind_traffic_target(app, str(client.make_url("/")))
        yield client


async def read_metrics(client: Client, headers: dict[str, str] | None = None) -> Metrics:
    response = await client.get(METRICS_PATH, headers=headers)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert set(body) == {"metrics"}
    metrics: Metrics = body["metrics"]
    return metrics


async def poll_metrics(client: Client, until: Callable[[Metrics], bool], what: str) -> Metrics:
    """Scrape until ``until`` holds; fail with the last scrape once the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_DEADLINE_SECONDS
    while True:
        metrics = await read_metrics(client)
        if until(metrics):
            return metrics
        if loop.time() > deadline:
            raise AssertionError(f"metrics never showed {what}; last scrape {metrics}")
        await asyncio.sleep(0.1)


def sign(client: Client, secret: str = SECRET, *, now: datetime | None = None) -> dict[str, str]:
    return signed_headers(
        secret,
        str(client.make_url(METRICS_PATH)),
        project_id="project-123",
        now=now or datetime.now(UTC),
    )


async def put_regression(client: Client, body: Any) -> aiohttp.ClientResponse:
    return await client.put("/admin/regression", data=json.dumps(body))


# --- metrics from real traffic -------------------------------------------------------------------------


async def test_metrics_have_the_contract_shape_and_ranges_once_traffic_flows() -> None:
    async with demo_app(rps=50.0) as client:
        metrics = await poll_metrics(client, lambda m: m["requests_per_sec"] > 5, "self-generated traffic")

    assert set(metrics) == {"requests_per_sec", "latency_p95", "error_rate", "cpu_usage", "memory_usage"}
    assert all(isinstance(v, int | float) and math.isfinite(v) for v in metrics.values())
    assert metrics["latency_p95"] > 0
    assert metrics["error_rate"] == 0
    for fraction in ("error_rate", "cpu_usage", "memory_usage"):
        assert 0 <= metrics[fraction] <= 1
    assert metrics["memory_usage"] > 0  # a Python process with aiohttp loaded is far from 0 bytes


async def test_only_customer_requests_are_measured_and_5xx_count_as_errors() -> None:
    async with demo_app() as client:
        assert (await put_regression(client, {"kind": "errors", "magnitude": 1.0})).status == 200
        for _ in range(4):
            assert (await client.get("/api/work")).status == 500
        for _ in range(3):
            await client.get("/admin/state")
            await read_metrics(client)

        metrics = await read_metrics(client)
        state = await (await client.get("/admin/state")).json()

    assert state["window"]["requests"] == 4
    assert metrics["error_rate"] == 1.0
    assert metrics["requests_per_sec"] == pytest.approx(4 / 3, abs=0.001)


async def test_without_traffic_the_rates_are_zero() -> None:
    async with demo_app() as client:
        metrics = await read_metrics(client)

    assert metrics["requests_per_sec"] == 0
    assert metrics["error_rate"] == 0
    assert metrics["latency_p95"] == 0


async def test_injected_errors_raise_the_error_rate_of_the_window() -> None:
    async with demo_app(rps=50.0) as client:
        await poll_metrics(client, lambda m: m["requests_per_sec"] > 5, "self-generated traffic")
        assert (await put_regression(client, {"kind": "errors", "magnitude": 0.5})).status == 200

        await poll_metrics(client, lambda m: m["error_rate"] >= 0.25, "an error rate near 0.5")


async def test_injected_latency_raises_the_p95_of_the_window() -> None:
    async with demo_app(rps=50.0) as client:
        baseline = await poll_metrics(client, lambda m: m["requests_per_sec"] > 5, "self-generated traffic")
        assert baseline["latency_p95"] < 200
        assert (await put_regression(client, {"kind": "latency", "magnitude": 300})).status == 200

        await poll_metrics(client, lambda m: m["latency_p95"] >= 290, "a p95 above the injected 300 ms")


async def test_injected_cpu_burn_raises_cpu_usage() -> None:
    async with demo_app(rps=50.0) as client:
        await poll_metrics(client, lambda m: m["requests_per_sec"] > 5, "self-generated traffic")
        assert (await put_regression(client, {"kind": "cpu", "magnitude": 20})).status == 200

        await poll_metrics(client, lambda m: m["cpu_usage"] >= 0.4, "CPU usage from 20 ms bursts at 50 rps")


async def test_injected_memory_ballast_raises_memory_usage_and_is_released() -> None:
    async with demo_app(memory_limit_bytes=1024 * MIB) as client:
        before = (await read_metrics(client))["memory_usage"]
        assert (await put_regression(client, {"kind": "memory", "magnitude": 0.1})).status == 200
        after = (await read_metrics(client))["memory_usage"]
        cleared = await (await client.delete("/admin/regression")).json()

    assert after - before >= 0.09
    assert cleared["ballast_bytes"] == 0
    assert cleared["regressions"] == {}


async def test_traffic_drop_lowers_the_generator_rate() -> None:
    async with demo_app(rps=40.0) as client:
        response = await put_regression(client, {"kind": "traffic_drop"})
        state = await response.json()

    assert state["regressions"] == {"traffic_drop": 0.2}
    assert state["traffic"]["effective_rate"] == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "kind"),
        ({"kind": "meltdown"}, "kind"),
        ({"kind": "errors", "magnitude": 1.5}, "magnitude"),
        ({"kind": "latency", "magnitude": -1}, "magnitude"),
        ({"kind": "errors", "magnitude": "high"}, "magnitude"),
        ({"kind": "errors", "magnitude": True}, "magnitude"),
        ({"kind": "errors", "severity": 1}, "severity"),
        (["errors"], "body"),
    ],
)
async def test_invalid_regression_body_is_a_400_naming_the_field(body: Any, field: str) -> None:
    async with demo_app() as client:
        response = await put_regression(client, body)
        payload = await response.json()
        state = await (await client.get("/admin/state")).json()

    assert response.status == 400
    assert payload["field"] == field
    assert payload["error"].startswith(f"{field}: ")
    assert payload["reason"]
    assert state["regressions"] == {}


async def test_regression_body_that_is_not_json_is_a_400_naming_the_body() -> None:
    async with demo_app() as client:
        response = await client.put("/admin/regression", data=b"{kind: errors")
        payload = await response.json()

    assert response.status == 400
    assert payload["field"] == "body"


# --- HMAC: the four attack cases of the security-test guide ----------------------------------------------


async def test_correctly_signed_scrape_is_answered() -> None:
    async with demo_app(hmac_secret=SECRET) as client:
        await read_metrics(client, sign(client))


async def test_unsigned_scrape_is_rejected_when_hmac_is_on() -> None:
    async with demo_app(hmac_secret=SECRET) as client:
        response = await client.get(METRICS_PATH)
        assert response.status == 401
        assert await response.json() == {"error": "Missing or invalid HMAC headers"}


async def test_attack_1_wrong_secret_is_401_invalid_signature() -> None:
    async with demo_app(hmac_secret=SECRET) as client:
        response = await client.get(METRICS_PATH, headers=sign(client, "spm_wrong_secret"))
        assert response.status == 401
        assert await response.json() == {"error": "Invalid signature"}


async def test_attack_2_stale_timestamp_with_max_past_zero_is_401() -> None:
    async with demo_app(hmac_secret=SECRET, hmac_max_skew_past=0) as client:
        stale = sign(client, now=datetime.now(UTC) - timedelta(seconds=5))
        response = await client.get(METRICS_PATH, headers=stale)
        assert response.status == 401
        assert await response.json() == {"error": "Timestamp too old"}


async def test_attack_3_exact_replay_is_200_then_401_nonce_reuse() -> None:
    async with demo_app(hmac_secret=SECRET) as client:
        headers = sign(client)
        first = await client.get(METRICS_PATH, headers=headers)
        second = await client.get(METRICS_PATH, headers=headers)

        assert first.status == 200
        assert second.status == 401
        assert await second.json() == {"error": "Nonce reuse"}


@pytest.mark.parametrize("forced_path", ["/admin", "/api/ds-metrics"])
async def test_attack_4_forced_canonical_path_is_401_invalid_signature(forced_path: str) -> None:
    async with demo_app(hmac_secret=SECRET) as client:
        headers = sign(client) | {"X-SeqPulse-Canonical-Path": forced_path}
        response = await client.get(METRICS_PATH, headers=headers)
        assert response.status == 401
        assert await response.json() == {"error": "Invalid signature"}


async def test_hmac_can_be_switched_on_and_off_at_runtime() -> None:
    async with demo_app() as client:
        assert (await client.get(METRICS_PATH)).status == 200

        switched_on = await client.put(
            "/admin/hmac", data=json.dumps({"secret": SECRET, "max_skew_past": 60})
        )
        state = await switched_on.json()
        assert switched_on.status == 200
        assert state["hmac"] == {"enabled": True, "max_skew_past": 60, "max_skew_future": 30}
        assert SECRET not in json.dumps(state)
        assert (await client.get(METRICS_PATH)).status == 401
        await read_metrics(client, sign(client))

        assert (await client.delete("/admin/hmac")).status == 200
        assert (await client.get(METRICS_PATH)).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "secret"), ({"secret": ""}, "secret"), ({"secret": SECRET, "max_skew_past": -1}, "max_skew_past")],
)
async def test_invalid_hmac_body_is_a_400_naming_the_field(body: dict[str, Any], field: str) -> None:
    async with demo_app() as client:
        response = await client.put("/admin/hmac", data=json.dumps(body))
        payload = await response.json()

    assert response.status == 400
    assert payload["field"] == field


# --- configuration and the command line -------------------------------------------------------------------


def test_settings_come_from_the_environment_and_options_override_it() -> None:
    env = {
        "SEQPULSE_HMAC_SECRET": SECRET,
        "SEQPULSE_HMAC_MAX_SKEW_PAST": "0",
        "SEQPULSE_HMAC_MAX_SKEW_FUTURE": "5",
        "SEQPULSE_DEMO_RPS": "7",
    }
    settings = load_settings(["--port", "0", "--metrics-path", "ds-metrics/", "--window-seconds", "3"], env)

    assert settings.port == 0
    assert settings.rps == 7.0
    assert settings.window_seconds == 3.0
    assert settings.metrics_path == "/ds-metrics"
    assert (settings.hmac_secret, settings.hmac_max_skew_past, settings.hmac_max_skew_future) == (
        SECRET,
        0,
        5,
    )
    assert load_settings([], {}) == DemoAppSettings()


@pytest.mark.parametrize("argv", [["--window-seconds", "0"], ["--rps", "-1"], ["--metrics-path", "/admin/x"]])
def test_invalid_options_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        load_settings(argv, {})
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


async def test_cli_with_port_zero_prints_the_port_serves_metrics_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seqpulse.demoapp",
        "--port",
        "0",
        "--rps",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=POLL_DEADLINE_SECONDS)
        announced = json.loads(line)
        assert announced["event"] == "listening"
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{announced['port']}{METRICS_PATH}") as response,
        ):
            assert response.status == 200
            assert "metrics" in await response.json()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=POLL_DEADLINE_SECONDS) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
