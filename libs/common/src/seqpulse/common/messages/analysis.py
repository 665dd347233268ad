"""Analysis facts, published by the analyzer."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from seqpulse.common.messages.base import Message


class VerdictCreated(Message):
    """A verdict (or a new version of one, after a replay) was stored."""

    AREA = "analysis"
    EVENT = "verdict_created"

    deployment_id: uuid.UUID
    project_id: uuid.UUID
    verdict_id: uuid.UUID
    version: int
    policy: str
    verdict: Literal["ok", "warning", "rollback_recommended"]
    confidence: float
    summary: str
    previous_verdict: Literal["ok", "warning", "rollback_recommended"] | None = None
    hint_count: int = 0


# Synchronous requests to the analyzer (core NATS request/reply, queue group `analyzer`). They are kept
# off the `analysis.v1.>` stream on purpose: a JetStream stream would answer them with a publish ack.
def rpc_subject(prefix: str, name: str) -> str:
    """`<prefix>.rpc.analysis.v1.<name>`."""
    return f"{prefix}.rpc.analysis.v1.{name}"


class ReanalysisRequested(BaseModel):
    """Replay: analyse a deployment's stored samples again, optionally under another policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: uuid.UUID
    deployment_id: uuid.UUID
    policy: str | None = None


class BacktestRequested(BaseModel):
    """Run a policy over a project's stored deployments without storing anything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: uuid.UUID
    policy: str
    limit: int = Field(default=200, ge=1, le=1000)
