"""Rows the gateway would have written (a user, a project, finished deployments), inserted directly."""

from __future__ import annotations

import uuid
from datetime import datetime

from seqpulse.common.db.pool import Conn


async def seed_project(conn: Conn, endpoint: str, *, plan: str = "pro") -> uuid.UUID:
    """A user and an active project probing `endpoint` without HMAC; returns the project id."""
    user_id = await conn.fetchval(
        "INSERT INTO users (email, name) VALUES ($1, 'Bench') RETURNING id", f"{uuid.uuid4().hex}@bench.test"
    )
    project_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO projects (id, owner_id, name, plan, metrics_endpoint_active, endpoint_state)"
        " VALUES ($1, $2, 'bench', $3, $4, 'active')",
        project_id,
        user_id,
        plan,
        endpoint,
    )
    return project_id


async def seed_deployments(
    conn: Conn,
    project_id: uuid.UUID,
    count: int,
    *,
    endpoint: str,
    window: int,
    sequence_seconds: float,
    finished_at: datetime,
) -> list[uuid.UUID]:
    """`count` finished deployments of the project (numbered 1..count); returns their ids in order."""
    ids = [uuid.uuid4() for _ in range(count)]
    await conn.executemany(
        "INSERT INTO deployments (id, project_id, deployment_number, env, state, pipeline_result,"
        " metrics_endpoint, plan, window_sequences, sequence_seconds, started_at, finished_at)"
        " VALUES ($1, $2, $3, 'prod', 'finished', 'success', $4, 'pro', $5, $6, $7, $7)",
        [
            (deployment_id, project_id, number, endpoint, window, sequence_seconds, finished_at)
            for number, deployment_id in enumerate(ids, start=1)
        ],
    )
    return ids
