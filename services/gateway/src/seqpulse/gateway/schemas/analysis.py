"""Replay and back-test: request and response models."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["ok", "warning", "rollback_recommended"]


class ReanalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(
        default=None, min_length=1, max_length=64, description="default: the project's"
    )


class ReanalyzeResponse(BaseModel):
    """The new verdict version; `changed` says whether it differs from the previous one."""

    version: int
    previous_verdict: Verdict | None
    changed: bool
    policy: str
    verdict: Verdict
    confidence: float
    summary: str
    details: list[str]
    insufficient_data: bool
    data_quality: dict[str, Any]
    comparisons: list[dict[str, Any]]
    hints: list[dict[str, Any]]


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str = Field(min_length=1, max_length=64)
    limit: int = Field(default=200, ge=1, le=1000, description="most recent analysed deployments to replay")


class BacktestVerdict(BaseModel):
    verdict: Verdict
    policy: str | None = None
    version: int | None = None
    confidence: float | None = None
    summary: str | None = None
    insufficient_data: bool | None = None


class BacktestRow(BaseModel):
    deployment_id: uuid.UUID
    public_id: str
    current: BacktestVerdict
    proposed: BacktestVerdict
    changed: bool


class BacktestResponse(BaseModel):
    """Which stored verdicts `policy` would change; nothing is stored."""

    policy: str
    deployments: int
    changed: int
    unchanged: int
    results: list[BacktestRow]
