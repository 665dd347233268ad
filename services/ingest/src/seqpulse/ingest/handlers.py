"""Turns a batch of product events into one write, and tells the consumer which events to dead-letter."""

from __future__ import annotations

import time
from collections.abc import Sequence

from seqpulse.common.bus.batch import Envelope, Rejection
from seqpulse.common.logging import get_logger
from seqpulse.ingest import metrics
from seqpulse.ingest.events import EventRecord, plan_batch
from seqpulse.ingest.folding import RollupStage
from seqpulse.ingest.partitions import Clock
from seqpulse.ingest.writer import EventWriter

log = get_logger(__name__)


class EventBatches:
    def __init__(self, writer: EventWriter, stage: RollupStage, clock: Clock, retention_days: int) -> None:
        self.writer = writer
        self.stage = stage
        self.clock = clock
        self.retention_days = retention_days

    async def on_batch(self, batch: Sequence[Envelope[EventRecord]]) -> list[Rejection]:
        """Store the batch's new events and their summary; returns once committed (the consumer acks after
        that), and leaves the summary to the rollup stage."""
        self.stage.batch_started()
        try:
            return await self._store(batch)
        finally:
            self.stage.batch_ended()

    async def _store(self, batch: Sequence[Envelope[EventRecord]]) -> list[Rejection]:
        now = self.clock()
        plan = plan_batch([envelope.message for envelope in batch], now, self.retention_days)
        rejections = [Rejection(index, reason) for index, reason in plan.rejected.items()]
        stored = users = refused = 0
        if plan.rows:
            started = time.perf_counter()
            try:
                outcome = await self.writer.write(plan.rows)
            except BaseException:
                self.stage.wake()  # the commit may have gone through: the batch is in the backlog
                raise
            elapsed = time.perf_counter() - started
            metrics.BATCH_WRITE_SECONDS.observe(elapsed)
            stored, users, refused = outcome.stored, outcome.users, len(outcome.refused)
            for pending in outcome.pending:
                self.stage.add(pending)
            rejections += [Rejection(plan.positions[row], reason) for row, reason in outcome.refused.items()]
            committed = time.time()
            oldest = min(row[2] for row in plan.rows)
            metrics.BATCH_LAG_SECONDS.observe(max(0.0, committed - oldest.timestamp()))
            if stored:
                metrics.LAST_STORED.set(committed)
        metrics.BATCH_SIZE.observe(len(batch))
        # Rows neither stored nor refused were stored before; repeats within the batch are duplicates too.
        duplicates = len(plan.rows) - stored - refused + plan.repeats
        metrics.EVENTS.labels("stored").inc(stored)
        metrics.EVENTS.labels("duplicate").inc(duplicates)
        metrics.EVENTS.labels("dropped").inc(plan.dropped)
        # Rejected events are counted by the consumer's dead-letter hook, with the undecodable ones.
        log.debug(
            "events_batch_written",
            events=len(batch),
            stored=stored,
            duplicates=duplicates,
            dropped=plan.dropped,
            rejected=len(rejections),
            user_days=users,
        )
        if plan.dropped:
            log.info("events_past_retention_dropped", events=plan.dropped, retention_days=self.retention_days)
        return rejections
