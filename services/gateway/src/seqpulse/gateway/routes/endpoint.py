"""The metrics endpoint lock (candidate, test, activation; reference §2.4) and HMAC secrets (USER)."""

from __future__ import annotations

import dataclasses
import secrets

from aiohttp import web

from seqpulse.common.endpoints import endpoint_host, mask_endpoint, normalize_endpoint
from seqpulse.common.errors import ValidationFailed
from seqpulse.common.logging import get_logger
from seqpulse.gateway import endpoint_lock
from seqpulse.gateway import repository as repo
from seqpulse.gateway.auth import authenticate_user
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.product_events import settings_updated
from seqpulse.gateway.records import ProjectRow
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.routes import Operation, path_uuid, read_json, respond
from seqpulse.gateway.routes.projects import endpoint_problem, visible_project
from seqpulse.gateway.schemas.projects import (
    EndpointResponse,
    EndpointTestResponse,
    EndpointUpdateRequest,
    HmacSecretResponse,
    ProjectResponse,
)
from seqpulse.gateway.views import ENDPOINT_TEST_FAILED, endpoint_view, project_view

log = get_logger(__name__)


def _not_blocked(row: ProjectRow) -> None:
    if row.endpoint_state == "blocked":
        raise Problem(423, "This project's metrics endpoint is blocked", code="PROJECT_ENDPOINT_BLOCKED")


def _quota(row: ProjectRow, mutation: endpoint_lock.Mutation) -> None:
    try:
        endpoint_lock.check_quota(row.plan, row.lock_state(), mutation)
    except endpoint_lock.QuotaExceeded as exc:
        raise Problem(409, exc.reason, code=exc.code, errors=[("metrics_endpoint", exc.reason)]) from None


def new_hmac_secret() -> str:
    return "spm_" + secrets.token_urlsafe(32)


def operations(res: Resources) -> list[Operation]:
    async def get(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "read")
            return respond(endpoint_view(await visible_project(conn, project_id, who)))

    async def put(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            body = await read_json(request, EndpointUpdateRequest)
            await visible_project(conn, project_id, who)
            try:
                candidate = normalize_endpoint(body.metrics_endpoint)
            except ValidationFailed as exc:
                raise endpoint_problem(exc) from None
            async with conn.transaction():
                row = await repo.lock_project(conn, project_id)
                _not_blocked(row)
                mutation = endpoint_lock.classify(row.lock_state(), candidate)
                _quota(row, mutation)
                await repo.set_endpoint_candidate(conn, project_id, candidate)
                await repo.insert_endpoint_event(
                    conn,
                    project_id,
                    who.user_id,
                    "endpoint_candidate_updated",
                    {"mutation": mutation, "candidate_host": endpoint_host(candidate)},
                )
            log.info(
                "endpoint_candidate_updated",
                project_id=str(project_id),
                mutation=mutation,
                endpoint=mask_endpoint(candidate),
            )
            return respond(endpoint_view(await visible_project(conn, project_id, who)))

    async def test(request: web.Request) -> web.Response:
        project_id = path_uuid(request, "project_id", "Project")
        async with res.pool.acquire() as conn:
            who = await authenticate_user(conn, request, "write")
            row = await visible_project(conn, project_id, who)
        _not_blocked(row)
        candidate = row.metrics_endpoint_candidate
        if candidate is None:
            raise Problem(400, "No candidate endpoint to test; PUT one first", code="ENDPOINT_MISSING")
        _quota(row, endpoint_lock.classify(row.lock_state(), candidate))
        secret = res.hmac_secret(row)
        # The probe runs outside any transaction: no row stays locked while we wait on the network.
        outcome = await res.probe.probe(candidate, secret=secret, project_id=str(row.id))
        host = endpoint_host(candidate)
        async with res.pool.acquire() as conn:
            if outcome.metrics is None:
                async with conn.transaction():
                    await repo.record_endpoint_test_failure(conn, project_id, outcome.reason)
                    await repo.insert_endpoint_event(
                        conn,
                        project_id,
                        who.user_id,
                        "endpoint_test_failed",
                        {"candidate_host": host, "error": outcome.reason},
                    )
                log.info(
                    "endpoint_test_failed",
                    project_id=str(project_id),
                    endpoint=mask_endpoint(candidate),
                    reason=outcome.reason,
                )
                raise Problem(
                    400,
                    f"Endpoint test failed: {outcome.reason}",
                    code=ENDPOINT_TEST_FAILED,
                    errors=[("metrics_endpoint", outcome.reason)],
                )
            async with conn.transaction():
                current = await repo.lock_project(conn, project_id)
                if current.metrics_endpoint_candidate != candidate:
                    raise Problem(
                        409,
                        "The candidate endpoint changed during the test; test again",
                        code="ENDPOINT_CHANGED",
                    )
                try:
                    activation = endpoint_lock.activate(current.plan, current.lock_state(), candidate)
                except endpoint_lock.QuotaExceeded as exc:
                    raise Problem(
                        409, exc.reason, code=exc.code, errors=[("metrics_endpoint", exc.reason)]
                    ) from None
                await repo.activate_endpoint(conn, project_id, activation)
                await repo.insert_endpoint_event(
                    conn,
                    project_id,
                    who.user_id,
                    "endpoint_test_succeeded",
                    {"candidate_host": host, "mutation": activation.mutation},
                )
                await repo.insert_endpoint_event(
                    conn,
                    project_id,
                    who.user_id,
                    "endpoint_activated",
                    {
                        "mutation": activation.mutation,
                        "active_host": host,
                        "baseline_version": activation.baseline_version,
                    },
                )
                await settings_updated(
                    conn,
                    res,
                    request,
                    who.user_id,
                    "endpoint",
                    action="activate",
                    project_id=project_id,
                    plan=current.plan,
                    mutation=activation.mutation,
                )
            updated = await visible_project(conn, project_id, who)
        res.wake_relay()
        log.info(
            "endpoint_activated",
            project_id=str(project_id),
            endpoint=mask_endpoint(candidate),
            mutation=activation.mutation,
            baseline_version=activation.baseline_version,
        )
        view = endpoint_view(updated)
        metrics = dataclasses.asdict(outcome.metrics)
        return respond(
            EndpointTestResponse(**view.model_dump(), mutation=activation.mutation, metrics=metrics)
        )

    def hmac_change(action: str) -> Operation:
        async def handler(request: web.Request) -> web.Response:
            project_id = path_uuid(request, "project_id", "Project")
            async with res.pool.acquire() as conn:
                who = await authenticate_user(conn, request, "write")
                await visible_project(conn, project_id, who)
                async with conn.transaction():
                    row = await repo.lock_project(conn, project_id)
                    if action == "enable" and row.hmac_enabled:
                        raise Problem(400, "HMAC already enabled", code="HMAC_ALREADY_ENABLED")
                    if action == "rotate" and not row.hmac_enabled:
                        raise Problem(400, "HMAC not enabled", code="HMAC_NOT_ENABLED")
                    secret = new_hmac_secret() if action != "disable" else None
                    # Sealed with the project id as context: a ciphertext copied to another row won't open.
                    sealed = res.box.seal(secret, context=str(project_id)) if secret is not None else None
                    await repo.set_hmac(conn, project_id, enabled=secret is not None, sealed=sealed)
                    await settings_updated(
                        conn,
                        res,
                        request,
                        who.user_id,
                        "hmac",
                        project_id=project_id,
                        plan=row.plan,
                        action=action,
                    )
                updated = await visible_project(conn, project_id, who)
            res.wake_relay()
            log.info(f"hmac_{action}d", project_id=str(project_id), user_id=str(who.user_id))
            if secret is None:
                return respond(project_view(updated))
            return respond(HmacSecretResponse(hmac_secret=secret))

        response: type[HmacSecretResponse] | type[ProjectResponse] = (
            ProjectResponse if action == "disable" else HmacSecretResponse
        )
        summaries = {
            "enable": "Enable HMAC signing; the secret is shown once",
            "rotate": "Replace the HMAC secret; the new one is shown once",
            "disable": "Stop signing probes and forget the secret",
        }
        return Operation(
            "POST",
            f"/projects/{{project_id}}/hmac/{action}",
            handler,
            summaries[action],
            "Projects",
            auth="user",
            scope="write",
            response=response,
            errors=(400, 401, 403, 404),
        )

    base = "/projects/{project_id}/endpoint"
    return [
        Operation(
            "GET",
            base,
            get,
            "The endpoint lock: candidate, active, quotas",
            "Projects",
            auth="user",
            scope="read",
            response=EndpointResponse,
            errors=(401, 403, 404),
        ),
        Operation(
            "PUT",
            base,
            put,
            "Set a candidate endpoint (never activates it)",
            "Projects",
            auth="user",
            scope="write",
            request=EndpointUpdateRequest,
            response=EndpointResponse,
            errors=(400, 401, 403, 404, 409, 422, 423),
        ),
        Operation(
            "POST",
            f"{base}/test",
            test,
            "GET the candidate; success activates it",
            "Projects",
            auth="user",
            scope="write",
            response=EndpointTestResponse,
            errors=(400, 401, 403, 404, 409, 423),
        ),
        hmac_change("enable"),
        hmac_change("rotate"),
        hmac_change("disable"),
    ]
