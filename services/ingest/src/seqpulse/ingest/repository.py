"""The ingest service's database access: COPY into staging, insert the new events, keep the rollups
(rollups.sql), partitions and retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.ingest.events import COLUMNS, Row
from seqpulse.ingest.partitions import partition_day

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
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def write(self, rows: Sequence[Row]) -> Written:
        """Store the rows not stored yet and fold them into the rollups, in one transaction."""
        async with self.pool.acquire() as conn:
            await conn.execute(R.create_temp_tables)
            async with conn.transaction():
                await conn.copy_records_to_table("ingest_staging", records=rows, columns=COLUMNS)
                stored = _count(await conn.execute(R.insert_staged))
                if not stored:
                    return Written(0, 0)
                await conn.execute(R.lock_rollups)
                added = await conn.fetchrow(R.add_facts)
                assert added is not None
                if added["facts"]:
                    await conn.execute(R.add_active_user_changes)
                await conn.execute(R.merge_sessions)
        return Written(stored, int(added["users"]))

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


def _count(status: str) -> int:
    """The row count of a command tag such as `INSERT 0 42`."""
    return int(status.rsplit(" ", 1)[-1])
