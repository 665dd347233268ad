"""The CI API's decisions: trigger (create or reuse a deployment) and finish, each with its outbox message."""

from __future__ import annotations

import asyncpg

from seqpulse.common.db.outbox import enqueue
from seqpulse.common.endpoints import mask_endpoint, normalize_endpoint
from seqpulse.common.errors import ValidationFailed
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.deployments import DeploymentFinished, DeploymentTriggered
from seqpulse.gateway import plans
from seqpulse.gateway import repository as repo
from seqpulse.gateway.metrics import DEPLOYMENTS
from seqpulse.gateway.probe import secret_fingerprint
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.product_events import emit
from seqpulse.gateway.records import DeploymentRow, ProjectRow
from seqpulse.gateway.resources import Resources
from seqpulse.gateway.schemas.ci import FinishRequest, FinishResponse, TriggerRequest, TriggerResponse

log = get_logger(__name__)
OUTBOX = "gateway_outbox"
MSG_KEY_EXISTS = "Deployment already exists for this idempotency key"
MSG_RUNNING = "Deployment already running for this environment"
MSG_HMAC_FAILED = "Metrics endpoint HMAC validation failed. Check secret and endpoint HMAC middleware."
MSG_PREFLIGHT_FAILED = "Metrics endpoint preflight failed. Check endpoint availability and response format."


def resolve_endpoint(project: ProjectRow, sent: str | None) -> str:
    """The active endpoint, checked against the (compatibility) one the pipeline sent: 423, 400 or 409."""
    active = project.metrics_endpoint_active
    if active is None or project.endpoint_state == "blocked":
        raise Problem(
            423,
            "Project metrics endpoint is not active. Test it with "
            f"POST /projects/{project.id}/endpoint/test to activate it.",
            code="PROJECT_ENDPOINT_BLOCKED",
        )
    if sent:
        try:
            normalized = normalize_endpoint(sent, field="metrics_endpoint")
        except ValidationFailed as exc:
            raise Problem(
                400,
                f"metrics_endpoint: {exc.reason}",
                code="ENDPOINT_INVALID_FORMAT",
                errors=[("metrics_endpoint", exc.reason)],
            ) from None
        if normalized != active:
            reason = f"must match the project's active endpoint ({mask_endpoint(active)})"
            raise Problem(
                409,
                f"metrics_endpoint {reason}",
                code="ENDPOINT_MISMATCH",
                errors=[("metrics_endpoint", reason)],
            )
    return active


def _idempotency_key(header: str | None, body: str | None) -> str | None:
    key = (header or "").strip() or (body or "").strip()
    if len(key) > 255:
        raise Problem(
            400,
            "X-Idempotency-Key: must be at most 255 characters",
            code="bad_request",
            errors=[("X-Idempotency-Key", "must be at most 255 characters")],
        )
    return key or None


def _existing(deployment: DeploymentRow, message: str) -> TriggerResponse:
    DEPLOYMENTS.labels("trigger", "existing").inc()
    return TriggerResponse(deployment_id=deployment.id, status="existing", message=message)


async def _reuse(conn: repo.Conn, project: ProjectRow, key: str | None, env: str) -> TriggerResponse | None:
    if key is not None:
        by_key = await repo.deployment_by_idempotency_key(conn, project.id, key)
        if by_key is not None:
            return _existing(by_key, MSG_KEY_EXISTS)
    running = await repo.running_deployment(conn, project.id, env)
    return _existing(running, MSG_RUNNING) if running is not None else None


async def _check_quota(conn: repo.Conn, project: ProjectRow) -> None:
    if plans.rules(project.plan).monthly_deployments is None:
        return
    if plans.monthly_quota_reached(project.plan, await repo.deployments_started_this_month(conn, project.id)):
        raise Problem(402, plans.quota_message(project.plan), code="DEPLOYMENT_QUOTA_EXCEEDED")


async def _preflight(res: Resources, project: ProjectRow, endpoint: str) -> None:
    """For an HMAC project, a signed GET before accepting a deployment; successes are cached briefly."""
    secret = res.hmac_secret(project)
    if secret is None:
        return
    cache_key = (str(project.id), endpoint, secret_fingerprint(secret))
    if res.preflight.fresh(cache_key):
        return
    outcome = await res.probe.probe(endpoint, secret=secret, project_id=str(project.id))
    if not outcome.ok:
        log.warning(
            "trigger_preflight_failed",
            project_id=str(project.id),
            endpoint=mask_endpoint(endpoint),
            reason=outcome.reason,
            hmac_rejected=outcome.rejected,
        )
        if outcome.rejected:
            raise Problem(
                422,
                MSG_HMAC_FAILED,
                code="HMAC_PREFLIGHT_FAILED",
                errors=[("metrics_endpoint", outcome.reason)],
            )
        raise Problem(
            422,
            MSG_PREFLIGHT_FAILED,
            code="ENDPOINT_PREFLIGHT_FAILED",
            errors=[("metrics_endpoint", outcome.reason)],
        )
    res.preflight.remember(cache_key)


async def trigger(
    res: Resources,
    project: ProjectRow,
    body: TriggerRequest,
    header_key: str | None,
    *,
    country: str | None = None,
) -> TriggerResponse:
    """Processing order of the original (reference §3.1), with project-scoped keys and stale-run expiry.

    `country` is the caller's, for the `deployment_triggered` product event."""
    env = plans.trigger_env(project.plan, body.env)
    if env not in project.envs:
        allowed = ", ".join(project.envs)
        raise Problem(
            400,
            f"Environment '{env}' not allowed. Allowed environments: {allowed}",
            code="ENV_NOT_ALLOWED",
            errors=[("env", f"must be one of: {allowed}")],
        )
    endpoint = resolve_endpoint(project, body.metrics_endpoint)
    key = _idempotency_key(header_key, body.idempotency_key)
    async with res.pool.acquire() as conn:
        expired = await repo.expire_stale_running(conn, project.id, env, res.settings.running_ttl_seconds)
        if expired is not None:
            log.info(
                "deployment_expired", project_id=str(project.id), deployment_id=str(expired["id"]), env=env
            )
        reused = await _reuse(conn, project, key, env)
        if reused is not None:
            return reused
        await _check_quota(conn, project)
    # Only a genuinely new deployment pays for the network round trip.
    await _preflight(res, project, endpoint)
    window = plans.effective_window(project.plan, project.window_sequences)
    async with res.pool.acquire() as conn:
        try:
            async with conn.transaction():
                number = await repo.next_deployment_number(conn, project.id)  # locks the project row
                await _check_quota(conn, project)  # again, now that concurrent triggers are serialised
                deployment = await repo.insert_deployment(
                    conn,
                    project_id=project.id,
                    number=number,
                    env=env,
                    idempotency_key=key,
                    branch=body.branch,
                    metrics_endpoint=endpoint,
                    plan=project.plan,
                    window_sequences=window,
                    sequence_seconds=res.settings.sequence_seconds,
                )
                message = DeploymentTriggered(
                    deployment_id=deployment.id,
                    project_id=project.id,
                    env=env,
                    plan=project.plan,
                    triggered_at=deployment.started_at,
                )
                await enqueue(conn, OUTBOX, message, res.settings.bus_prefix)
                await emit(
                    conn,
                    res.settings,
                    "deployment_triggered",
                    user_id=project.owner_id,  # a CI key acts for the project, hence its owner
                    project_id=project.id,
                    plan=project.plan,
                    country=country,
                    properties={"env": env, "deployment_id": str(deployment.id)},
                )
        except asyncpg.UniqueViolationError:
            # A concurrent trigger with the same key or env won the race: answer with its deployment.
            reused = await _reuse(conn, project, key, env)
            if reused is None:
                raise
            return reused
    res.wake_relay()
    DEPLOYMENTS.labels("trigger", "created").inc()
    log.info(
        "deployment_triggered",
        project_id=str(project.id),
        deployment_id=str(deployment.id),
        deployment_number=number,
        env=env,
        endpoint=mask_endpoint(endpoint),
        window_sequences=window,
    )
    note = None
    if env != body.env:
        note = f"Deployment created. Environment was forced from '{body.env}' to '{env}' (Free plan)."
    return TriggerResponse(deployment_id=deployment.id, status="created", message=note)


def _finish_answer(status: str, message: str) -> FinishResponse:
    DEPLOYMENTS.labels("finish", status).inc()
    return FinishResponse.model_validate({"status": status, "message": message})


async def finish(
    res: Resources, project: ProjectRow, body: FinishRequest, *, country: str | None = None
) -> FinishResponse:
    """`running → finished` once; later calls are ignored; another project's deployment is not found."""
    async with res.pool.acquire() as conn:
        deployment = await repo.deployment_in_project(conn, body.deployment_id, project.id)
        if deployment is None:
            return _finish_answer("not_found", "Deployment not found")
        if deployment.state != "running":
            return _finish_answer("ignored", f"Deployment state is '{deployment.state}', finish ignored")
        resolve_endpoint(project, body.metrics_endpoint)
        async with conn.transaction():
            finished = await repo.finish_deployment(conn, deployment.id, body.result)
            if finished is None or finished.finished_at is None:
                return _finish_answer("ignored", "Deployment state changed concurrently, finish ignored")
            message = DeploymentFinished(
                deployment_id=finished.id,
                project_id=project.id,
                env=finished.env,
                result=body.result,
                finished_at=finished.finished_at,
                window_sequences=finished.window_sequences,
                sequence_seconds=finished.sequence_seconds,
            )
            await enqueue(conn, OUTBOX, message, res.settings.bus_prefix)
            await emit(
                conn,
                res.settings,
                "deployment_finished",
                user_id=project.owner_id,
                project_id=project.id,
                plan=project.plan,
                country=country,
                properties={
                    "env": finished.env,
                    "deployment_id": str(finished.id),
                    "pipeline_result": body.result,
                },
            )
    res.wake_relay()
    log.info(
        "deployment_finished",
        project_id=str(project.id),
        deployment_id=str(finished.id),
        result=body.result,
        duration_ms=finished.duration_ms,
        window_sequences=finished.window_sequences,
    )
    return _finish_answer(
        "accepted", f"Deployment finished. Analysis scheduled in {finished.window_sequences} sequences."
    )
