"""`POST /events` bodies and answer: one product event, or a batch of them, each judged on its own."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, RootModel, field_validator

from seqpulse.common.messages.product import (
    MAX_AGE,
    MAX_FUTURE_SKEW,
    MAX_PROPERTIES_BYTES,
    Plan,
    as_utc,
    check_event_name,
    check_properties,
)
from seqpulse.gateway.schemas.common import FieldError, Response, StrictRequest

MAX_BATCH = 1000
# RFC 3339 date-time: a date, a time and an offset. Unix numbers and naive times are refused.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class EventRequest(StrictRequest):
    """One product event. An unknown field is an error (a typo would otherwise be lost silently)."""

    event_id: uuid.UUID = Field(
        description="Chosen by the sender, unique per event: a retried event with the same id is kept once."
    )
    event_name: str = Field(
        max_length=80, description="One of the known events, or `custom.<name>` (lower case, digits, `_`)."
    )
    user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Who did it; pseudonymised by the gateway. With a user token it defaults to the caller.",
    )
    project_id: uuid.UUID | None = Field(
        default=None, description="With an API key: the key's project (the default); another one is an error."
    )
    plan: Plan | None = Field(default=None, description="Defaults to the project's plan.")
    timestamp: datetime | None = Field(
        default=None,
        description="When it happened, RFC 3339 with a time zone (e.g. `2026-11-22T10:00:00Z`); "
        "default: now. At most 30 days old and 5 minutes ahead.",
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=f"A JSON object of at most {MAX_PROPERTIES_BYTES} bytes once serialised.",
    )

    @field_validator("event_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_event_name(value)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and _RFC3339.match(value)):
            raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2026-11-22T10:00:00Z")
        return value

    @field_validator("timestamp")
    @classmethod
    def _recent(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        now = datetime.now(UTC)
        if value > now + MAX_FUTURE_SKEW:
            raise ValueError("is more than 5 minutes in the future (check the sender's clock)")
        if value < now - MAX_AGE:
            raise ValueError(f"is more than {MAX_AGE.days} days old")
        return value

    @field_validator("properties")
    @classmethod
    def _size(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_properties(value)


class EventBatchRequest(StrictRequest):
    events: list[EventRequest] = Field(min_length=1, max_length=MAX_BATCH)


class EventsRequest(RootModel[EventRequest | EventBatchRequest]):
    """One event object, or `{"events": [...]}` with 1 to 1000 of them (documentation of the body)."""


class RejectedEvent(Response):
    index: int = Field(description="Position of the event in `events` (0 for a single event).")
    errors: list[FieldError]


class EventsAcceptedResponse(Response):
    accepted: int = Field(description="Events published (now on the bus, to be stored by ingest).")
    rejected: list[RejectedEvent] = Field(description="Events refused, each with its reasons.")
