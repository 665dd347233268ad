"""The ingest service's database access: COPY into staging, insert the new events, keep the rollups
(rollups.sql), partitions and retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg

from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.ingest.events import COLUMNS, Row
from seqpulse.ingest.partitions import partition_day
from seqpulse.ingest.summary import KnownFacts, columns, summarise

Q = Queries(Path(__file__).with_name("queries.sql"))
R = Queries(Path(__file__).with_name("rollups.sql"))
# How long DDL on product_events may wait for its lock before giving up until next time.
DDL_LOCK_TIMEOUT = "5s"
# Active days are kept this much longer than the events (the longest rolling window).
FACTS_KEPT_EXTRA_DAYS = 60
# A rebuild reads every event kept: far longer than the pool's command timeout.
REBUILD_TIMEOUT = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch's transaction did: new events stored, and users whose day it created or updated."""

    stored: int
    users: int


class IngestRepository:
    def __init__(self, pool: Pool, known: KnownFacts | None = None) -> None:
        self.pool = pool
        self.known = KnownFacts() if known is None else known

    async def write(self, rows: Sequence[Row]) -> Written:
        """Store the rows not stored yet and fold them into the rollups, in one transaction."""
        # One row per key (a key repeated within the batch: its first row stands for it), in key order:
        # two replicas writing the same keys wait on each other in the same order, never in a cycle.
        rows = sorted({(row[0], row[1]): row for row in reversed(rows)}.values(), key=_key_order)
        async with self.pool.acquire() as conn, conn.transaction():
            new = await self._insert(conn, rows)
            if not new:
                return Written(0, 0)
            summary = summarise(new, self.known)
            await conn.execute(R.lock_rollups)
            facts = await conn.fetch(R.add_facts, *summary.facts_args())
            if facts:
                await conn.execute(R.add_active_user_changes, *columns(facts, 3))
            await conn.execute(R.merge_sessions, *summary.sessions_args())
        self.known.add(summary.facts)
        return Written(len(new), len(summary.user_days))

    async def _insert(self, conn: Conn, rows: Sequence[Row]) -> Sequence[Row]:
        """The rows this transaction stored. Straight COPY into the table first, as a batch is usually all
        new; if it repeats a stored event (a redelivery), through a staging table, skipping the repeats."""
        try:
            async with conn.transaction():  # a savepoint: the failed COPY leaves nothing behind
                await conn.copy_records_to_table("product_events", records=rows, columns=COLUMNS)
            return rows
        except asyncpg.UniqueViolationError:
            pass
        await conn.execute(R.create_staging)
        await conn.copy_records_to_table("ingest_staging", records=rows, columns=COLUMNS)
        stored = {(r["event_id"], r["occurred_at"]) for r in await conn.fetch(R.insert_staged)}
        return [row for row in rows if (row[0], row[1]) in stored]

    async def rebuild_rollups(self, timeout: float = REBUILD_TIMEOUT) -> None:
        """Recompute every rollup from the events kept, in one transaction under the rollup lock
        (batches wait meanwhile). About a minute per million events on two cores."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.lock_rollups)
            await conn.execute(R.rebuild, timeout=timeout)

    async def rollups_missing(self) -> bool:
        """Events stored but no rollup ever written: a database from before the rollups existed."""
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(Q.rollups_missing))

    async def partition_days(self) -> set[date]:
        async with self.pool.acquire() as conn:
            names = [r["name"] for r in await conn.fetch(Q.partition_names)]
        return {day for day in map(partition_day, names) if day is not None}

    async def create_partition(self, day: date, conn: Conn | None = None) -> bool:
        """Make the partition of `day` unless it exists; True if this call made it."""
        if conn is None:
            async with self.pool.acquire() as own:
                return await self.create_partition(day, own)
        async with conn.transaction():
            await conn.execute(Q.set_lock_timeout, DDL_LOCK_TIMEOUT)
            return bool(await conn.fetchval(Q.create_partition, day))

    async def drop_partitions_before(self, day: date, conn: Conn) -> list[str]:
        async with conn.transaction():
            await conn.execute(Q.set_lock_timeout, DDL_LOCK_TIMEOUT)
            return [r["name"] for r in await conn.fetch(Q.drop_partitions_before, day)]

    async def delete_rollups_before(self, day: date, conn: Conn) -> int:
        """Forget the rollups of days before `day`; returns the daily-activity rows deleted."""
        async with conn.transaction():
            await conn.execute(R.lock_rollups)
            deleted = await conn.fetchval(
                Q.delete_rollups_before, day, day - timedelta(days=FACTS_KEPT_EXTRA_DAYS)
            )
        return int(deleted)

    async def try_maintenance_lock(self, conn: Conn) -> bool:
        """Session-level: held by one replica's maintenance at a time, released by `maintenance_unlock`."""
        return bool(await conn.fetchval(Q.try_maintenance_lock))

    async def maintenance_unlock(self, conn: Conn) -> None:
        await conn.execute(Q.maintenance_unlock)


def _key_order(row: Row) -> tuple[int, datetime]:
    return row[0].int, row[1]
