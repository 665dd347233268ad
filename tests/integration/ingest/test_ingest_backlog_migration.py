"""Migration 0011 (ADR 0014): a database upgraded with a summary still waiting in the old backlog loses no
event from its rollups: they are emptied, and the ingest's next start rebuilds them from the events.
Migration 0012 (ADR 0016): a batch waiting in the backlog at the upgrade is folded by both parts."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from seqpulse.common.db.migrate import MIGRATIONS_DIR, migrate
from seqpulse.common.db.pool import create_pool
from seqpulse.common.testing.infra import drop_database
from seqpulse.ingest.events import to_row
from seqpulse.ingest.repository import IngestRepository
from seqpulse.ingest.writer import EventWriter
from tests.conftest import PgInfo
from tests.integration.ingest.conftest import product_event, user_key

pytestmark = [pytest.mark.postgres]


@pytest.fixture
async def before_0011(pg: PgInfo, tmp_path: Path) -> AsyncIterator[tuple[asyncpg.Connection[Any], str]]:
    """A new database migrated up to 0010 only: a connection to it, and its address."""
    async for database in _migrated_up_to(10, pg, tmp_path):
        yield database


@pytest.fixture
async def before_0012(pg: PgInfo, tmp_path: Path) -> AsyncIterator[tuple[asyncpg.Connection[Any], str]]:
    """The same, up to 0011."""
    async for database in _migrated_up_to(11, pg, tmp_path):
        yield database


async def _migrated_up_to(
    last: int, pg: PgInfo, tmp_path: Path
) -> AsyncIterator[tuple[asyncpg.Connection[Any], str]]:
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) <= last:
            shutil.copy(path, tmp_path / path.name)
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(pg.dsn_for(name))
    await migrate(conn, tmp_path)
    try:
        yield conn, pg.dsn_for(name)
    finally:
        await conn.close()
        await drop_database(pg.admin_dsn, name)


async def test_a_summary_waiting_at_the_upgrade_empties_the_rollups_for_a_rebuild(
    before_0011: tuple[asyncpg.Connection[Any], str],
) -> None:
    conn, dsn = before_0011
    at = datetime.now(UTC) - timedelta(hours=1)
    # Two events counted by an old fold, a third stored with its summary still in the old backlog.
    await conn.execute(
        "INSERT INTO product_events (event_id, occurred_at, received_at, event_name, user_key, source)"
        " SELECT gen_random_uuid(), $1, $1, 'user_login', $2, 'http' FROM generate_series(1, 3)",
        at,
        user_key("alice"),
    )
    await conn.execute(
        "INSERT INTO user_daily_activity (day, user_key, events, first_at, last_at)"
        " VALUES ($1, $2, 2, $3, $3)",
        at.date(),
        user_key("alice"),
        at,
    )
    await conn.execute("INSERT INTO ingest_watermark (last_received_at) VALUES ($1)", at)
    await conn.execute("INSERT INTO rollup_backlog (events, summary) VALUES (1, '{}'::bytea)")

    assert await migrate(conn) == ["0011_rollup_backlog_keys", "0012_rollup_fold_parts"]

    assert await conn.fetchval("SELECT count(*) FROM user_daily_activity") == 0
    assert await conn.fetchval("SELECT count(*) FROM rollup_backlog") == 0
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        repo = IngestRepository(pool)
        assert await repo.rollups_missing()  # so the ingest rebuilds at its next start
        await repo.rebuild_rollups()
        assert await conn.fetchval("SELECT events FROM user_daily_activity") == 3
        # And the new backlog takes batches, and folds them from their keys.
        outcome = await EventWriter(repo).write([to_row(product_event(at, user="bob"))])
        assert outcome.stored == 1 and await conn.fetchval("SELECT count(*) FROM rollup_backlog") == 1
        assert (await repo.fold({})).events == 1
        assert (
            await conn.fetchval("SELECT events FROM user_daily_activity WHERE user_key = $1", user_key("bob"))
            == 1
        )
    finally:
        await pool.close()


async def test_an_empty_backlog_at_the_upgrade_keeps_the_rollups(
    before_0011: tuple[asyncpg.Connection[Any], str],
) -> None:
    conn, _ = before_0011
    at = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO user_daily_activity (day, user_key, events, first_at, last_at)"
        " VALUES ($1, 'u', 2, $2, $2)",
        at.date(),
        at,
    )
    assert await migrate(conn) == ["0011_rollup_backlog_keys", "0012_rollup_fold_parts"]
    assert await conn.fetchval("SELECT events FROM user_daily_activity") == 2


async def test_a_batch_waiting_at_the_0012_upgrade_is_folded_by_both_parts(
    before_0012: tuple[asyncpg.Connection[Any], str],
) -> None:
    conn, dsn = before_0012
    at = datetime.now(UTC) - timedelta(hours=1)
    pool = await create_pool(dsn, min_size=1, max_size=3)
    try:
        # Stored by the version before (the events and their backlog row in one transaction, no part's
        # mark), then the upgrade.
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO product_events"
                " (event_id, occurred_at, received_at, event_name, user_key, source)"
                " SELECT gen_random_uuid(), $1::timestamptz + n * interval '1 minute', $1, 'user_login',"
                " $2, 'http' FROM generate_series(0, 2) AS n",
                at,
                user_key("alice"),
            )
            await conn.execute(
                "INSERT INTO rollup_backlog (events, event_ids, first_at, last_at)"
                " SELECT count(*), array_agg(event_id), min(occurred_at), max(occurred_at)"
                " FROM product_events"
            )
        assert await migrate(conn) == ["0012_rollup_fold_parts"]
        folded = await IngestRepository(pool).fold({})
        assert folded.events == 3 and folded.through is None
        assert await conn.fetchval("SELECT events FROM user_daily_activity") == 3
        assert await conn.fetchval("SELECT sessions FROM session_days") == 1
        assert await conn.fetchval("SELECT count(*) FROM rollup_backlog") == 0
        assert await conn.fetchval("SELECT count(*) FROM rollup_backlog_folded") == 0
    finally:
        await pool.close()
