"""Rows to response models, pure: project, endpoint lock, token, and the derived deployment state."""

from __future__ import annotations

from seqpulse.common.endpoints import mask_endpoint
from seqpulse.gateway import plans
from seqpulse.gateway.records import ProjectRow, Row, public_id
from seqpulse.gateway.schemas.projects import EndpointResponse, ProjectResponse
from seqpulse.gateway.schemas.reads import DeploymentResponse, DerivedState, HintView, VerdictView, WindowView
from seqpulse.gateway.schemas.tokens import TokenResponse

ENDPOINT_TEST_FAILED = "ENDPOINT_TEST_FAILED"


def project_view(row: ProjectRow) -> ProjectResponse:
    rules = plans.rules(row.plan)
    return ProjectResponse(
        id=row.id,
        name=row.name,
        description=row.description,
        plan=row.plan,
        envs=row.envs,
        window_sequences=plans.effective_window(row.plan, row.window_sequences),
        window_sequences_configured=row.window_sequences,
        window_options=list(rules.windows),
        hmac_enabled=row.hmac_enabled,
        api_key_prefix=row.api_key_prefix,
        endpoint_state=row.endpoint_state,
        metrics_endpoint_active=row.metrics_endpoint_active,
        metrics_endpoint_candidate=row.metrics_endpoint_candidate,
        deployments_total=row.deployment_counter,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def endpoint_view(row: ProjectRow) -> EndpointResponse:
    rules = plans.rules(row.plan)
    return EndpointResponse.model_validate(
        {
            "state": row.endpoint_state,
            "candidate_endpoint": row.metrics_endpoint_candidate,
            "active_endpoint": row.metrics_endpoint_active,
            "candidate_endpoint_masked": mask_endpoint(row.metrics_endpoint_candidate),
            "active_endpoint_masked": mask_endpoint(row.metrics_endpoint_active),
            "host_lock": row.endpoint_host_lock,
            "changes_used": row.endpoint_change_count,
            "changes_limit": rules.endpoint_changes,
            "migrations_used": row.endpoint_migration_count,
            "migrations_limit": rules.endpoint_migrations,
            "last_verified_at": row.endpoint_last_verified_at,
            "last_test_error_code": ENDPOINT_TEST_FAILED if row.endpoint_last_test_error else None,
            "last_test_error": row.endpoint_last_test_error,
            "baseline_version": row.baseline_version,
        }
    )


def token_view(row: Row) -> TokenResponse:
    return TokenResponse(
        id=row["id"],
        name=row["name"],
        prefix=row["token_prefix"],
        scopes=list(row["scopes"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


def derive_state(state: str, window_state: str | None, has_verdict: bool) -> DerivedState:
    """What the dashboard shows; a finished deployment is never "ok" before the analyzer said so."""
    if state == "expired":
        return "expired"
    if state == "running":
        return "running"
    if has_verdict:
        return "analyzed"
    if window_state in ("closed", "cancelled"):
        return "analyzing"
    return "collecting"


def hint_view(row: Row) -> HintView:
    return HintView.model_validate({name: row[name] for name in HintView.model_fields})


def deployment_view(row: Row, hints: list[HintView]) -> DeploymentResponse:
    """One row of the `deployment_views` query (deployment + window + latest verdict) as the API shows it."""
    has_verdict = row["verdict_id"] is not None
    verdict = None
    if has_verdict:
        verdict = VerdictView(
            verdict=row["verdict"],
            confidence=row["confidence"],
            summary=row["summary"],
            details=list(row["details"]),
            policy=row["policy"],
            version=row["verdict_version"],
            data_quality=row["data_quality"],
            insufficient_data=row["insufficient_data"],
            comparisons=row["comparisons"] if isinstance(row["comparisons"], list) else [],
            created_at=row["verdict_created_at"],
        )
    window = WindowView(
        sequences=row["window_sequences"],
        sequence_seconds=row["sequence_seconds"],
        collected_pre=row["collected_pre"],
        collected_post=row["collected_post"],
        state=row["window_state"] or "pending",
        cancel_reason=row["cancel_reason"],
        close_reason=row["close_reason"],
        closed_at=row["window_closed_at"],
    )
    return DeploymentResponse(
        id=row["id"],
        public_id=public_id(row["deployment_number"]),
        deployment_number=row["deployment_number"],
        project_id=row["project_id"],
        project_name=row["project_name"],
        env=row["env"],
        branch=row["branch"],
        state=derive_state(row["state"], row["window_state"], has_verdict),
        pipeline_result=row["pipeline_result"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        duration_ms=row["duration_ms"],
        window=window,
        verdict=verdict,
        verdict_status="available" if has_verdict else "pending",
        hints=hints,
    )
