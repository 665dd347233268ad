"""Settings shared by every service, read from the environment (`SEQPULSE_*`, `NATS_URL`, `DATABASE_URL`)."""

from __future__ import annotations

import hashlib
import re

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every service needs: where NATS and Postgres are, naming, timing and observability."""

    model_config = SettingsConfigDict(env_prefix="SEQPULSE_", extra="ignore", populate_by_name=True)

    nats_url: str = Field(
        default="nats://127.0.0.1:4222", validation_alias=AliasChoices("NATS_URL", "SEQPULSE_NATS_URL")
    )
    database_url: str = Field(
        default="postgresql://seqpulse@127.0.0.1:5432/seqpulse",
        validation_alias=AliasChoices("DATABASE_URL", "SEQPULSE_DATABASE_URL"),
    )
    # Root of every subject and stream name; tests give each test its own so they can share one server.
    bus_prefix: str = "seqpulse"
    sequence_seconds: int = Field(default=60, ge=1, le=3600)
    # Encrypts project HMAC secrets at rest; 32+ characters. `make run` generates one into .run/.
    secret_key: str = Field(default="dev-only-secret-key-change-me-please-0123456789", min_length=32)
    # Keys the pseudonymised user ids of product events; defaults to one derived from secret_key.
    analytics_key: str | None = Field(default=None, min_length=32)
    log_level: str = "INFO"
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=0, ge=0, le=65535)
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)

    @property
    def pseudonym_key(self) -> bytes:
        """The key of `pseudonymise`: SEQPULSE_ANALYTICS_KEY, else derived from the secret key."""
        if self.analytics_key:
            return self.analytics_key.encode()
        return hashlib.sha256(b"seqpulse.analytics.v1:" + self.secret_key.encode()).digest()

    @field_validator("bus_prefix")
    @classmethod
    def _prefix_is_a_token(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", value):
            raise ValueError("must be lower-case letters, digits or '_', starting with a letter")
        return value
