"""Partition upkeep: make the days ahead, drop the days past the retention, forget their activity.

Every replica runs it; a session advisory lock lets one at a time do the work and the others skip.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from seqpulse.common.logging import get_logger
from seqpulse.ingest import metrics
from seqpulse.ingest.partitions import Clock, days_ahead, partition_name, retention_cutoff, utc_day
from seqpulse.ingest.repository import IngestRepository

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MaintenanceReport:
    created: list[str]
    dropped: list[str]
    activity_deleted: int


class Maintenance:
    def __init__(
        self,
        repo: IngestRepository,
        clock: Clock,
        *,
        retention_days: int,
        ahead_days: int,
        interval_seconds: float,
    ) -> None:
        self.repo = repo
        self.clock = clock
        self.retention_days = retention_days
        self.ahead_days = ahead_days
        self.interval_seconds = interval_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Every `interval_seconds` until stopped; a failed run is logged and tried again next time."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_seconds)
            if self._stopping.is_set():
                return
            try:
                await self.run_once()
            except Exception as exc:  # the loop must outlive a Postgres outage or a lock timeout
                metrics.MAINTENANCE_RUNS.labels("failed").inc()
                log.warning("maintenance_failed", error=f"{type(exc).__name__}: {exc}")

    async def run_once(self) -> MaintenanceReport | None:
        """One pass; None if another replica is doing it right now."""
        async with self.repo.pool.acquire() as conn:
            if not await self.repo.try_maintenance_lock(conn):
                metrics.MAINTENANCE_RUNS.labels("skipped").inc()
                return None
            try:
                today = utc_day(self.clock())
                cutoff = retention_cutoff(today, self.retention_days)
                created = [
                    partition_name(day)
                    for day in days_ahead(today, self.ahead_days)
                    if await self.repo.create_partition(day, conn)
                ]
                dropped = await self.repo.drop_partitions_before(cutoff, conn)
                deleted = await self.repo.delete_rollups_before(cutoff, conn)
            finally:
                await self.repo.maintenance_unlock(conn)
        metrics.MAINTENANCE_RUNS.labels("done").inc()
        metrics.PARTITION_CHANGES.labels("created").inc(len(created))
        metrics.PARTITION_CHANGES.labels("dropped").inc(len(dropped))
        log.info(
            "maintenance_done",
            today=today.isoformat(),
            kept_from=cutoff.isoformat(),
            partitions_created=created,
            partitions_dropped=dropped,
            activity_rows_deleted=deleted,
        )
        return MaintenanceReport(created, dropped, deleted)
