"""Projects (USER): create (the API key is shown once), list, read, update, rotate the API key."""

from __future__ import annotations

import uuid

from aiohttp import web

from seqpulse.common.endpoints import endpoint_host, normalize_endpoint
from seqpulse.common.errors import ValidationFailed
from seqpulse.common.logging import get_logger
from seqpulse.gateway import plans
from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import authenticate_user, new_api_key
from seqpulse.gateway.auth import digest as hash_secret
from seqpulse.gateway.problems import Problem, not_found
from seqpulse.gateway.product_events import emit, settings_updated
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid, read_json, respond
from seqpulse.gateway.schemas.projects import (
    ApiKeyResponse,
    ProjectCreatedResponse,
    ProjectCreateRequest,
    ProjectListResponse,
    ProjectResponse,
    ProjectUpdateRequest,
)
from seqpulse.gateway.views import project_view

log = get_logger(__name__)


def plan_problem(exc: plans.PlanViolation) -> Problem:
    return Problem(422, f"{exc.field}: {exc.reason}", code="PLAN_LIMIT", errors=[(exc.field, exc.reason)])


def endpoint_problem(exc: ValidationFailed) -> Problem:
    return Problem(
        400, f"{exc.field}: {exc.reason}", code="ENDPOINT_INVALID_FORMAT", errors=[(exc.field, exc.reason)]
    )


async def visible_project(conn: repo.Conn, project_id: uuid.UUID, who: Principal) -> ProjectRow:
    """The project if the caller owns it (or is an admin); anything else is "not found", never "forbidden"."""
    row = await repo.project_visible(conn, project_id, who)
    if row is None:
        raise not_found("Project")
    return row


def operations(res: Resources) -> list[Operation]:
    async def create(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            body = await read_json(request, ProjectCreateRequest)
            try:
                envs = plans.resolve_envs(body.plan, body.envs)
                window = plans.check_window(body.plan, body.window_sequences)
            except plans.PlanViolation as exc:
                raise plan_problem(exc) from None
            try:
                candidate = normalize_endpoint(body.metrics_endpoint)
            except ValidationFailed as exc:
                raise endpoint_problem(exc) from None
            api_key, prefix = new_api_key()
            async with conn.transaction():
                project_id = await repo.insert_project(
                    conn,
                    owner_id=who.user_id,
                    name=body.name,
                    description=body.description,
                    plan=body.plan,
                    envs=envs,
                    window_sequences=window,
                    candidate=candidate,
                )
                await repo.insert_api_key(conn, project_id, prefix, hash_secret(api_key))
                await repo.insert_endpoint_event(
                    conn,
                    project_id,
                    who.user_id,
                    "endpoint_candidate_updated",
                    {
                        "mutation": "none",
                        "source": "project_create",
                        "candidate_host": endpoint_host(candidate),
                    },
                )
                await emit(
                    conn,
                    res.settings,
                    "project_created",
                    user_id=who.user_id,
                    project_id=project_id,
                    plan=body.plan,
                    country=res.country(request),
                    properties={"plan": body.plan, "envs": len(envs)},
                )
            row = await visible_project(conn, project_id, who)
        res.wake_relay()
        log.info("project_created", project_id=str(project_id), user_id=str(who.user_id), plan=body.plan)
        view = project_view(row)
        return respond(ProjectCreatedResponse(**view.model_dump(), api_key=api_key), status=201)

    async def list_(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            rows = await repo.projects_visible(conn, who)
        return respond(ProjectListResponse(items=[project_view(r) for r in rows]))

    async def get(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            row = await visible_project(conn, project_id, who)
        return respond(project_view(row))

    async def update(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            body = await read_json(request, ProjectUpdateRequest)
            await visible_project(conn, project_id, who)
            async with conn.transaction():
                row = await repo.lock_project(conn, project_id)
                plan = body.plan or row.plan
                try:
                    envs = (
                        plans.check_env_update(plan, body.envs)
                        if body.envs is not None
                        else plans.resolve_envs(plan, row.envs)
                    )
                    if "window_sequences" in body.model_fields_set:
                        window = plans.check_window(plan, body.window_sequences)
                    else:
                        # A plan change keeps the configured window only if the new plan offers it.
                        allowed = row.window_sequences in plans.rules(plan).windows
                        window = row.window_sequences if allowed else None
                except plans.PlanViolation as exc:
                    raise plan_problem(exc) from None
                await repo.update_project_settings(
                    conn,
                    project_id,
                    name=body.name or row.name,
                    description=body.description if body.description is not None else row.description,
                    plan=plan,
                    envs=envs,
                    window_sequences=window,
                )
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "project",
                    project_id=project_id,
                    plan=plan,
                    fields=sorted(body.model_fields_set),
                )
            updated = await visible_project(conn, project_id, who)
        res.wake_relay()
        log.info(
            "project_updated",
            project_id=str(project_id),
            user_id=str(who.user_id),
            fields=sorted(body.model_fields_set),
        )
        return respond(project_view(updated))

    async def rotate_key(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            row = await visible_project(conn, project_id, who)
            api_key, prefix = new_api_key()
            async with conn.transaction():
                await repo.revoke_api_keys(conn, project_id)
                await repo.insert_api_key(conn, project_id, prefix, hash_secret(api_key))
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "api_key",
                    action="rotate",
                    project_id=project_id,
                    plan=row.plan,
                )
        res.wake_relay()
        log.info("api_key_rotated", project_id=str(project_id), user_id=str(who.user_id), key_prefix=prefix)
        return respond(ApiKeyResponse(api_key=api_key, api_key_prefix=prefix))

    user_errors = (401, 403)
    return [
        Operation(
            "POST",
            "/projects",
            create,
            "Create a project (its API key is shown once)",
            "Projects",
            auth="user",
            scope="write",
            request=ProjectCreateRequest,
            response=ProjectCreatedResponse,
            status=201,
            errors=(*user_errors, 400, 413, 422),
        ),
        Operation(
            "GET",
            "/projects",
            list_,
            "List your projects",
            "Projects",
            auth="user",
            scope="read",
            response=ProjectListResponse,
            errors=user_errors,
        ),
        Operation(
            "GET",
            "/projects/{project_id}",
            get,
            "Read a project",
            "Projects",
            auth="user",
            scope="read",
            response=ProjectResponse,
            errors=(*user_errors, 404),
        ),
        Operation(
            "PATCH",
            "/projects/{project_id}",
            update,
            "Change name, description, plan, envs or window",
            "Projects",
            auth="user",
            scope="write",
            request=ProjectUpdateRequest,
            response=ProjectResponse,
            errors=(*user_errors, 400, 404, 422),
        ),
        Operation(
            "POST",
            "/projects/{project_id}/api-key/rotate",
            rotate_key,
            "Issue a new API key; the old one stops working at once",
            "Projects",
            auth="user",
            scope="write",
            response=ApiKeyResponse,
            errors=(*user_errors, 404),
        ),
    ]
