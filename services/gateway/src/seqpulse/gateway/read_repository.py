"""Read-only queries over deployments and what the collector and analyzer wrote (`reads.sql`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from seqpulse.common.db.queries import Queries
from seqpulse.gateway.records import Principal, Row
from seqpulse.gateway.repository import Conn

R = Queries(Path(__file__).with_name("reads.sql"))


async def deployment_views(
    conn: Conn,
    who: Principal,
    *,
    deployment_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    env: str | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> list[Row]:
    return list(
        await conn.fetch(
            R.deployment_views,
            who.sees_everything,
            who.user_id,
            deployment_id,
            project_id,
            env,
            before,
            limit,
        )
    )


async def deployment_id_by_number(
    conn: Conn, who: Principal, project_id: uuid.UUID, number: int
) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        R.deployment_id_by_number, who.sees_everything, who.user_id, project_id, number
    )
    return found


async def hints_of_verdict(conn: Conn, verdict_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(R.hints_of_verdict, verdict_id))


async def samples_of_deployment(conn: Conn, deployment_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(R.samples_of_deployment, deployment_id))


async def sdh_hints(
    conn: Conn,
    who: Principal,
    *,
    project_id: uuid.UUID | None,
    deployment_id: uuid.UUID | None,
    severity: str | None,
    metric: str | None,
    limit: int,
) -> list[Row]:
    return list(
        await conn.fetch(
            R.sdh_hints, who.sees_everything, who.user_id, project_id, deployment_id, severity, metric, limit
        )
    )


async def scheduler_snapshot(conn: Conn, stuck_after_seconds: float) -> Row:
    row: Row = await conn.fetchrow(R.scheduler_snapshot, stuck_after_seconds)
    return row
