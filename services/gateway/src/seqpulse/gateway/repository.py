"""The gateway's writes and the lookups they need, over the named queries of `queries.sql`.

Every function takes the connection (or pool) to run on, so callers decide what shares a transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from seqpulse.common.db.queries import Queries
from seqpulse.gateway.endpoint_lock import Activation
from seqpulse.gateway.plans import Plan
from seqpulse.gateway.records import DeploymentRow, Principal, ProjectRow, Row

Q = Queries(Path(__file__).with_name("queries.sql"))
# An asyncpg connection, pool connection or pool: asyncpg ships no type information.
Conn = Any


async def insert_user(
    conn: Conn, *, email: str, name: str, password_hash: str | None, is_admin: bool
) -> uuid.UUID:
    user_id: uuid.UUID = await conn.fetchval(Q.insert_user, email, name, password_hash, is_admin)
    return user_id


async def user_by_email(conn: Conn, email: str) -> Row | None:
    row: Row | None = await conn.fetchrow(Q.user_by_email, email)
    return row


async def insert_access_token(
    conn: Conn,
    *,
    user_id: uuid.UUID,
    name: str,
    prefix: str,
    token_hash: bytes,
    scopes: list[str],
    expires_at: datetime | None,
) -> Row:
    row: Row = await conn.fetchrow(
        Q.insert_access_token, user_id, name, prefix, token_hash, scopes, expires_at
    )
    return row


async def token_principal(conn: Conn, token_hash: bytes) -> Row | None:
    row: Row | None = await conn.fetchrow(Q.token_principal, token_hash)
    return row


async def touch_access_token(conn: Conn, token_id: uuid.UUID) -> None:
    await conn.execute(Q.touch_access_token, token_id)


async def list_access_tokens(conn: Conn, user_id: uuid.UUID) -> list[Row]:
    return list(await conn.fetch(Q.list_access_tokens, user_id))


async def revoke_access_token(conn: Conn, token_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return await conn.fetchval(Q.revoke_access_token, token_id, user_id) is not None


async def insert_project(
    conn: Conn,
    *,
    owner_id: uuid.UUID,
    name: str,
    description: str,
    plan: str,
    envs: list[str],
    window_sequences: int | None,
    candidate: str,
) -> uuid.UUID:
    project_id: uuid.UUID = await conn.fetchval(
        Q.insert_project, owner_id, name, description, plan, envs, window_sequences, candidate
    )
    return project_id


async def insert_api_key(conn: Conn, project_id: uuid.UUID, prefix: str, key_hash: bytes) -> None:
    await conn.execute(Q.insert_api_key, project_id, prefix, key_hash)


async def revoke_api_keys(conn: Conn, project_id: uuid.UUID) -> None:
    await conn.execute(Q.revoke_api_keys, project_id)


async def insert_endpoint_event(
    conn: Conn, project_id: uuid.UUID, actor: uuid.UUID | None, event_type: str, payload: dict[str, Any]
) -> None:
    await conn.execute(Q.insert_endpoint_event, project_id, actor, event_type, payload)


async def project_visible(conn: Conn, project_id: uuid.UUID, who: Principal) -> ProjectRow | None:
    row = await conn.fetchrow(Q.project_visible, project_id, who.sees_everything, who.user_id)
    return ProjectRow.of(row) if row is not None else None


async def projects_visible(conn: Conn, who: Principal) -> list[ProjectRow]:
    return [ProjectRow.of(r) for r in await conn.fetch(Q.projects_visible, who.sees_everything, who.user_id)]


async def lock_project(conn: Conn, project_id: uuid.UUID) -> ProjectRow:
    return ProjectRow.of(await conn.fetchrow(Q.lock_project, project_id))


async def update_project_settings(
    conn: Conn,
    project_id: uuid.UUID,
    *,
    name: str,
    description: str,
    plan: str,
    envs: list[str],
    window_sequences: int | None,
) -> None:
    await conn.execute(Q.update_project_settings, project_id, name, description, plan, envs, window_sequences)


async def project_by_api_key(conn: Conn, key_hash: bytes) -> tuple[ProjectRow, uuid.UUID] | None:
    row = await conn.fetchrow(Q.project_by_api_key, key_hash)
    return (ProjectRow.of(row), row["api_key_id"]) if row is not None else None


async def set_endpoint_candidate(conn: Conn, project_id: uuid.UUID, candidate: str) -> None:
    await conn.execute(Q.set_endpoint_candidate, project_id, candidate)


async def record_endpoint_test_failure(conn: Conn, project_id: uuid.UUID, error: str) -> None:
    await conn.execute(Q.record_endpoint_test_failure, project_id, error)


async def activate_endpoint(conn: Conn, project_id: uuid.UUID, activation: Activation) -> None:
    await conn.execute(
        Q.activate_endpoint,
        project_id,
        activation.active,
        activation.host_lock,
        activation.change_count,
        activation.migration_count,
        activation.baseline_version,
    )


async def set_hmac(conn: Conn, project_id: uuid.UUID, *, enabled: bool, sealed: bytes | None) -> None:
    await conn.execute(Q.set_hmac, project_id, enabled, sealed)


def _deployment(row: Row | None) -> DeploymentRow | None:
    return DeploymentRow.of(row) if row is not None else None


async def deployment_by_idempotency_key(conn: Conn, project_id: uuid.UUID, key: str) -> DeploymentRow | None:
    return _deployment(await conn.fetchrow(Q.deployment_by_idempotency_key, project_id, key))


async def running_deployment(conn: Conn, project_id: uuid.UUID, env: str) -> DeploymentRow | None:
    return _deployment(await conn.fetchrow(Q.running_deployment, project_id, env))


async def expire_stale_running(conn: Conn, project_id: uuid.UUID, env: str, ttl_seconds: float) -> Row | None:
    row: Row | None = await conn.fetchrow(Q.expire_stale_running, project_id, env, ttl_seconds)
    return row


async def deployments_started_this_month(conn: Conn, project_id: uuid.UUID) -> int:
    return int(await conn.fetchval(Q.deployments_started_this_month, project_id))


async def next_deployment_number(conn: Conn, project_id: uuid.UUID) -> int:
    return int(await conn.fetchval(Q.next_deployment_number, project_id))


async def insert_deployment(
    conn: Conn,
    *,
    project_id: uuid.UUID,
    number: int,
    env: str,
    idempotency_key: str | None,
    branch: str | None,
    metrics_endpoint: str,
    plan: str,
    window_sequences: int,
    sequence_seconds: float,
) -> DeploymentRow:
    row = await conn.fetchrow(
        Q.insert_deployment,
        project_id,
        number,
        env,
        idempotency_key,
        branch,
        metrics_endpoint,
        plan,
        window_sequences,
        sequence_seconds,
    )
    return DeploymentRow.of(row)


async def deployment_in_project(
    conn: Conn, deployment_id: uuid.UUID, project_id: uuid.UUID
) -> DeploymentRow | None:
    return _deployment(await conn.fetchrow(Q.deployment_in_project, deployment_id, project_id))


async def finish_deployment(conn: Conn, deployment_id: uuid.UUID, result: str) -> DeploymentRow | None:
    return _deployment(await conn.fetchrow(Q.finish_deployment, deployment_id, result))


async def project_plans_visible(
    conn: Conn, project_ids: list[uuid.UUID], who: Principal
) -> dict[uuid.UUID, Plan]:
    """The plans of those of `project_ids` the caller owns (every one, for an admin)."""
    rows = await conn.fetch(Q.project_plans_visible, project_ids, who.sees_everything, who.user_id)
    return {row["id"]: cast(Plan, row["plan"]) for row in rows}
