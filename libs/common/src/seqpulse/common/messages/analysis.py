"""Analysis facts, published by the analyzer."""

from __future__ import annotations

import uuid
from typing import Literal

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
