"""The job loop: claim due jobs with SKIP LOCKED, probe, store, retry or cancel, close windows."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from opentelemetry import trace

from seqpulse.collector import metrics
from seqpulse.collector.config import CollectorSettings
from seqpulse.collector.probe import ProbeFailed, ProbeOk, ProbeRejected, ProbeResult, probe
from seqpulse.collector.repository import JOBS_CHANNEL, CollectorRepository
from seqpulse.collector.schedule import backoff_seconds
from seqpulse.common.db.outbox import OutboxRelay
from seqpulse.common.db.pool import Conn
from seqpulse.common.logging import get_logger
from seqpulse.common.secretbox import SecretBox
from seqpulse.common.telemetry.tracing import context_from_headers, tracer

log = get_logger(__name__)
_tracer = tracer("seqpulse.collector.scheduler")


class JobScheduler:
    """Runs due jobs as soon as they are due: it sleeps exactly until the next one, and a NOTIFY on
    insert wakes it early, so the start lag is milliseconds rather than a poll interval."""

    def __init__(
        self,
        settings: CollectorSettings,
        repo: CollectorRepository,
        http: aiohttp.ClientSession,
        relay: OutboxRelay,
        listen_conn: asyncpg.Connection[Any],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.http = http
        self.relay = relay
        self.listen_conn = listen_conn
        self.box = SecretBox(settings.secret_key)
        self.instance_id = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.collector_concurrency)
        self._running: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        await self.listen_conn.add_listener(JOBS_CHANNEL, self._on_notify)
        beat = asyncio.create_task(self._heartbeat_loop())
        try:
            while not self._stopping.is_set():
                try:
                    await self._tick()
                except Exception as exc:  # the loop must survive a Postgres outage
                    log.warning("scheduler_tick_failed", error=f"{type(exc).__name__}: {exc}")
                    await self._sleep(1.0)
        finally:
            beat.cancel()
            with contextlib.suppress(Exception):
                await self.listen_conn.remove_listener(JOBS_CHANNEL, self._on_notify)
            # Drain: let in-flight probes finish and record their outcome.
            if self._running:
                await asyncio.wait(self._running, timeout=self.settings.collector_probe_timeout_seconds + 2)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _tick(self) -> None:
        for deployment_id in await self.repo.overdue_windows():
            await self._close_overdue(deployment_id)
        free = self.settings.collector_concurrency - len(self._running)
        jobs = await self.repo.claim(free, self.settings.collector_lease_seconds) if free > 0 else []
        for job in jobs:
            metrics.JOB_START_DELAY.labels(f"{job['phase']}_collect").observe(
                max(0.0, job["start_lag_seconds"])
            )
            task = asyncio.create_task(self._run_job(job))
            self._running.add(task)
            task.add_done_callback(self._job_done)
        if jobs and len(jobs) == free:
            return  # more may be due right now
        wait = await self.repo.seconds_to_next_wakeup()
        idle = self.settings.collector_idle_seconds
        await self._sleep(idle if wait is None else min(max(wait, 0.0), idle))

    def _job_done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()  # a slot is free again

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _heartbeat_loop(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.repo.heartbeat(self.instance_id)
                counts = await self.repo.job_counts()
                metrics.JOBS_PENDING.set(counts["pending"])
                metrics.JOBS_RUNNING.set(counts["running"])
            await asyncio.sleep(self.settings.collector_heartbeat_seconds)

    async def _run_job(self, job: asyncpg.Record) -> None:
        with _tracer.start_as_current_span(
            f"collect {job['phase']}",
            context=context_from_headers(job["trace_headers"]),
            kind=trace.SpanKind.INTERNAL,
            attributes={
                "seqpulse.deployment_id": str(job["deployment_id"]),
                "seqpulse.phase": job["phase"],
                "seqpulse.sequence_index": job["sequence_index"],
                "seqpulse.attempt": job["attempts"],
            },
        ):
            try:
                await self._execute(job)
            except Exception:  # the lease returns the job to the queue; log and move on
                log.exception(
                    "collection_job_crashed", job_id=job["id"], deployment_id=str(job["deployment_id"])
                )

    async def _execute(self, job: asyncpg.Record) -> None:
        ids = {
            "job_id": job["id"],
            "deployment_id": str(job["deployment_id"]),
            "phase": job["phase"],
            "sequence_index": job["sequence_index"],
            "attempt": job["attempts"],
        }
        target = await self.repo.probe_target(job["deployment_id"])
        if target is None:
            await self._finish(job, "cancelled", "deployment no longer exists", close=False)
            return
        if datetime.now(UTC) > job["deadline_at"]:
            await self._finish(job, "missed", "deadline passed before the probe could run", close=True)
            return
        secret = None
        if target["hmac_enabled"]:
            if target["hmac_secret_enc"] is None:
                await self._reject(job, "HMAC is enabled but the project has no secret")
                return
            secret = self.box.open(target["hmac_secret_enc"], context=str(job["project_id"]))
        async with self._slots:
            # The probe alone, not the wait for a slot; perf_counter, as uvloop's loop clock ticks in
            # whole milliseconds and stands still within an iteration of the loop.
            started = time.perf_counter()
            result = await probe(
                self.http,
                target["metrics_endpoint"],
                timeout=self.settings.collector_probe_timeout_seconds,
                hmac_secret=secret,
                project_id=str(job["project_id"]),
            )
            elapsed = time.perf_counter() - started
        metrics.PROBE_SECONDS.labels(_outcome(result)).observe(elapsed)
        if isinstance(result, ProbeOk):
            await self._store(job, result)
            log.info("metrics_collected", **ids)
        elif isinstance(result, ProbeRejected):
            log.warning("metrics_hmac_rejected", reason=result.reason, **ids)
            await self._reject(job, result.reason)
        else:
            await self._retry_or_fail(job, result, ids)

    async def _store(self, job: asyncpg.Record, result: ProbeOk) -> None:
        async with self.repo.pool.acquire() as conn, conn.transaction():
            if not await self.repo.finish_job(job, "done", None, conn):
                return  # our lease ran out and someone else owns the job now
            if await self.repo.store_sample(job, datetime.now(UTC), result.metrics, conn):
                metrics.METRICS_COLLECTED.labels(job["phase"]).inc()
            if job["phase"] == "post":
                await self._close_if_complete(job, conn)
        self.relay.wake()

    async def _retry_or_fail(self, job: asyncpg.Record, result: ProbeFailed, ids: dict[str, Any]) -> None:
        delay = backoff_seconds(
            job["attempts"],
            self.settings.collector_retry_base_seconds,
            self.settings.collector_retry_cap_seconds,
        )
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        if job["attempts"] < self.settings.collector_max_attempts and retry_at < job["deadline_at"]:
            await self.repo.retry_job(job, result.reason, retry_at)
            log.warning(
                "collection_retry_scheduled", reason=result.reason, delay_seconds=round(delay, 3), **ids
            )
            return
        metrics.JOBS_FAILED.labels("probe_failed").inc()
        log.warning("collection_job_failed", reason=result.reason, **ids)
        await self._finish(job, "failed", result.reason, close=job["phase"] == "post")

    async def _reject(self, job: asyncpg.Record, reason: str) -> None:
        """A signed probe was refused: no retry fixes a secret or clock mismatch; stop and say why."""
        metrics.JOBS_FAILED.labels("hmac_rejected").inc()
        async with self.repo.pool.acquire() as conn, conn.transaction():
            if not await self.repo.finish_job(job, "failed", f"hmac_rejected: {reason}", conn):
                return
            if await self.repo.cancel_collection(job["deployment_id"], f"hmac_rejected: {reason}", conn):
                metrics.WINDOWS_CLOSED.labels("cancelled").inc()
        self.relay.wake()

    async def _finish(self, job: asyncpg.Record, status: str, error: str, *, close: bool) -> None:
        async with self.repo.pool.acquire() as conn, conn.transaction():
            if not await self.repo.finish_job(job, status, error, conn):
                return
            if close:
                await self._close_if_complete(job, conn)
        self.relay.wake()

    async def _close_if_complete(self, job: asyncpg.Record, conn: Conn) -> None:
        if await self.repo.close_if_complete(job["deployment_id"], conn):
            metrics.WINDOWS_CLOSED.labels("complete").inc()
            log.info("window_closed", deployment_id=str(job["deployment_id"]), reason="complete")

    async def _close_overdue(self, deployment_id: uuid.UUID) -> None:
        async with self.repo.pool.acquire() as conn, conn.transaction():
            headers = await self.repo.window_trace(deployment_id, conn)
            with _tracer.start_as_current_span("close overdue window", context=context_from_headers(headers)):
                closed = await self.repo.close_overdue(deployment_id, conn)
        if closed:
            metrics.WINDOWS_CLOSED.labels("deadline").inc()
            log.info("window_closed", deployment_id=str(deployment_id), reason="deadline")
            self.relay.wake()


def _outcome(result: ProbeResult) -> str:
    return {ProbeOk: "ok", ProbeFailed: "failed", ProbeRejected: "rejected"}[type(result)]
