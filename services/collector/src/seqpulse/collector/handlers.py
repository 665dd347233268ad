"""Consumers of deployment facts: plan the pre job on trigger, the window and post jobs on finish."""

from __future__ import annotations

from collections.abc import Callable

from seqpulse.collector.repository import CollectorRepository
from seqpulse.collector.schedule import post_jobs, pre_job, window_deadline
from seqpulse.common.bus import Delivery
from seqpulse.common.logging import get_logger
from seqpulse.common.messages import DeploymentFinished, DeploymentTriggered
from seqpulse.common.telemetry.tracing import current_trace_headers

log = get_logger(__name__)


class DeploymentHandlers:
    """Idempotent: a redelivered fact inserts nothing new (unique job and window keys)."""

    def __init__(
        self,
        repo: CollectorRepository,
        sequence_seconds: float,
        wake: Callable[[], None],
        wake_relay: Callable[[], None],
    ) -> None:
        self.repo = repo
        self.sequence_seconds = sequence_seconds
        self.wake = wake
        self.wake_relay = wake_relay

    async def on_triggered(self, event: DeploymentTriggered, _delivery: Delivery) -> None:
        job = pre_job(event.triggered_at, self.sequence_seconds)
        async with self.repo.pool.acquire() as conn, conn.transaction():
            await self.repo.add_jobs(
                event.deployment_id, event.project_id, [job], current_trace_headers(), conn
            )
        self.wake()
        log.info("pre_collection_scheduled", deployment_id=str(event.deployment_id))

    async def on_finished(self, event: DeploymentFinished, _delivery: Delivery) -> None:
        jobs = post_jobs(event.finished_at, event.window_sequences, event.sequence_seconds)
        deadline = window_deadline(event.finished_at, event.window_sequences, event.sequence_seconds)
        trace_headers = current_trace_headers()
        async with self.repo.pool.acquire() as conn, conn.transaction():
            created = await self.repo.open_window(
                event.deployment_id,
                event.project_id,
                event.window_sequences,
                event.sequence_seconds,
                event.finished_at,
                deadline,
                trace_headers,
                conn,
            )
            if not created:
                return  # a redelivery: the window and its jobs exist already
            await self.repo.add_jobs(event.deployment_id, event.project_id, jobs, trace_headers, conn)
            # The baseline probe was already refused: the post probes would be too, so say so now.
            rejection = await self.repo.pre_job_rejection(event.deployment_id, conn)
            if rejection is not None:
                await self.repo.cancel_collection(event.deployment_id, rejection, conn)
        self.wake()
        self.wake_relay()
        log.info(
            "post_collection_scheduled",
            deployment_id=str(event.deployment_id),
            sequences=event.window_sequences,
            sequence_seconds=event.sequence_seconds,
        )
