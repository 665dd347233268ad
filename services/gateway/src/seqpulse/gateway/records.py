"""Typed views of the rows the gateway works with (asyncpg returns untyped records)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from seqpulse.gateway.endpoint_lock import LockState
from seqpulse.gateway.plans import Plan

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ProjectRow:
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str
    plan: Plan
    envs: list[str]
    window_sequences: int | None
    metrics_endpoint_candidate: str | None
    metrics_endpoint_active: str | None
    endpoint_state: str
    endpoint_host_lock: str | None
    endpoint_change_count: int
    endpoint_migration_count: int
    endpoint_last_verified_at: datetime | None
    endpoint_last_test_error: str | None
    baseline_version: int
    hmac_enabled: bool
    hmac_secret_enc: bytes | None
    deployment_counter: int
    created_at: datetime
    updated_at: datetime
    api_key_prefix: str | None = None

    @classmethod
    def of(cls, row: Row) -> ProjectRow:
        fields = {name: row[name] for name in cls.__dataclass_fields__ if name in row}
        fields["envs"] = list(row["envs"])
        fields["plan"] = cast(Plan, row["plan"])
        return cls(**fields)

    def lock_state(self) -> LockState:
        return LockState(
            active=self.metrics_endpoint_active,
            host_lock=self.endpoint_host_lock,
            change_count=self.endpoint_change_count,
            migration_count=self.endpoint_migration_count,
            baseline_version=self.baseline_version,
        )


@dataclass(frozen=True, slots=True)
class DeploymentRow:
    id: uuid.UUID
    project_id: uuid.UUID
    deployment_number: int
    env: str
    idempotency_key: str | None
    branch: str | None
    state: str
    pipeline_result: str | None
    metrics_endpoint: str
    plan: str
    window_sequences: int
    sequence_seconds: float
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None

    @classmethod
    def of(cls, row: Row) -> DeploymentRow:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls a USER route: the user behind a personal access token or a browser session.

    `token_id` is the access token's id, or the session's for a browser; `csrf_token` is set only for a
    session, which is what the pages embed so their scripts can change things.
    """

    user_id: uuid.UUID
    token_id: uuid.UUID
    is_admin: bool
    scopes: frozenset[str]
    csrf_token: str | None = None

    @property
    def via_session(self) -> bool:
        return self.csrf_token is not None

    @property
    def sees_everything(self) -> bool:
        # Both the account and the token must be admin: a read-only token of an admin stays scoped.
        return self.is_admin and "admin" in self.scopes


def public_id(number: int) -> str:
    return f"dpl_{number}"
