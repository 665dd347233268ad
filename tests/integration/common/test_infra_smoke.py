"""The suite's own servers work: JetStream accepts a stream, Postgres has the migrated schema."""

from __future__ import annotations

import asyncpg
import pytest

from seqpulse.common.bus.client import Bus

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


async def test_each_test_database_is_migrated(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    assert {"deployments", "collection_jobs", "verdicts", "schema_migrations"} <= tables


async def test_bus_apply_declares_every_stream(nats_url: str, bus_prefix: str) -> None:
    bus = await Bus.connect(nats_url, bus_prefix, name="test")
    try:
        applied = await bus.apply()
        info = await bus.js.stream_info(f"{bus_prefix.upper()}_DEPLOYMENTS")
    finally:
        await bus.close()
    assert f"stream {bus_prefix.upper()}_DEPLOYMENTS" in applied
    assert info.config.subjects == [f"{bus_prefix}.deployments.v1.>"]
