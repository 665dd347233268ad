"""Projects, their metrics endpoint lock and HMAC: request bodies and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from seqpulse.gateway.plans import Plan
from seqpulse.gateway.schemas.common import EnvName, Response, StrictRequest


class ProjectCreateRequest(StrictRequest):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=255)
    plan: Plan = "free"
    envs: list[EnvName] | None = Field(default=None, min_length=1, max_length=10)
    metrics_endpoint: str = Field(min_length=1, max_length=2048)
    window_sequences: int | None = Field(default=None, ge=1, le=120)


class ProjectUpdateRequest(StrictRequest):
    """Every field is optional; `window_sequences: null` returns to the plan's default."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=255)
    plan: Plan | None = None
    envs: list[EnvName] | None = Field(default=None, min_length=1, max_length=10)
    window_sequences: int | None = Field(default=None, ge=1, le=120)


class ProjectResponse(Response):
    id: uuid.UUID
    name: str
    description: str
    plan: Plan
    envs: list[str]
    window_sequences: int = Field(description="Post-deploy sequences a deployment observes.")
    window_sequences_configured: int | None = Field(description="null: the plan's default.")
    window_options: list[int]
    hmac_enabled: bool
    api_key_prefix: str | None
    endpoint_state: Literal["pending_verification", "active", "blocked"]
    metrics_endpoint_active: str | None
    metrics_endpoint_candidate: str | None
    deployments_total: int
    created_at: datetime
    updated_at: datetime


class ProjectCreatedResponse(ProjectResponse):
    api_key: str = Field(description="Shown once: only a hash is stored. Rotate it if lost.")


class ProjectListResponse(Response):
    items: list[ProjectResponse]


class ApiKeyResponse(Response):
    api_key: str = Field(description="Shown once; the previous key stopped working.")
    api_key_prefix: str


class EndpointUpdateRequest(StrictRequest):
    metrics_endpoint: str = Field(min_length=1, max_length=2048)


class EndpointResponse(Response):
    state: Literal["pending_verification", "active", "blocked"]
    candidate_endpoint: str | None
    active_endpoint: str | None
    candidate_endpoint_masked: str | None
    active_endpoint_masked: str | None
    host_lock: str | None
    changes_used: int
    changes_limit: int | None = Field(description="null: unlimited")
    migrations_used: int
    migrations_limit: int | None = Field(description="null: unlimited")
    last_verified_at: datetime | None
    last_test_error_code: str | None
    last_test_error: str | None
    baseline_version: int


class EndpointTestResponse(EndpointResponse):
    mutation: Literal["none", "path_change", "host_migration"]
    metrics: dict[str, float] = Field(description="What the endpoint answered during the test.")


class HmacSecretResponse(Response):
    hmac_secret: str = Field(description="Shown once; SeqPulse keeps it encrypted to sign its probes.")
