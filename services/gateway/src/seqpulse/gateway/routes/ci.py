"""The CI API: `POST /deployments/trigger` and `POST /deployments/finish`, authenticated by `X-API-Key`."""

from __future__ import annotations

import math

from aiohttp import web

from seqpulse.gateway import lifecycle
from seqpulse.gateway.auth import authenticate_project
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import ProjectRow
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, read_json, respond
from seqpulse.gateway.schemas.ci import FinishRequest, FinishResponse, TriggerRequest, TriggerResponse


def operations(res: Resources) -> list[Operation]:
    async def authorize(request: web.Request, action: str) -> tuple[ProjectRow, dict[str, str]]:
        # Authentication first, as in the original: an invalid key gets 401 without spending anyone's quota.
        async with res.pool.acquire() as conn:
            project, key_id = await authenticate_project(conn, request)
        decision = res.limiter.hit((action, key_id))  # limits are per route per key, as in the original
        headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(decision.reset_in)),
        }
        if not decision.allowed:
            raise Problem(
                429,
                f"Rate limit exceeded: {decision.limit} per 1 minute",
                code="rate_limited",
                headers={**headers, "Retry-After": str(decision.retry_after)},
            )
        return project, headers

    async def trigger(request: web.Request) -> web.Response:
        project, headers = await authorize(request, "trigger")
        body = await read_json(request, TriggerRequest)
        answer = await lifecycle.trigger(
            res, project, body, request.headers.get("X-Idempotency-Key"), country=res.country(request)
        )
        return respond(answer, headers=headers)

    async def finish(request: web.Request) -> web.Response:
        project, headers = await authorize(request, "finish")
        body = await read_json(request, FinishRequest)
        answer = await lifecycle.finish(res, project, body, country=res.country(request))
        return respond(answer, headers=headers)

    common_errors = (400, 401, 409, 413, 422, 423, 429)
    return [
        Operation(
            "POST",
            "/deployments/trigger",
            trigger,
            "Announce a deployment (before deploying)",
            "CI",
            auth="api_key",
            request=TriggerRequest,
            response=TriggerResponse,
            errors=(*common_errors, 402),
        ),
        Operation(
            "POST",
            "/deployments/finish",
            finish,
            "Say a deployment ended (success or failure)",
            "CI",
            auth="api_key",
            request=FinishRequest,
            response=FinishResponse,
            errors=common_errors,
        ),
    ]
