"""What the dashboard reads: deployments with their window, verdict and hints; samples; SDH."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from seqpulse.gateway.schemas.common import Response, StrictRequest

DerivedState = Literal["running", "collecting", "analyzing", "analyzed", "expired"]
Severity = Literal["critical", "warning", "info"]


class DeploymentListQuery(StrictRequest):
    project_id: uuid.UUID | None = None
    env: str | None = Field(default=None, max_length=50)
    limit: int = Field(default=50, ge=1, le=200)
    before: datetime | None = Field(default=None, description="Only deployments started before this time.")


class DeploymentDetailQuery(StrictRequest):
    project_id: uuid.UUID | None = Field(default=None, description="Required with a `dpl_N` id.")


class WindowView(Response):
    sequences: int
    sequence_seconds: float
    collected_pre: int
    collected_post: int
    state: Literal["pending", "open", "closed", "cancelled"]
    cancel_reason: str | None
    close_reason: str | None = Field(
        default=None, description="Why it closed: `complete`, `deadline` (sequences missed) or `cancelled`."
    )
    closed_at: datetime | None = None


class VerdictView(Response):
    verdict: Literal["ok", "warning", "rollback_recommended"]
    confidence: float
    summary: str
    details: list[str]
    policy: str
    version: int
    data_quality: dict[str, Any]
    insufficient_data: bool
    comparisons: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The evidence per metric: baseline, observed, change, interval, threshold, status.",
    )
    created_at: datetime


class HintView(Response):
    id: uuid.UUID
    code: str
    metric: str
    severity: Severity
    title: str
    diagnosis: str
    suggested_actions: list[str]
    observed_value: float | None
    threshold: float | None
    secured_threshold: float | None
    exceed_ratio: float | None
    tolerance: float | None
    confidence: float
    evidence: dict[str, Any]
    composite_signals: list[str]
    created_at: datetime


class DeploymentResponse(Response):
    id: uuid.UUID
    public_id: str
    deployment_number: int
    project_id: uuid.UUID
    project_name: str
    env: str
    branch: str | None
    state: DerivedState
    pipeline_result: Literal["success", "failed"] | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    window: WindowView
    verdict: VerdictView | None = Field(description="null until the analyzer decided: never guessed.")
    verdict_status: Literal["pending", "available"]
    hints: list[HintView]


class DeploymentListResponse(Response):
    items: list[DeploymentResponse]
    next_before: datetime | None = Field(description="Pass as `before` for the next page; null at the end.")


class MetricSampleView(Response):
    phase: Literal["pre", "post"]
    sequence_index: int
    scheduled_at: datetime
    collected_at: datetime
    requests_per_sec: float
    latency_p95: float
    error_rate: float
    cpu_usage: float
    memory_usage: float


class DeploymentMetricsResponse(Response):
    deployment_id: uuid.UUID
    public_id: str
    items: list[MetricSampleView]


class SdhQuery(StrictRequest):
    project_id: uuid.UUID | None = None
    deployment_id: str | None = Field(default=None, description="A UUID, or `dpl_N` with `project_id`.")
    severity: Severity | None = None
    metric: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=200)


class SdhItem(HintView):
    deployment_id: uuid.UUID
    public_id: str
    project_id: uuid.UUID
    project_name: str
    env: str
    verdict_version: int


class SdhListResponse(Response):
    items: list[SdhItem]
