"""What the deployment page starts from: the JSON API's detail and samples, and the limits its charts draw.

The page's script later refetches the same two API answers on every live event, so the first render and
every update read one shape.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from seqpulse.common.logging import get_logger
from seqpulse.common.policy_settings import DEFAULT_POLICY, InvalidPolicySettingsError, load_settings
from seqpulse.gateway import read_repository as reads
from seqpulse.gateway import repository as repo
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import Principal, public_id
from seqpulse.gateway.repository import Conn
from seqpulse.gateway.schemas.reads import DeploymentMetricsResponse, DeploymentResponse, MetricSampleView
from seqpulse.gateway.views import deployment_view, hint_view

log = get_logger(__name__)
_PUBLIC_ID = re.compile(r"^dpl_([1-9][0-9]{0,17})$")
# The policy settings a chart draws as its limit before the verdict names the threshold it used.
LIMIT_SETTINGS = (
    "error_rate_limit",
    "latency_p95_limit_ms",
    "cpu_limit",
    "memory_limit",
    "traffic_warn_drop",
)


def not_found() -> Problem:
    # Someone else's deployment reads exactly like a missing one: a page never confirms it exists.
    return Problem(404, "There is no deployment with this id among your projects.", code="not_found")


async def resolve(conn: Conn, who: Principal, raw: str, project_raw: str | None) -> uuid.UUID:
    """A UUID, or `dpl_N` with `?project_id=`; anything else is a page that does not exist (404)."""
    match = _PUBLIC_ID.match(raw)
    try:
        if match is None:
            return uuid.UUID(raw)
        project_id = uuid.UUID(project_raw or "")
    except ValueError:
        raise not_found() from None
    found = await reads.deployment_id_by_number(conn, who, project_id, int(match.group(1)))
    if found is None:
        raise not_found()
    return found


async def detail(conn: Conn, who: Principal, deployment_id: uuid.UUID) -> DeploymentResponse:
    """`GET /deployments/{id}`'s answer, owner-scoped."""
    rows = await reads.deployment_views(conn, who, deployment_id=deployment_id, limit=1)
    if not rows:
        raise not_found()
    row = rows[0]
    hints = (
        [hint_view(h) for h in await reads.hints_of_verdict(conn, row["verdict_id"])]
        if row["verdict_id"]
        else []
    )
    return deployment_view(row, hints)


async def samples(conn: Conn, deployment: DeploymentResponse) -> DeploymentMetricsResponse:
    """`GET /deployments/{id}/metrics`'s answer (the caller already checked the owner)."""
    rows = await reads.samples_of_deployment(conn, deployment.id)
    return DeploymentMetricsResponse(
        deployment_id=deployment.id,
        public_id=public_id(deployment.deployment_number),
        items=[MetricSampleView.model_validate(dict(r)) for r in rows],
    )


async def limits(conn: Conn, project_id: uuid.UUID) -> dict[str, Any]:
    """The project's effective policy and its absolute limits (the defaults if its settings went bad)."""
    row = await conn.fetchrow(repo.Q.project_policy, project_id)
    stored = dict(row["policy_settings"] or {}) if row else {}
    try:
        settings = load_settings(stored)
    except InvalidPolicySettingsError as exc:
        log.warning("policy_settings_unreadable", project_id=str(project_id), field=exc.field)
        settings = load_settings(None)
    values = settings.model_dump(mode="json")
    policy = (row["analysis_policy"] if row else None) or DEFAULT_POLICY
    return {"policy": policy, **{name: values[name] for name in LIMIT_SETTINGS}}
