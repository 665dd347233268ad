"""Personal access tokens: creation (the token is shown once) and listing (never the token again)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from seqpulse.gateway.schemas.common import Response, StrictRequest

Scope = Literal["read", "write", "admin"]


class TokenCreateRequest(StrictRequest):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=3)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("scopes")
    @classmethod
    def _distinct(cls, value: list[Scope]) -> list[Scope]:
        return list(dict.fromkeys(value))


class TokenResponse(Response):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedResponse(TokenResponse):
    token: str = Field(description="Shown once: only a hash is stored.")


class TokenListResponse(Response):
    items: list[TokenResponse]
