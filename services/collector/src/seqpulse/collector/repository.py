"""The collector's database access: its job table, windows, samples, heartbeats and outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from seqpulse.collector.schedule import PlannedJob
from seqpulse.common.app_metrics import AppMetrics
from seqpulse.common.db.outbox import enqueue
from seqpulse.common.db.pool import Conn, Pool
from seqpulse.common.db.queries import Queries
from seqpulse.common.messages import SampleCollected, WindowClosed

Q = Queries(Path(__file__).with_name("queries.sql"))
OUTBOX = "collector_outbox"
JOBS_CHANNEL = "seqpulse_collection_jobs"


class CollectorRepository:
    def __init__(self, pool: Pool, bus_prefix: str) -> None:
        self.pool = pool
        self.prefix = bus_prefix

    async def add_jobs(
        self,
        deployment_id: uuid.UUID,
        project_id: uuid.UUID,
        jobs: list[PlannedJob],
        trace_headers: dict[str, str],
        conn: Conn,
    ) -> None:
        await conn.executemany(
            Q.insert_job,
            [
                (
                    deployment_id,
                    project_id,
                    j.phase,
                    j.sequence_index,
                    j.scheduled_at,
                    j.deadline_at,
                    trace_headers,
                )
                for j in jobs
            ],
        )
        # Delivered on commit: wakes every replica's scheduler, not only this process's.
        await conn.execute(f"NOTIFY {JOBS_CHANNEL}")

    async def open_window(
        self,
        deployment_id: uuid.UUID,
        project_id: uuid.UUID,
        expected_post: int,
        sequence_seconds: float,
        finished_at: datetime,
        deadline_at: datetime,
        trace_headers: dict[str, str],
        conn: Conn,
    ) -> bool:
        created = await conn.fetchval(
            Q.insert_window,
            deployment_id,
            project_id,
            expected_post,
            sequence_seconds,
            finished_at,
            deadline_at,
            trace_headers,
        )
        return created is not None

    async def pre_job_rejection(self, deployment_id: uuid.UUID, conn: Conn) -> str | None:
        value = await conn.fetchval(Q.pre_job_rejection, deployment_id)
        return str(value) if value is not None else None

    async def claim(self, limit: int, lease_seconds: float) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(Q.claim_due_jobs, limit, lease_seconds))

    async def seconds_to_next_wakeup(self) -> float | None:
        async with self.pool.acquire() as conn:
            wait = await conn.fetchval(Q.next_wakeup)
        return None if wait is None else wait.total_seconds()

    async def probe_target(self, deployment_id: uuid.UUID) -> asyncpg.Record | None:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(Q.probe_target, deployment_id)

    async def store_sample(
        self, job: asyncpg.Record, collected_at: datetime, m: AppMetrics, conn: Conn
    ) -> bool:
        stored = await conn.fetchval(
            Q.insert_sample,
            job["deployment_id"],
            job["project_id"],
            job["phase"],
            job["sequence_index"],
            job["scheduled_at"],
            collected_at,
            m.requests_per_sec,
            m.latency_p95,
            m.error_rate,
            m.cpu_usage,
            m.memory_usage,
        )
        if stored is not None:
            await enqueue(
                conn,
                OUTBOX,
                SampleCollected(
                    deployment_id=job["deployment_id"],
                    project_id=job["project_id"],
                    phase=job["phase"],
                    sequence_index=job["sequence_index"],
                    collected_at=collected_at,
                ),
                self.prefix,
            )
        return stored is not None

    async def finish_job(self, job: asyncpg.Record, status: str, error: str | None, conn: Conn) -> bool:
        return await conn.fetchval(Q.finish_job, job["id"], job["attempts"], status, error) is not None

    async def retry_job(self, job: asyncpg.Record, error: str, at: datetime) -> bool:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(Q.retry_job, job["id"], job["attempts"], error, at) is not None

    async def close_if_complete(self, deployment_id: uuid.UUID, conn: Conn) -> bool:
        """Close the window when no post job is left open. The row lock serialises concurrent finishers,
        so two replicas completing the last two sequences cannot both miss (or both announce) the end."""
        window = await conn.fetchrow(Q.lock_window, deployment_id)
        if window is None or window["state"] != "open":
            return False
        counts = await self._counts(deployment_id, conn)
        if counts["open_post"] > 0:
            return False
        return await self._close(window, counts, "closed", "complete", None, conn)

    async def close_overdue(self, deployment_id: uuid.UUID, conn: Conn) -> bool:
        window = await conn.fetchrow(Q.lock_window, deployment_id)
        if window is None or window["state"] != "open":
            return False
        await conn.execute(Q.miss_open_post_jobs, deployment_id)
        counts = await self._counts(deployment_id, conn)
        return await self._close(window, counts, "closed", "deadline", None, conn)

    async def cancel_collection(self, deployment_id: uuid.UUID, reason: str, conn: Conn) -> bool:
        """Stop every open job of the deployment and, if its window is open, close it as cancelled."""
        await conn.execute(Q.cancel_open_jobs, deployment_id, f"cancelled: {reason}")
        window = await conn.fetchrow(Q.lock_window, deployment_id)
        if window is None or window["state"] != "open":
            return False
        counts = await self._counts(deployment_id, conn)
        return await self._close(window, counts, "cancelled", "cancelled", reason, conn)

    async def _close(
        self,
        window: asyncpg.Record,
        counts: asyncpg.Record,
        state: str,
        reason: str,
        cancel_reason: str | None,
        conn: Conn,
    ) -> bool:
        closed = await conn.fetchval(Q.close_window, window["deployment_id"], state, reason, cancel_reason)
        if closed is None:
            return False
        message = WindowClosed(
            deployment_id=window["deployment_id"],
            project_id=window["project_id"],
            reason=reason,
            expected_post=window["expected_post"],
            collected_post=counts["collected_post"],
            collected_pre=counts["collected_pre"],
            closed_at=datetime.now(UTC),
            cancel_reason=cancel_reason,
        )
        await enqueue(conn, OUTBOX, message, self.prefix)
        return True

    async def window_trace(self, deployment_id: uuid.UUID, conn: Conn) -> dict[str, str]:
        headers = await conn.fetchval(Q.window_trace, deployment_id)
        return dict(headers or {})

    async def _counts(self, deployment_id: uuid.UUID, conn: Conn) -> asyncpg.Record:
        row: asyncpg.Record | None = await conn.fetchrow(Q.window_counts, deployment_id)
        assert row is not None  # an aggregate always returns one row
        return row

    async def overdue_windows(self) -> list[uuid.UUID]:
        async with self.pool.acquire() as conn:
            return [r["deployment_id"] for r in await conn.fetch(Q.overdue_windows)]

    async def heartbeat(self, instance_id: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(Q.heartbeat, instance_id)

    async def job_counts(self) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(Q.job_counts)
        assert row is not None  # an aggregate always returns one row
        return row
