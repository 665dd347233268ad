"""The analyzer announces `analysis_completed` with a deployment's first verdict, in its transaction, once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from seqpulse.analyzer.handlers import WindowHandlers
from seqpulse.analyzer.repository import OUTBOX, AnalyzerRepository
from seqpulse.analyzer.rpc import AnalysisRequests
from seqpulse.common.bus import Delivery
from seqpulse.common.messages import ReanalysisRequested, WindowClosed
from seqpulse.common.messages.product import ProductEvent, pseudonymise
from tests.support import SeedFn

pytestmark = [pytest.mark.postgres]
KEY = b"k" * 32
PREFIX = "t"


def window_closed(d: dict[str, Any], closed_at: datetime) -> WindowClosed:
    return WindowClosed(
        deployment_id=d["deployment_id"],
        project_id=d["project_id"],
        reason="complete",
        expected_post=d["window"],
        collected_post=0,
        collected_pre=0,
        closed_at=closed_at,
    )


async def product_events(pool: asyncpg.Pool[Any]) -> list[ProductEvent]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT payload FROM {OUTBOX} WHERE subject LIKE $1 ORDER BY created_at",  # noqa: S608  # fixed name
            f"{PREFIX}.events.v1.%",
        )
    return [ProductEvent.from_bytes(r["payload"]) for r in rows]


async def test_first_verdict_announces_analysis_completed_once_with_the_owner_pseudonymised(
    pool: asyncpg.Pool[Any], seed: SeedFn
) -> None:
    d = await seed("http://127.0.0.1:9/seqpulse-metrics", window=3)
    repo = AnalyzerRepository(pool, PREFIX, pseudonym_key=KEY)
    handlers = WindowHandlers(repo, lambda: None, "original-v2")
    delivery = Delivery(subject="s", attempt=1, headers={})
    closed_at = datetime.now(UTC) - timedelta(seconds=2)

    await handlers.on_window_closed(window_closed(d, closed_at), delivery)
    # The same window delivered again (a redelivery, another replica): no second verdict, no second event.
    await handlers.on_window_closed(window_closed(d, closed_at), delivery)

    [event] = await product_events(pool)
    async with pool.acquire() as conn:
        verdict = await conn.fetchval(
            "SELECT verdict FROM verdicts WHERE deployment_id = $1", d["deployment_id"]
        )
    assert event.event_name == "analysis_completed" and event.source == "internal"
    assert event.user_key == pseudonymise(str(d["user_id"]), KEY)
    assert (event.project_id, event.plan) == (d["project_id"], "pro")
    assert event.properties["deployment_id"] == str(d["deployment_id"])
    assert event.properties["verdict"] == verdict
    assert 2000 <= event.properties["duration_ms"] < 60_000
    assert str(d["user_id"]).encode() not in event.to_bytes()


async def test_a_replay_stores_a_new_verdict_version_but_no_second_analysis_completed(
    pool: asyncpg.Pool[Any], seed: SeedFn
) -> None:
    d = await seed("http://127.0.0.1:9/seqpulse-metrics", window=3)
    repo = AnalyzerRepository(pool, PREFIX, pseudonym_key=KEY)
    handlers = WindowHandlers(repo, lambda: None, "original-v2")
    closed_at = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO collection_windows (deployment_id, project_id, expected_post, sequence_seconds,"
            " finished_at, deadline_at, state, closed_at) VALUES ($1, $2, 3, 1, $3, $3, 'closed', $3)",
            d["deployment_id"],
            d["project_id"],
            closed_at,
        )
    await handlers.on_window_closed(window_closed(d, closed_at), Delivery(subject="s", attempt=1, headers={}))
    requests = AnalysisRequests(repo, lambda: None, "original-v2")
    answer = await requests.reanalyze(
        ReanalysisRequested(request_id=uuid.uuid4(), deployment_id=d["deployment_id"], policy="evidence-v1")
    )
    assert answer["version"] == 2
    assert [e.event_name for e in await product_events(pool)] == ["analysis_completed"]


async def test_without_a_pseudonym_key_the_event_names_no_user(pool: asyncpg.Pool[Any], seed: SeedFn) -> None:
    d = await seed("http://127.0.0.1:9/seqpulse-metrics", window=3)
    handlers = WindowHandlers(AnalyzerRepository(pool, PREFIX), lambda: None, "original-v2")
    await handlers.on_window_closed(
        window_closed(d, datetime.now(UTC)), Delivery(subject="s", attempt=1, headers={})
    )
    [event] = await product_events(pool)
    assert event.user_key is None
