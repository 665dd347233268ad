"""Writes a batch's rows: makes the partitions it lacks first, and isolates an event Postgres refuses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import asyncpg

from seqpulse.common.logging import get_logger
from seqpulse.ingest import metrics
from seqpulse.ingest.events import Row
from seqpulse.ingest.partitions import partition_name, utc_day
from seqpulse.ingest.repository import Hold, IngestRepository, Pending

log = get_logger(__name__)


@dataclass
class Outcome:
    """New events stored, user-days touched, rows Postgres refused (row index → reason), and the
    summaries added to the rollup backlog."""

    stored: int = 0
    users: int = 0
    refused: dict[int, str] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.stored + other.stored,
            self.users + other.users,
            {**self.refused, **other.refused},
            self.pending + other.pending,
        )


class EventWriter:
    """One per replica: remembers which daily partitions exist so a batch usually needs no lookup. `hold`:
    told each batch's summary before its transaction commits (`IngestRepository.write`)."""

    def __init__(self, repo: IngestRepository, hold: Hold | None = None) -> None:
        self.repo = repo
        self.hold = hold
        self._known: set[date] | None = None

    async def write(self, rows: Sequence[Row]) -> Outcome:
        await self._ensure_partitions(rows)
        try:
            return await self._write_isolating(rows, 0)
        except asyncpg.CheckViolationError as exc:
            if "no partition" not in str(exc):
                raise
            # A partition went away under us (dropped by hand, or by maintenance at midnight): look again.
            self._known = None
            await self._ensure_partitions(rows)
            return await self._write_isolating(rows, 0)

    async def _ensure_partitions(self, rows: Sequence[Row]) -> None:
        # In their own short transactions, before the batch's: inside it, the parent's exclusive lock would
        # be held for the whole batch, and two replicas upgrading their locks there could deadlock.
        if self._known is None:
            self._known = await self.repo.partition_days()
        for day in sorted({utc_day(row[1]) for row in rows} - self._known):
            if await self.repo.create_partition(day):
                metrics.PARTITION_CHANGES.labels("created").inc()
                log.info("partition_created", partition=partition_name(day), cause="event")
            self._known.add(day)

    async def _write_isolating(self, rows: Sequence[Row], offset: int) -> Outcome:
        """All rows in one transaction; if Postgres refuses a value (SQLSTATE class 22), halve the batch
        until the refused rows stand alone, so one bad event does not hold back a thousand good ones."""
        try:
            written = await self.repo.write(rows, self.hold)
        except asyncpg.DataError as exc:
            if len(rows) == 1:
                return Outcome(refused={offset: f"refused by Postgres ({exc.sqlstate}): {exc}"[:300]})
            middle = len(rows) // 2
            left = await self._write_isolating(rows[:middle], offset)
            return left + await self._write_isolating(rows[middle:], offset + middle)
        return Outcome(written.stored, written.users, pending=[written.pending] if written.pending else [])
