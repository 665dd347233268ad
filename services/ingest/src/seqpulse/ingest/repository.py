"""The ingest service's database access: store a batch's new events and add which they are to the rollup
backlog, fold the backlog into the rollups (rollups.sql), partitions and retention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.ingest.events import COLUMNS, Row
from seqpulse.ingest.partitions import partition_day
from seqpulse.ingest.summary import BatchSummary, Fact, KnownFacts, columns, merge, summarise

Q = Queries(Path(__file__).with_name("queries.sql"))
R = Queries(Path(__file__).with_name("rollups.sql"))
# How long DDL on product_events may wait for its lock before giving up until next time.
DDL_LOCK_TIMEOUT = "5s"
# Active days are kept this much longer than the events (the longest rolling window).
FACTS_KEPT_EXTRA_DAYS = 60
# A rebuild reads every event kept: far longer than the pool's command timeout.
REBUILD_TIMEOUT = 4 * 3600.0


# Summaries folded by one transaction at most: a backlog left by an outage is folded in several.
FOLD_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Pending:
    """The backlog row the batch's transaction added (its id), and the summary of its events, which this
    replica holds until it folds it."""

    id: int
    summary: BatchSummary


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch's transaction did: new events stored, users whose day they fall in, and what it
    added to the backlog (None when nothing was new)."""

    stored: int
    users: int
    pending: Pending | None = None


@dataclass(frozen=True, slots=True)
class Folded:
    """What one fold did: the summaries it took from the backlog (their ids) and the events they count."""

    ids: list[int] = field(default_factory=list)
    events: int = 0


class IngestRepository:
    def __init__(self, pool: Pool, known: KnownFacts | None = None) -> None:
        self.pool = pool
        self.known = KnownFacts() if known is None else known

    async def write(self, rows: Sequence[Row]) -> Written:
        """Store the rows not stored yet and add which they are to the rollup backlog, in one transaction;
        their summary comes back with what was written (`Pending`), for this replica to hold."""
        # One row per key (a key repeated within the batch: its first row stands for it), in key order:
        # two replicas writing the same keys wait on each other in the same order, never in a cycle.
        rows = sorted({(row[0], row[1]): row for row in reversed(rows)}.values(), key=_key)
        try:
            # A batch is usually all new: COPY'd straight into the table, in four round trips (BEGIN, the
            # COPY, the backlog's row, COMMIT).
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table("product_events", records=rows, columns=COLUMNS)
                return await self._add_to_backlog(conn, rows)
        except asyncpg.UniqueViolationError:
            # It repeats a stored event (a redelivery): nothing of it was kept; it goes again, the slow way.
            return await self._write_skipping_repeats(rows)

    async def _write_skipping_repeats(self, rows: Sequence[Row]) -> Written:
        """Through the connection's staging table: only the rows whose key is not stored yet go in."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.create_staging)
            await conn.copy_records_to_table("ingest_staging", records=rows, columns=COLUMNS)
            stored = {(str(r["event_id"]), r["occurred_at"]) for r in await conn.fetch(R.insert_staged)}
            return await self._add_to_backlog(conn, [row for row in rows if (row[0], row[1]) in stored])

    async def _add_to_backlog(self, conn: Conn, new: Sequence[Row]) -> Written:
        if not new:
            return Written(0, 0)
        summary = summarise(new, self.known)
        times = [row[1] for row in new]
        ids = "{" + ",".join([row[0] for row in new]) + "}"  # canonical UUIDs: nothing to quote
        backlog_id = await conn.fetchval(R.add_to_backlog, summary.events, ids, min(times), max(times))
        return Written(len(new), len(summary.user_days), Pending(backlog_id, summary))

    async def _read_back(self, conn: Conn, taken: asyncpg.Record) -> BatchSummary:
        """The summary of a backlog row no replica holds: its events read back and summed up again."""
        found = await conn.fetch(
            R.read_back, taken["event_ids"], taken["first_at"], taken["last_at"], str(taken["stored_by"])
        )
        # Rows as `summarise` reads them: the plan, the source and the properties count in no rollup.
        rows: list[Row] = [
            (
                r["event_id"],
                r["occurred_at"],
                r["received_at"],
                r["event_name"],
                r["user_key"],
                None if r["project_id"] is None else UUID(bytes=r["project_id"].bytes),
                None,
                r["country"],
                "",
                b"",
            )
            for r in found
        ]
        return summarise(rows, self.known)

    async def fold(self, cached: Mapping[int, BatchSummary] | None = None, limit: int = FOLD_LIMIT) -> Folded:
        """Fold the oldest `limit` batches of the backlog into the rollups, and delete them, in one
        transaction. `cached`: summaries this replica still holds (by backlog id), not read back."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.lock_rollups)
            folded, facts = await self._fold(conn, cached or {}, limit)
        self.known.add(facts)
        return folded

    async def _fold(
        self, conn: Conn, cached: Mapping[int, BatchSummary], limit: int
    ) -> tuple[Folded, list[Fact]]:
        """Under the rollup lock: the fold, and the scoped facts it sent (stored once it commits)."""
        taken = await conn.fetch(R.take_backlog, list(cached), limit)
        if not taken:
            return Folded(), []
        # The keys come back only for the rows this replica does not hold.
        summaries = [
            cached[r["id"]] if r["event_ids"] is None else await self._read_back(conn, r) for r in taken
        ]
        summary = merge(summaries)
        facts = [fact for fact in summary.facts if fact not in self.known]
        summary = replace(summary, facts=facts)
        await conn.execute(R.plan_mode, "force_generic_plan")
        new_facts = await conn.fetch(R.add_facts, *summary.facts_args())
        await conn.execute(R.plan_mode, "auto")
        if new_facts:
            await conn.execute(R.add_active_user_changes, *columns(new_facts, 3))
        await conn.execute(R.merge_sessions, *summary.sessions_args())
        return Folded([r["id"] for r in taken], sum(r["events"] for r in taken)), facts

    async def rebuild_rollups(self, timeout: float = REBUILD_TIMEOUT) -> None:
        """Recompute every rollup from the events kept, in one transaction under the rollup lock
        (batches wait meanwhile). About a minute per million events on two cores."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.lock_rollups)
            await conn.execute(R.clear_backlog)
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
        """Forget the rollups of days before `day`; returns the daily-activity rows deleted. The backlog
        is folded first, so no summary of those days comes after the deletes."""
        async with conn.transaction():
            await conn.execute(R.lock_rollups)
            facts: list[Fact] = []
            while True:
                folded, sent = await self._fold(conn, {}, FOLD_LIMIT)
                facts += sent
                if len(folded.ids) < FOLD_LIMIT:
                    break
            deleted = await conn.fetchval(
                Q.delete_rollups_before, day, day - timedelta(days=FACTS_KEPT_EXTRA_DAYS)
            )
        self.known.add(facts)
        return int(deleted)

    async def try_maintenance_lock(self, conn: Conn) -> bool:
        """Session-level: held by one replica's maintenance at a time, released by `maintenance_unlock`."""
        return bool(await conn.fetchval(Q.try_maintenance_lock))

    async def maintenance_unlock(self, conn: Conn) -> None:
        await conn.execute(Q.maintenance_unlock)


def _key(row: Row) -> tuple[str, datetime]:
    """A row's key, (event id, occurred_at), in the order Postgres sorts it (events.Row)."""
    return row[0], row[1]
