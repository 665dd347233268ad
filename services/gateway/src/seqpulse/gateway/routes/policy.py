"""`GET|PUT /projects/{id}/policy`: which policy decides the project's windows, with which settings."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from seqpulse.common.logging import get_logger
from seqpulse.common.policy_settings import (
    DEFAULT_POLICY,
    KNOWN_POLICIES,
    InvalidPolicySettingsError,
    load_settings,
)
from seqpulse.gateway.auth import authenticate_user
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.product_events import settings_updated
from seqpulse.gateway.repository import Conn, Q
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid, read_json, respond
from seqpulse.gateway.routes.projects import visible_project
from seqpulse.gateway.schemas.policy import PolicyResponse, PolicyUpdateRequest

log = get_logger(__name__)


def _view(policy: str | None, settings: dict[str, Any]) -> PolicyResponse:
    return PolicyResponse(
        analysis_policy=policy,
        effective_policy=policy or DEFAULT_POLICY,
        settings=settings,
        effective_settings=load_settings(settings).model_dump(mode="json"),
        available_policies=list(KNOWN_POLICIES),
    )


def _validated(body: PolicyUpdateRequest) -> None:
    if body.analysis_policy is not None and body.analysis_policy not in KNOWN_POLICIES:
        reason = f"must be one of: {', '.join(KNOWN_POLICIES)}"
        raise Problem(
            422, f"analysis_policy {reason}", code="validation_failed", errors=[("analysis_policy", reason)]
        )
    try:
        load_settings(body.settings)
    except InvalidPolicySettingsError as exc:
        field = f"settings.{exc.field}" if exc.field else "settings"
        raise Problem(422, str(exc), code="validation_failed", errors=[(field, exc.reason)]) from None


async def _stored(conn: Conn, project_id: Any) -> tuple[str | None, dict[str, Any]]:
    row = await conn.fetchrow(Q.project_policy, project_id)
    return row["analysis_policy"], dict(row["policy_settings"] or {})


def operations(res: Resources) -> list[Operation]:
    async def get(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            await visible_project(conn, project_id, who)
            return respond(_view(*await _stored(conn, project_id)))

    async def put(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        body = await read_json(request, PolicyUpdateRequest)
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            project = await visible_project(conn, project_id, who)
            _validated(body)
            async with conn.transaction():
                await conn.execute(Q.set_project_policy, project_id, body.analysis_policy, body.settings)
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "policy",
                    project_id=project_id,
                    plan=project.plan,
                    policy=body.analysis_policy,
                )
        res.wake_relay()
        log.info(
            "project_policy_updated",
            project_id=str(project_id),
            policy=body.analysis_policy,
            settings=sorted(body.settings),
        )
        return respond(_view(body.analysis_policy, body.settings))

    return [
        Operation(
            "GET",
            "/projects/{project_id}/policy",
            get,
            "The project's analysis policy and settings",
            "projects",
            auth="user",
            response=PolicyResponse,
            errors=(401, 403, 404),
            scope="read",
        ),
        Operation(
            "PUT",
            "/projects/{project_id}/policy",
            put,
            "Choose the policy deciding the project's windows, and its settings (validated)",
            "projects",
            auth="user",
            request=PolicyUpdateRequest,
            response=PolicyResponse,
            errors=(400, 401, 403, 404, 422),
            scope="write",
        ),
    ]
