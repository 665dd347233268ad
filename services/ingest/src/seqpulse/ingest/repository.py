"""The ingest service's database access: store a batch's new events and add which they are to the rollup
backlog, fold the backlog into the rollups (rollups.sql), partitions and retention."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.ingest.events import COLUMNS, Row
from seqpulse.ingest.partitions import partition_day, utc_day
from seqpulse.ingest.summary import (
    BatchSummary,
    Fact,
    KnownFacts,
    columns,
    join_sessions,
    merge_facts,
    sessions_args,
    summarise,
)

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


# Told a batch's summary before its transaction commits (`IngestRepository.write`).
Hold = Callable[[Pending], None]


@dataclass(frozen=True, slots=True)
class Written:
    """What one batch's transaction did: new events stored, users whose day they fall in, and what it
    added to the backlog (None when nothing was new)."""

    stored: int
    users: int
    pending: Pending | None = None


@dataclass(frozen=True, slots=True)
class Folded:
    """What one fold did: the backlog rows now folded into every rollup, and deleted (their ids), and the
    events they count. `through`: when a part stopped at its limit, the last row it took (the rows after
    it wait for the next fold); None when neither did."""

    ids: list[int] = field(default_factory=list)
    events: int = 0
    through: int | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One of the fold's two parts (ADR 0016): its name in rollup_backlog_folded and its lock."""

    name: str
    lock: int


FACTS = Part("facts", 0x5E90006)
SESSIONS = Part("sessions", 0x5E90007)


@dataclass(frozen=True, slots=True)
class Taken:
    """What one part took from the backlog: the rows' ids, and whether it stopped at its limit."""

    ids: list[int]
    full: bool


class IngestRepository:
    def __init__(self, pool: Pool, known: KnownFacts | None = None) -> None:
        self.pool = pool
        self.known = KnownFacts() if known is None else known

    async def write(self, rows: Sequence[Row], hold: Hold | None = None) -> Written:
        """Store the rows not stored yet and add which they are to the rollup backlog, in one transaction;
        their summary comes back with what was written (`Pending`), for this replica to hold. `hold` is
        also given it before the commit: a fold that starts between the commit and this call's return
        then finds the summary in memory instead of reading the batch back (the backlog row it names
        exists once the transaction commits, and never otherwise: its id is not used again)."""
        # One row per key (a key repeated within the batch: its first row stands for it), in the order of
        # `_key`: two replicas writing the same keys wait on each other in the same order, never in a cycle.
        rows = sorted({(row[0], row[1]): row for row in reversed(rows)}.values(), key=_key)
        try:
            # A batch is usually all new: COPY'd straight into the table, in four round trips (BEGIN, the
            # COPY, the backlog's row, COMMIT).
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.copy_records_to_table("product_events", records=rows, columns=COLUMNS)
                return await self._add_to_backlog(conn, rows, hold)
        except asyncpg.UniqueViolationError:
            # It repeats a stored event (a redelivery): nothing of it was kept; it goes again, the slow way.
            return await self._write_skipping_repeats(rows, hold)

    async def _write_skipping_repeats(self, rows: Sequence[Row], hold: Hold | None) -> Written:
        """Through the connection's staging table: only the rows whose key is not stored yet go in."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.create_staging)
            await conn.copy_records_to_table("ingest_staging", records=rows, columns=COLUMNS)
            stored = {(str(r["event_id"]), r["occurred_at"]) for r in await conn.fetch(R.insert_staged)}
            return await self._add_to_backlog(conn, [row for row in rows if (row[0], row[1]) in stored], hold)

    async def _add_to_backlog(self, conn: Conn, new: Sequence[Row], hold: Hold | None) -> Written:
        if not new:
            return Written(0, 0)
        summary = summarise(new, self.known)
        times = [row[1] for row in new]
        ids = "{" + ",".join([row[0] for row in new]) + "}"  # canonical UUIDs: nothing to quote
        backlog_id = await conn.fetchval(R.add_to_backlog, summary.events, ids, min(times), max(times))
        pending = Pending(backlog_id, summary)
        if hold is not None:
            hold(pending)
        return Written(len(new), len(summary.user_days), pending)

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
        """Fold the oldest `limit` batches of the backlog into the rollups, the two parts at once, each in
        its own transaction on its own connection (ADR 0016); then delete the rows both parts have folded.
        `cached`: summaries this replica still holds (by backlog id), not read back."""
        cached = cached or {}
        # Both parts run to their end before this returns or raises: a part that failed has left its
        # batches in the backlog, for the next fold.
        outcomes = await asyncio.gather(
            self._fold_part(FACTS, cached, limit),
            self._fold_part(SESSIONS, cached, limit),
            return_exceptions=True,
        )
        parts: list[Taken] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            parts.append(outcome)
        full = [taken.ids[-1] for taken in parts if taken.full]
        async with self.pool.acquire() as conn:
            done = await conn.fetch(R.clear_folded)
        return Folded([r["id"] for r in done], sum(r["events"] for r in done), min(full) if full else None)

    async def _fold_part(self, part: Part, cached: Mapping[int, BatchSummary], limit: int) -> Taken:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(R.lock_part, part.lock)
                taken, facts = await self._fold(conn, part, cached, limit)
            self.known.add(facts)  # committed
        return taken

    async def _fold(
        self, conn: Conn, part: Part, cached: Mapping[int, BatchSummary], limit: int
    ) -> tuple[Taken, list[Fact]]:
        """Under the part's lock: its fold, and the scoped facts it sent (stored once it commits). `cached`
        is read as the rows are taken (a batch committed since the fold began is in it)."""
        cached = dict(cached)
        taken = await conn.fetch(R.take_backlog, list(cached), limit, part.name)
        if not taken:
            return Taken([], False), []
        # The keys come back only for the rows this replica does not hold.
        summaries = [
            cached[r["id"]] if r["event_ids"] is None else await self._read_back(conn, r) for r in taken
        ]
        ids = [r["id"] for r in taken]
        if part is SESSIONS:
            await conn.execute(R.merge_sessions, *sessions_args(join_sessions(summaries)))
            return Taken(ids, len(ids) >= limit), []
        summary = merge_facts(summaries)
        facts = list(self.known.unknown(summary.facts))
        summary = replace(summary, facts=facts)
        await conn.execute(R.plan_mode, "force_generic_plan")
        new_facts = await conn.fetch(R.add_facts, *summary.facts_args())
        await conn.execute(R.plan_mode, "auto")
        if new_facts:
            await conn.execute(R.add_active_user_changes, *columns(new_facts, 3))
        return Taken(ids, len(ids) >= limit), facts

    async def rebuild_rollups(self, timeout: float = REBUILD_TIMEOUT) -> None:
        """Recompute every rollup from the events kept, in one transaction under the rollup lock
        (batches wait meanwhile). About a minute per million events on two cores."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(R.lock_rollups, FACTS.lock, SESSIONS.lock)
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
        is folded first, both parts, so no summary of those days comes after the deletes."""
        async with conn.transaction():
            await conn.execute(R.lock_rollups, FACTS.lock, SESSIONS.lock)
            facts: list[Fact] = []
            for part in (FACTS, SESSIONS):
                while True:
                    taken, sent = await self._fold(conn, part, {}, FOLD_LIMIT)
                    facts += sent
                    if not taken.full:
                        break
            await conn.execute(R.clear_folded)
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


def _key(row: Row) -> tuple[date, str, datetime]:
    """The order a batch's rows are inserted in: by partition (the UTC day), then by key (event id,
    occurred_at) as Postgres sorts it (events.Row). COPY into the partitioned table buffers the rows of
    each partition and inserts them a partition at a time, in the order it first met the partitions; in
    key order alone, two batches holding the same keys over several days could each insert a key the
    other then waits for, and deadlock."""
    return utc_day(row[1]), row[0], row[1]
