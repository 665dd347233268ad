"""Accounts: sign-up, sign-in, and who is signed in."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import Field, field_validator

from seqpulse.gateway.schemas.common import Response, StrictRequest

MIN_PASSWORD = 10
# Deliberately loose: one @, something on each side, a dot in the domain. Deliverability is not ours to judge.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SignupRequest(StrictRequest):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=MIN_PASSWORD, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if not _EMAIL.match(value):
            raise ValueError("must be an email address like name@example.com")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class LoginRequest(StrictRequest):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class UserResponse(Response):
    id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None


class SessionResponse(Response):
    user: UserResponse
    csrf_token: str | None = Field(
        default=None, description="Send it back in X-CSRF-Token on every state-changing request."
    )
