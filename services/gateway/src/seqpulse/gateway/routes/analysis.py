"""Replay a deployment's analysis and back-test a policy: synchronous requests to the analyzer over NATS."""

from __future__ import annotations

import uuid
from typing import Any

import nats.errors
import orjson
from aiohttp import web
from pydantic import BaseModel

from seqpulse.common.messages import BacktestRequested, ReanalysisRequested, rpc_subject
from seqpulse.gateway import read_repository as reads
from seqpulse.gateway.auth import authenticate_user
from seqpulse.gateway.problems import Problem, not_found
from seqpulse.gateway.records import Principal
from seqpulse.gateway.repository import Conn
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid, read_json, respond
from seqpulse.gateway.routes.deployments import resolve_deployment
from seqpulse.gateway.routes.projects import visible_project
from seqpulse.gateway.schemas.analysis import (
    BacktestRequest,
    BacktestResponse,
    ReanalyzeRequest,
    ReanalyzeResponse,
)

# A back-test replays up to 1000 deployments; the analyzer does ~10 000 pure analyses a second.
REQUEST_TIMEOUT_SECONDS = 30.0


async def ask_analyzer(res: Resources, name: str, request: BaseModel) -> dict[str, Any]:
    """One request/reply round trip; the analyzer's refusals come back as problems with its status."""
    try:
        reply = await res.bus.nc.request(
            rpc_subject(res.settings.bus_prefix, name),
            request.model_dump_json().encode(),
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
    except nats.errors.NoRespondersError:
        raise Problem(
            503, "The analyzer is not running; try again shortly", code="ANALYZER_UNAVAILABLE"
        ) from None
    except nats.errors.TimeoutError:
        raise Problem(504, "The analyzer did not answer in time", code="ANALYZER_TIMEOUT") from None
    body = orjson.loads(reply.data)
    if "error" in body:
        raise Problem(body["error"]["status"], body["error"]["detail"], code="ANALYSIS_REFUSED")
    result: dict[str, Any] = body["result"]
    return result


def operations(res: Resources) -> list[Operation]:
    async def reanalyze(request: web.Request) -> web.Response:
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            deployment_id = await resolve_deployment(
                conn, who, request.match_info["deployment_id"], None, field="deployment_id"
            )
            # resolve_deployment checks the id's shape; visibility comes from the owner-scoped read below.
            await _visible_deployment(conn, who, deployment_id)
        body = await read_json(request, ReanalyzeRequest) if request.body_exists else ReanalyzeRequest()
        result = await ask_analyzer(
            res,
            "reanalyze",
            ReanalysisRequested(request_id=uuid.uuid4(), deployment_id=deployment_id, policy=body.policy),
        )
        return respond(ReanalyzeResponse.model_validate(result))

    async def backtest(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            await visible_project(conn, project_id, who)
        body = await read_json(request, BacktestRequest)
        result = await ask_analyzer(
            res, "backtest", BacktestRequested(project_id=project_id, policy=body.policy, limit=body.limit)
        )
        return respond(BacktestResponse.model_validate(result))

    return [
        Operation(
            "POST",
            "/deployments/{deployment_id}/reanalyze",
            reanalyze,
            "Analyse a deployment again (optionally under another policy); stores a new verdict version",
            "analysis",
            auth="user",
            request=ReanalyzeRequest,
            response=ReanalyzeResponse,
            errors=(400, 401, 403, 404, 409, 422, 503, 504),
            scope="write",
        ),
        Operation(
            "POST",
            "/projects/{project_id}/backtest",
            backtest,
            "Which stored verdicts a policy would change (nothing is stored)",
            "analysis",
            auth="user",
            request=BacktestRequest,
            response=BacktestResponse,
            errors=(400, 401, 403, 404, 422, 503, 504),
            scope="read",
        ),
    ]


async def _visible_deployment(conn: Conn, who: Principal, deployment_id: uuid.UUID) -> None:
    if not await reads.deployment_views(conn, who, deployment_id=deployment_id, limit=1):
        raise not_found("Deployment")
