"""Collection facts, published by the collector."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from seqpulse.common.messages.base import Message


class SampleCollected(Message):
    """One sample of the app's five metrics was stored."""

    AREA = "collection"
    EVENT = "sample_collected"

    deployment_id: uuid.UUID
    project_id: uuid.UUID
    phase: Literal["pre", "post"]
    sequence_index: int
    collected_at: datetime


class WindowClosed(Message):
    """No more samples will come for this deployment: analyse it."""

    AREA = "collection"
    EVENT = "window_closed"

    deployment_id: uuid.UUID
    project_id: uuid.UUID
    reason: Literal["complete", "deadline", "cancelled"]
    expected_post: int = Field(ge=0)
    collected_post: int = Field(ge=0)
    collected_pre: int = Field(ge=0)
    closed_at: datetime
    # Why collection stopped early (e.g. the app rejected our HMAC signature); None when it did not.
    cancel_reason: str | None = None
