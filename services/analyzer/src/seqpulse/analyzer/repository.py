"""The analyzer's database access: reads the window's samples, writes verdicts, hints and outbox rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from seqpulse.analyzer.model import AnalysisResult, Sample
from seqpulse.common.db.outbox import enqueue
from seqpulse.common.db.pool import Conn
from seqpulse.common.db.queries import Queries
from seqpulse.common.messages import VerdictCreated
from seqpulse.common.messages.product import ProductEvent, pseudonymise

Q = Queries(Path(__file__).with_name("queries.sql"))
OUTBOX = "analyzer_outbox"


class AnalyzerRepository:
    def __init__(
        self, pool: asyncpg.Pool[Any], bus_prefix: str, *, pseudonym_key: bytes | None = None
    ) -> None:
        self.pool = pool
        self.prefix = bus_prefix
        # CommonSettings.pseudonym_key; without it `analysis_completed` carries no user (never a raw id).
        self.pseudonym_key = pseudonym_key

    async def deployment(self, deployment_id: uuid.UUID, conn: Conn) -> asyncpg.Record | None:
        return await conn.fetchrow(Q.deployment_for_analysis, deployment_id)

    async def samples(
        self, deployment_id: uuid.UUID, conn: Conn
    ) -> tuple[tuple[Sample, ...], tuple[Sample, ...]]:
        pre: list[Sample] = []
        post: list[Sample] = []
        for r in await conn.fetch(Q.samples, deployment_id):
            sample = Sample(
                r["collected_at"],
                r["requests_per_sec"],
                r["latency_p95"],
                r["error_rate"],
                r["cpu_usage"],
                r["memory_usage"],
                r["sequence_index"],
            )
            (pre if r["phase"] == "pre" else post).append(sample)
        return tuple(pre), tuple(post)

    async def latest_verdict(self, deployment_id: uuid.UUID, conn: Conn) -> asyncpg.Record | None:
        return await conn.fetchrow(Q.latest_verdict, deployment_id)

    async def verdict_by_request(self, request_id: uuid.UUID, conn: Conn) -> asyncpg.Record | None:
        return await conn.fetchrow(Q.verdict_by_request, request_id)

    async def analysed_deployments(
        self, project_id: uuid.UUID, limit: int, conn: Conn
    ) -> list[asyncpg.Record]:
        return list(await conn.fetch(Q.project_analysed_deployments, project_id, limit))

    async def store(
        self,
        deployment_id: uuid.UUID,
        project_id: uuid.UUID,
        version: int,
        result: AnalysisResult,
        cause: str,
        previous: str | None,
        conn: Conn,
        *,
        request_id: uuid.UUID | None = None,
        announce: bool = True,
    ) -> uuid.UUID | None:
        """Store a verdict version with all its hints (and, if `announce`, its announcement), or nothing
        if that version exists already (another delivery or replica got there first)."""
        data = result.to_dict()
        verdict_id = await conn.fetchval(
            Q.insert_verdict,
            deployment_id,
            project_id,
            version,
            result.policy,
            result.verdict,
            result.confidence,
            result.summary,
            list(result.details),
            result.insufficient_data,
            data["data_quality"],
            data["comparisons"],
            cause,
            request_id,
        )
        if verdict_id is None:
            return None
        await conn.executemany(
            Q.insert_hint,
            [
                (
                    verdict_id,
                    deployment_id,
                    project_id,
                    h.code,
                    h.metric,
                    h.severity,
                    h.title,
                    h.diagnosis,
                    list(h.suggested_actions),
                    h.observed_value,
                    h.threshold,
                    h.secured_threshold,
                    h.exceed_ratio,
                    h.tolerance,
                    h.confidence,
                    hint_data["evidence"],
                    list(h.composite_signals),
                )
                for h, hint_data in zip(result.hints, data["hints"], strict=True)
            ],
        )
        if not announce:
            return uuid.UUID(str(verdict_id))
        await enqueue(
            conn,
            OUTBOX,
            VerdictCreated(
                deployment_id=deployment_id,
                project_id=project_id,
                verdict_id=verdict_id,
                version=version,
                policy=result.policy,
                verdict=result.verdict,
                confidence=result.confidence,
                summary=result.summary,
                previous_verdict=previous,
                hint_count=len(result.hints),
            ),
            self.prefix,
        )
        return uuid.UUID(str(verdict_id))

    async def announce_analysis_completed(
        self, deployment: asyncpg.Record, verdict: str, closed_at: datetime, conn: Conn
    ) -> None:
        """The `analysis_completed` product event of a deployment's first verdict, in its transaction.

        `duration_ms` runs from the window's close to now (the verdict's commit, give or take)."""
        now = datetime.now(UTC)
        if closed_at.tzinfo is None:  # the collector sends UTC; an older producer may have omitted the zone
            closed_at = closed_at.replace(tzinfo=UTC)
        owner = deployment["owner_id"]
        await enqueue(
            conn,
            OUTBOX,
            ProductEvent(
                event_name="analysis_completed",
                occurred_at=now,
                user_key=pseudonymise(str(owner), self.pseudonym_key) if self.pseudonym_key else None,
                project_id=deployment["project_id"],
                plan=deployment["plan"],
                properties={
                    "deployment_id": str(deployment["id"]),
                    "verdict": verdict,
                    "duration_ms": max(0, round((now - closed_at).total_seconds() * 1000)),
                },
                source="internal",
            ),
            self.prefix,
        )
