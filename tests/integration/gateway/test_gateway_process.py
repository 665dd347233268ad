"""Entry points: `seqpulse-gateway` serves and drains on SIGTERM; `seqpulse-admin` issues tokens."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import aiohttp
import asyncpg
import pytest

from seqpulse.common.devstack import free_port
from seqpulse.common.messages.product import ProductEvent, pseudonymise
from seqpulse.gateway.auth import digest
from tests.integration.gateway.gateway_harness import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_admin_cli_creates_a_user_and_prints_a_token_once(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    admin = ("-m", "seqpulse.gateway.admin")
    code, out, err = await _run(
        *admin,
        "create-user",
        "--email",
        "ops@example.com",
        "--name",
        "Ops",
        "--password",
        "correct horse battery",
        "--admin",
        env=env,
    )
    assert code == 0, err
    assert "created user" in out
    code, _, err = await _run(
        *admin,
        "create-user",
        "--email",
        "OPS@example.com",
        "--name",
        "Again",
        "--password",
        "correct horse battery",
        env=env,
    )
    assert code == 2 and "already exists" in err
    code, out, err = await _run(
        *admin,
        "create-token",
        "--email",
        "ops@example.com",
        "--name",
        "ci",
        "--scope",
        "read",
        "--scope",
        "admin",
        "--json",
        env=env,
    )
    assert code == 0, err
    issued = json.loads(out)
    assert issued["token"].startswith("spt_") and issued["scopes"] == ["read", "admin"]
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT token_hash, token_prefix FROM access_tokens")
        password_hash = await conn.fetchval("SELECT password_hash FROM users")
    finally:
        await conn.close()
    assert bytes(row["token_hash"]) == digest(issued["token"]) and row["token_prefix"] == issued["prefix"]
    assert password_hash.startswith("$argon2id$")


async def test_admin_cli_user_is_announced_once_as_an_admin_signup_and_a_refused_one_not_at_all(
    database_url: str, bus_prefix: str
) -> None:
    analytics_key = "k" * 32
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SEQPULSE_BUS_PREFIX": bus_prefix,
        "SEQPULSE_ANALYTICS_KEY": analytics_key,
    }
    create = ("-m", "seqpulse.gateway.admin", "create-user", "--password", "correct horse battery")
    code, _, err = await _run(*create, "--email", "ops@example.com", "--name", "Ops", env=env)
    assert code == 0, err
    code, _, err = await _run(*create, "--email", "Ops@Example.com", "--name", "Twin", env=env)
    assert code == 2 and "already exists" in err
    short = ("--email", "short@example.com", "--name", "Short", "--password", "short")  # the last one counts
    code, _, err = await _run(*create, *short, env=env)
    assert code == 2 and "at least" in err
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users")
        rows = await conn.fetch("SELECT subject, payload FROM gateway_outbox")
    finally:
        await conn.close()
    assert len(rows) == 1, [r["subject"] for r in rows]
    row = rows[0]
    event = ProductEvent.from_bytes(row["payload"])
    assert row["subject"] == f"{bus_prefix}.events.v1.user_signup"
    assert (event.event_name, event.properties, event.source) == (
        "user_signup",
        {"method": "admin"},
        "internal",
    )
    assert event.user_key == pseudonymise(str(user_id), analytics_key.encode())
    assert (event.country, event.project_id, event.plan) == (None, None, None)


async def test_the_gateway_process_serves_and_drains_on_sigterm(
    database_url: str, nats_url: str, bus_prefix: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "SEQPULSE_BUS_PREFIX": bus_prefix,
        "SEQPULSE_GATEWAY_PORT": str(port),
        "SEQPULSE_GATEWAY_DRAIN_SECONDS": "2",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "seqpulse.gateway",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await eventually(ready, timeout=20, what="the gateway process to be ready")
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    events = [json.loads(line)["event"] for line in out.decode().splitlines() if line.startswith("{")]
    assert events[0] == "gateway_starting" and events[-1] == "gateway_stopped"
