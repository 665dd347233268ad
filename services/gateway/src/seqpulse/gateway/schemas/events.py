"""`POST /events` bodies and answer: one product event, or a batch of them, each judged on its own."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field, RootModel

from seqpulse.common.messages.product import (
    EVENT_NAME_PATTERN,
    EVENT_NAME_RULE,
    MAX_PROPERTIES_BYTES,
    Plan,
)
from seqpulse.gateway.schemas.common import FieldError, Response, StrictRequest

MAX_BATCH = 1000
# RFC 3339 date-time: a date, a time and an offset. Unix numbers and naive times are refused.
RFC3339_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
RFC3339_RULE = "must be an RFC 3339 date-time with a time zone, e.g. 2026-11-22T10:00:00Z"
# Every rule of this model is one pydantic-core checks without calling Python, so a batch of a thousand is
# validated in one call at a few microseconds an event; what needs the clock or the serialised size
# (`event_intake.later_errors`) is checked after. A pattern's failure is told in these words, not the regex.
PATTERN_RULES = {"event_name": EVENT_NAME_RULE, "timestamp": RFC3339_RULE}


class EventRequest(StrictRequest):
    """One product event. An unknown field is an error (a typo would otherwise be lost silently)."""

    event_id: uuid.UUID = Field(
        description="Chosen by the sender, unique per event: a retried event with the same id is kept once."
    )
    event_name: str = Field(
        max_length=80,
        pattern=EVENT_NAME_PATTERN,
        description="One of the known events, or `custom.<name>` (lower case, digits, `_`).",
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
    timestamp: str | None = Field(
        default=None,
        pattern=RFC3339_PATTERN,
        json_schema_extra={"format": "date-time"},
        description="When it happened, RFC 3339 with a time zone (e.g. `2026-11-22T10:00:00Z`); "
        "default: now. At most 30 days old and 5 minutes ahead.",
    )
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=f"A JSON object of at most {MAX_PROPERTIES_BYTES} bytes once serialised.",
    )


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
