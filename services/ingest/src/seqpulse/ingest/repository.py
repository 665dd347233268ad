"""The ingest service's database access: COPY into staging, insert new events and activity, partitions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.ingest.events import COLUMNS, Row
from seqpulse.ingest.partitions import partition_day

Q = Queries(Path(__file__).with_name("queries.sql"))
# How long DDL on product_events may wait for its lock before giving up until next time.
DDL_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch's transaction did: new events stored, and users whose day it created or updated."""

    stored: int
    users: int


class IngestRepository:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def write(self, rows: Sequence[Row]) -> Written:
        """Store the rows not stored yet and count them in user_daily_activity, in one transaction."""
        async with self.pool.acquire() as conn:
            await conn.execute(Q.create_staging)
            async with conn.transaction():
                await conn.copy_records_to_table("ingest_staging", records=rows, columns=COLUMNS)
                result = await conn.fetchrow(Q.insert_staged)
        assert result is not None
        return Written(int(result["stored"]), int(result["users"]))

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

    async def delete_activity_before(self, day: date, conn: Conn) -> int:
        status = await conn.execute(Q.delete_activity_before, day)
        return int(status.split()[-1])

    async def try_maintenance_lock(self, conn: Conn) -> bool:
        """Session-level: held by one replica's maintenance at a time, released by `maintenance_unlock`."""
        return bool(await conn.fetchval(Q.try_maintenance_lock))

    async def maintenance_unlock(self, conn: Conn) -> None:
        await conn.execute(Q.maintenance_unlock)
