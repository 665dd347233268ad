"""Deployment reads (USER, owner-scoped): list, detail with window/verdict/hints, samples, and SDH."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from seqpulse.gateway import read_repository as reads
from seqpulse.gateway.auth import authenticate_user
from seqpulse.gateway.problems import bad_request, not_found
from seqpulse.gateway.records import Principal, public_id
from seqpulse.gateway.repository import Conn
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, read_query, respond
from seqpulse.gateway.routes.projects import visible_project
from seqpulse.gateway.schemas.reads import (
    DeploymentDetailQuery,
    DeploymentListQuery,
    DeploymentListResponse,
    DeploymentMetricsResponse,
    DeploymentResponse,
    MetricSampleView,
    SdhItem,
    SdhListResponse,
    SdhQuery,
)
from seqpulse.gateway.views import deployment_view, hint_view

_PUBLIC_ID = re.compile(r"^dpl_([1-9][0-9]{0,17})$")


async def resolve_deployment(
    conn: Conn, who: Principal, raw: str, project_id: uuid.UUID | None, *, field: str
) -> uuid.UUID:
    """A UUID, or `dpl_N` within `project_id` (numbers are per project, so they need one)."""
    match = _PUBLIC_ID.match(raw)
    if match is None:
        try:
            return uuid.UUID(raw)
        except ValueError:
            raise bad_request(field, "must be a UUID or dpl_<number>") from None
    if project_id is None:
        raise bad_request("project_id", f"is required when {field} is a dpl_<number> id")
    found = await reads.deployment_id_by_number(conn, who, project_id, int(match.group(1)))
    if found is None:
        raise not_found("Deployment")
    return found


async def _one(conn: Conn, who: Principal, deployment_id: uuid.UUID) -> DeploymentResponse:
    rows = await reads.deployment_views(conn, who, deployment_id=deployment_id, limit=1)
    if not rows:
        raise not_found("Deployment")
    row = rows[0]
    hints = (
        [hint_view(h) for h in await reads.hints_of_verdict(conn, row["verdict_id"])]
        if row["verdict_id"]
        else []
    )
    return deployment_view(row, hints)


def operations(res: Resources) -> list[Operation]:
    async def list_(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            query = read_query(request, DeploymentListQuery)
            if query.project_id is not None:
                await visible_project(conn, query.project_id, who)
            rows = await reads.deployment_views(
                conn, who, project_id=query.project_id, env=query.env, before=query.before, limit=query.limit
            )
        items = [deployment_view(row, []) for row in rows]
        next_before = items[-1].started_at if len(items) == query.limit else None
        return respond(DeploymentListResponse(items=items, next_before=next_before))

    async def detail(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            query = read_query(request, DeploymentDetailQuery)
            deployment_id = await resolve_deployment(
                conn, who, request.match_info["deployment_id"], query.project_id, field="deployment_id"
            )
            return respond(await _one(conn, who, deployment_id))

    async def metrics(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            query = read_query(request, DeploymentDetailQuery)
            deployment_id = await resolve_deployment(
                conn, who, request.match_info["deployment_id"], query.project_id, field="deployment_id"
            )
            rows = await reads.deployment_views(conn, who, deployment_id=deployment_id, limit=1)
            if not rows:
                raise not_found("Deployment")
            samples = await reads.samples_of_deployment(conn, deployment_id)
        items = [MetricSampleView.model_validate(dict(s)) for s in samples]
        return respond(
            DeploymentMetricsResponse(
                deployment_id=deployment_id, public_id=public_id(rows[0]["deployment_number"]), items=items
            )
        )

    async def sdh(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            query = read_query(request, SdhQuery)
            if query.project_id is not None:
                await visible_project(conn, query.project_id, who)
            deployment_id = None
            if query.deployment_id is not None:
                deployment_id = await resolve_deployment(
                    conn, who, query.deployment_id, query.project_id, field="deployment_id"
                )
            rows = await reads.sdh_hints(
                conn,
                who,
                project_id=query.project_id,
                deployment_id=deployment_id,
                severity=query.severity,
                metric=query.metric,
                limit=query.limit,
            )
        items = [
            SdhItem(
                **hint_view(row).model_dump(),
                deployment_id=row["deployment_id"],
                public_id=public_id(row["deployment_number"]),
                project_id=row["project_id"],
                project_name=row["project_name"],
                env=row["env"],
                verdict_version=row["verdict_version"],
            )
            for row in rows
        ]
        return respond(SdhListResponse(items=items))

    errors = (400, 401, 403, 404, 422)
    return [
        Operation(
            "GET",
            "/deployments",
            list_,
            "List deployments, newest first",
            "Deployments",
            auth="user",
            scope="read",
            query=DeploymentListQuery,
            response=DeploymentListResponse,
            errors=errors,
        ),
        Operation(
            "GET",
            "/deployments/{deployment_id}",
            detail,
            "A deployment with its window, verdict and hints (UUID, or dpl_N with project_id)",
            "Deployments",
            auth="user",
            scope="read",
            query=DeploymentDetailQuery,
            response=DeploymentResponse,
            errors=errors,
        ),
        Operation(
            "GET",
            "/deployments/{deployment_id}/metrics",
            metrics,
            "The samples collected, oldest first",
            "Deployments",
            auth="user",
            scope="read",
            query=DeploymentDetailQuery,
            response=DeploymentMetricsResponse,
            errors=errors,
        ),
        Operation(
            "GET",
            "/sdh",
            sdh,
            "Diagnostic hints of the latest verdict of each deployment",
            "Deployments",
            auth="user",
            scope="read",
            query=SdhQuery,
            response=SdhListResponse,
            errors=errors,
        ),
    ]
