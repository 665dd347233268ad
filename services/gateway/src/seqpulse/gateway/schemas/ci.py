"""The CI API's bodies: exactly the public SeqPulse contract (`seqpulse` 0.4.x clients send these)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from seqpulse.gateway.schemas.common import LenientRequest, Response


class TriggerRequest(LenientRequest):
    env: str = Field(min_length=1, max_length=50, description="Free projects are always deployed to `prod`.")
    idempotency_key: str | None = Field(
        default=None, max_length=255, description="Same key, same deployment. `X-Idempotency-Key` wins."
    )
    branch: str | None = Field(default=None, max_length=255)
    metrics_endpoint: str | None = Field(
        default=None, max_length=2048, description="Compatibility only: must equal the active endpoint."
    )


class TriggerResponse(Response):
    deployment_id: uuid.UUID
    status: Literal["created", "existing"]
    message: str | None


class FinishRequest(LenientRequest):
    deployment_id: uuid.UUID
    result: Literal["success", "failed"]
    metrics_endpoint: str | None = Field(default=None, max_length=2048)


class FinishResponse(Response):
    status: Literal["accepted", "ignored", "not_found"]
    message: str
