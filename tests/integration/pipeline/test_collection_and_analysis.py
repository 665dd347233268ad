"""Collector and analyzer together on real NATS and Postgres: every sequence once, one verdict."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.common.bus import Bus
from seqpulse.common.messages import WindowClosed
from seqpulse.common.secretbox import SecretBox
from tests.support import SECRET_KEY, FakeApp, SeedFn, announce, eventually, finished, triggered

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


@pytest.fixture
async def collector(service_env: dict[str, Any], bus: Bus) -> AsyncIterator[CollectorService]:
    service = CollectorService(
        CollectorSettings(**service_env, collector_retry_base_seconds=0.1, collector_retry_cap_seconds=0.3)
    )
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def analyzer(service_env: dict[str, Any], bus: Bus) -> AsyncIterator[AnalyzerService]:
    # These tests are about the pipeline: the original rules give a simple verdict on constant samples.
    service = AnalyzerService(AnalyzerSettings(**service_env, analyzer_default_policy="original-v2"))
    await service.start()
    yield service
    await service.stop()


async def verdict_rows(pool: asyncpg.Pool[Any], deployment_id: uuid.UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM verdicts WHERE deployment_id = $1", deployment_id))


async def test_healthy_window_is_sampled_once_per_sequence_and_gets_one_ok_verdict(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    d = await seed(fake_app.url, window=5)
    await announce(bus, d)
    rows = await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    assert [r["verdict"] for r in rows] == ["ok"]
    async with pool.acquire() as conn:
        samples = await conn.fetch(
            "SELECT phase, sequence_index FROM metric_samples WHERE deployment_id=$1"
            " ORDER BY phase, sequence_index",
            d["deployment_id"],
        )
        window = await conn.fetchrow(
            "SELECT state, close_reason FROM collection_windows WHERE deployment_id=$1", d["deployment_id"]
        )
    assert [(r["phase"], r["sequence_index"]) for r in samples] == [("post", i) for i in range(5)] + [
        ("pre", 0)
    ]
    assert (window["state"], window["close_reason"]) == ("closed", "complete")


async def test_error_regression_recommends_rollback_with_a_critical_hint(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    d = await seed(fake_app.url, window=5)
    await triggered(bus, d)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM metric_samples WHERE phase='pre'"))
    fake_app.metrics["error_rate"] = 0.2
    await finished(bus, d)
    rows = await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    assert rows[0]["verdict"] == "rollback_recommended"
    async with pool.acquire() as conn:
        hints = await conn.fetch(
            "SELECT severity, metric FROM sdh_hints WHERE deployment_id=$1", d["deployment_id"]
        )
    assert any(h["severity"] == "critical" for h in hints)


async def test_second_delivery_of_window_closed_creates_no_second_verdict(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    d = await seed(fake_app.url, window=2)
    await announce(bus, d)
    await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    # The same fact again under a new message id (JetStream's dedupe would drop an identical id).
    await bus.publish(
        WindowClosed(
            deployment_id=d["deployment_id"],
            project_id=d["project_id"],
            reason="complete",
            expected_post=2,
            collected_post=2,
            collected_pre=1,
            closed_at=datetime.now(UTC),
        )
    )
    await eventually(lambda: _consumer_idle(bus, "analyzer-windows"))
    assert len(await verdict_rows(pool, d["deployment_id"])) == 1


async def test_two_analyzer_replicas_on_one_window_create_one_verdict(
    service_env: dict[str, Any],
    collector: CollectorService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    replicas = [AnalyzerService(AnalyzerSettings(**service_env)) for _ in range(2)]
    for replica in replicas:
        await replica.start()
    try:
        deployments = [await seed(fake_app.url, window=2) for _ in range(4)]
        for d in deployments:
            await announce(bus, d)
            # Duplicate windows race the two replicas against each other on the same deployment.
            await bus.publish(
                WindowClosed(
                    deployment_id=d["deployment_id"],
                    project_id=d["project_id"],
                    reason="deadline",
                    expected_post=2,
                    collected_post=0,
                    collected_pre=0,
                    closed_at=datetime.now(UTC),
                )
            )
        for d in deployments:
            await eventually(lambda d=d: verdict_rows(pool, d["deployment_id"]))
        await eventually(lambda: _consumer_idle(bus, "analyzer-windows"))
        for d in deployments:
            assert len(await verdict_rows(pool, d["deployment_id"])) == 1
    finally:
        for replica in replicas:
            await replica.stop()


async def test_signed_probe_rejected_cancels_collection_and_says_why(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    fake_app.hmac_secret = "spm_the_app_has_another_secret"
    d = await seed(fake_app.url, window=5, hmac_secret="spm_seqpulse_side_secret")
    await announce(bus, d)
    rows = await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    assert "Collection stopped early" in rows[0]["summary"]
    assert any(line.startswith("collection_cancelled hmac_rejected") for line in rows[0]["details"])
    async with pool.acquire() as conn:
        statuses = await conn.fetch(
            "SELECT status, count(*) FROM collection_jobs WHERE deployment_id=$1 GROUP BY status",
            d["deployment_id"],
        )
    # Not retried: one refused probe per job at most, the rest cancelled.
    assert {r["status"] for r in statuses} <= {"failed", "cancelled"}
    assert fake_app.rejections and set(fake_app.rejections) == {"Invalid signature"}
    assert fake_app.hits <= 2


async def test_signed_probe_with_the_right_secret_is_accepted(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    fake_app.hmac_secret = "spm_shared_secret_value"
    d = await seed(fake_app.url, window=2, hmac_secret="spm_shared_secret_value")
    await announce(bus, d)
    rows = await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    assert rows[0]["verdict"] != "rollback_recommended"
    assert fake_app.rejections == []
    assert await _count(pool, "SELECT count(*) FROM metric_samples") == 3


async def test_server_errors_are_retried_until_the_app_recovers(
    collector: CollectorService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    fake_app.status = 503
    d = await seed(fake_app.url, window=1)
    await triggered(bus, d)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM collection_jobs WHERE attempts >= 2"))
    fake_app.status = 200
    await eventually(lambda: _count(pool, "SELECT count(*) FROM metric_samples WHERE phase='pre'"))
    async with pool.acquire() as conn:
        job = await conn.fetchrow("SELECT status, attempts, last_error FROM collection_jobs")
    assert job["status"] == "done" and job["attempts"] >= 2 and "503" in job["last_error"]


async def _count(pool: asyncpg.Pool[Any], sql: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def _consumer_idle(bus: Bus, durable: str) -> bool:
    info = await bus.js.consumer_info(f"{bus.prefix.upper()}_COLLECTION", durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_secret_rotated_mid_window_applies_to_jobs_already_scheduled(
    collector: CollectorService,
    analyzer: AnalyzerService,
    bus: Bus,
    pool: asyncpg.Pool[Any],
    fake_app: FakeApp,
    seed: SeedFn,
) -> None:
    fake_app.hmac_secret = "spm_first_secret"
    d = await seed(fake_app.url, window=6, hmac_secret="spm_first_secret")
    await announce(bus, d)
    await eventually(lambda: _count(pool, "SELECT count(*) FROM metric_samples WHERE phase='post'"))
    # Rotate as the gateway does (sealed secret on the project row) and on the app side at once.
    sealed = SecretBox(SECRET_KEY).seal("spm_second_secret", context=str(d["project_id"]))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE projects SET hmac_secret_enc = $1 WHERE id = $2", sealed, d["project_id"])
    fake_app.hmac_secret = "spm_second_secret"
    rows = await eventually(lambda: verdict_rows(pool, d["deployment_id"]))
    assert "Collection stopped early" not in rows[0]["summary"]
    assert fake_app.rejections == []
    assert await _count(pool, "SELECT count(*) FROM metric_samples WHERE phase='post'") == 6
