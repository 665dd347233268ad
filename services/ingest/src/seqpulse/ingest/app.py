"""Composition root of the ingest service: pool, bus, partition upkeep, the batched event consumer and
the rollup stage."""

from __future__ import annotations

from seqpulse.common.bus.batch import BatchConsumer
from seqpulse.common.bus.streams import INGEST_EVENTS
from seqpulse.common.logging import get_logger
from seqpulse.common.runtime import Service
from seqpulse.ingest import metrics
from seqpulse.ingest.config import IngestSettings
from seqpulse.ingest.decoding import EventCodec
from seqpulse.ingest.events import EventRecord
from seqpulse.ingest.folding import RollupStage
from seqpulse.ingest.handlers import EventBatches
from seqpulse.ingest.maintenance import Maintenance
from seqpulse.ingest.partitions import Clock, utc_now
from seqpulse.ingest.repository import IngestRepository
from seqpulse.ingest.writer import EventWriter

log = get_logger(__name__)


class IngestService(Service):
    name = "ingest"

    def __init__(self, settings: IngestSettings, *, clock: Clock = utc_now) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock
        self.maintenance: Maintenance | None = None

    async def start(self) -> None:
        s = self.settings
        pool = await self.open_pool(s)
        bus = await self.open_bus(s)
        repo = IngestRepository(pool)
        maintenance = self.maintenance = Maintenance(
            repo,
            self.clock,
            retention_days=s.events_retention_days,
            ahead_days=s.ingest_partitions_ahead_days,
            interval_seconds=s.ingest_maintenance_interval_seconds,
        )
        # Before the first batch: today's and the coming days' partitions exist, expired ones are gone.
        await maintenance.run_once()
        if await repo.rollups_missing():
            # Events stored before the rollups existed (an upgrade): count them once, then keep up.
            log.info("rollups_rebuild_started")
            await repo.rebuild_rollups()
            log.info("rollups_rebuilt")
        stage = RollupStage(repo, interval_seconds=s.ingest_rollup_interval_seconds)
        batches = EventBatches(EventWriter(repo, hold=stage.hold), stage, self.clock, s.events_retention_days)
        consumer = BatchConsumer(
            bus,
            INGEST_EVENTS,
            EventCodec(),
            batches.on_batch,
            batch_size=s.ingest_batch_size,
            max_wait_seconds=s.ingest_batch_max_wait_seconds,
            linger_seconds=s.ingest_batch_linger_seconds,
            on_dead_letter=metrics.rejected,
        )
        self.spawn(maintenance.run(), "maintenance", maintenance.stop)
        self.spawn(self._consume(consumer, stage), "consumer", consumer.stop)
        self.spawn(stage.run(), "rollups")
        await super().start()

    @staticmethod
    async def _consume(consumer: BatchConsumer[EventRecord], stage: RollupStage) -> None:
        """The consumer until it has drained; then the rollup stage folds what it committed, and stops."""
        try:
            await consumer.run()
        finally:
            stage.stop()
