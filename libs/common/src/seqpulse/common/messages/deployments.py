"""Deployment lifecycle facts, published by the gateway."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from seqpulse.common.messages.base import Message


class DeploymentTriggered(Message):
    """A CI pipeline announced a deploy: take the baseline now."""

    AREA = "deployments"
    EVENT = "triggered"

    deployment_id: uuid.UUID
    project_id: uuid.UUID
    env: str
    plan: str
    triggered_at: datetime
    # How many pre samples make the baseline (one per sequence, the last one taken at trigger time).
    baseline_samples: int = Field(default=1, ge=1, le=10)


class DeploymentFinished(Message):
    """The pipeline said the deploy ended: observe `window_sequences` sequences from `finished_at`."""

    AREA = "deployments"
    EVENT = "finished"

    deployment_id: uuid.UUID
    project_id: uuid.UUID
    env: str
    result: Literal["success", "failed"]
    finished_at: datetime
    window_sequences: int = Field(ge=1, le=120)
    sequence_seconds: float = Field(gt=0)
