"""Daily partitions: made ahead, dropped past the retention with their activity, by one replica at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from seqpulse.ingest.maintenance import Maintenance
from seqpulse.ingest.partitions import partition_name
from seqpulse.ingest.repository import IngestRepository
from tests.integration.ingest.conftest import Ingest, product_event, user_key
from tests.support import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
TODAY = datetime.now(UTC).date()


def names(first: date, days: int) -> list[str]:
    return [partition_name(first + timedelta(days=n)) for n in range(days)]


def maintenance(pool: asyncpg.Pool[Any], now: datetime, retention: int = 90, ahead: int = 7) -> Maintenance:
    return Maintenance(
        IngestRepository(pool), lambda: now, retention_days=retention, ahead_days=ahead, interval_seconds=3600
    )


async def test_the_migration_makes_the_last_thirty_days_and_the_next_seven(ingest: Ingest) -> None:
    assert await ingest.partitions() == names(TODAY - timedelta(days=30), 38)


async def test_maintenance_makes_partitions_ahead_and_drops_those_and_the_activity_past_the_retention(
    ingest: Ingest, pool: asyncpg.Pool[Any]
) -> None:
    later = datetime.now(UTC) + timedelta(days=95)
    cutoff = later.date() - timedelta(days=90)  # the first day of events kept
    facts_cutoff = cutoff - timedelta(days=60)  # active days are kept 60 days longer
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO user_daily_activity (day, user_key, events, first_at, last_at)"
            " VALUES ($1, $2, 1, now(), now())",
            [(facts_cutoff - timedelta(days=1), user_key("old")), (facts_cutoff, user_key("kept"))],
        )
        await conn.executemany(
            "INSERT INTO session_days (day, sessions, micros) VALUES ($1, 1, 0)",
            [(cutoff - timedelta(days=1),), (cutoff,)],
        )
        # Rolling counts: +2 before the cutoff, -1 on it: one user counted from the cutoff on, folded or not.
        await conn.executemany(
            "INSERT INTO active_user_changes (scope, win, day, delta) VALUES ('', 30, $1, $2)",
            [(cutoff - timedelta(days=5), 1), (cutoff - timedelta(days=1), 1), (cutoff, -1)],
        )
    report = await maintenance(pool, later).run_once()
    assert report is not None
    assert report.created == names(later.date(), 8)
    assert report.dropped == names(TODAY - timedelta(days=30), 38)[: (cutoff - TODAY).days + 30]
    assert report.activity_deleted == 1
    assert await ingest.partitions() == names(cutoff, 3) + names(later.date(), 8)
    assert list(await ingest.activity()) == [(facts_cutoff, user_key("kept"))]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT array_agg(day) FROM session_days") == [cutoff]
        changes = await conn.fetch("SELECT day, delta FROM active_user_changes ORDER BY day")
    assert [tuple(r) for r in changes] == [(cutoff, 1)]

    again = await maintenance(pool, later).run_once()
    assert again is not None and again.created == again.dropped == [] and again.activity_deleted == 0


async def test_maintenance_on_two_replicas_at_once_does_the_work_once(
    ingest: Ingest, pool: asyncpg.Pool[Any]
) -> None:
    later = datetime.now(UTC) + timedelta(days=200)
    reports = await asyncio.gather(*(maintenance(pool, later).run_once() for _ in range(3)))
    done = [r for r in reports if r is not None]
    assert done, "at least one replica must have done the work"
    assert sorted(name for r in done for name in r.created) == names(later.date(), 8)
    assert len([name for r in done for name in r.dropped]) == 38
    assert await ingest.partitions() == names(later.date(), 8)


async def test_the_service_makes_todays_partitions_before_it_takes_any_event(ingest: Ingest) -> None:
    later = datetime.now(UTC) + timedelta(days=120)
    await ingest.start(clock=lambda: later)
    # Everything the migration made is past the retention by then.
    assert await ingest.partitions() == names(later.date(), 8)
    await ingest.publish(product_event(later))
    await eventually(lambda: ingest.has_stored(1))
    (row,) = await ingest.fetch("SELECT tableoid::regclass::text AS part FROM product_events")
    assert row["part"] == partition_name(later.date())
