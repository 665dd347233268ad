"""Product events off the bus, read straight into the rows the ingest stores (ADR 0012).

`ProductEvent` is the contract; building a thousand models per frame (its validators run in Python, and
the instances are thrown away once their fields are copied into rows) was the largest part of the
ingest's work per event. `EventCodec` validates a frame's events against the same rules declared for
pydantic-core alone (patterns, literals, no other fields), which runs no Python per field; what needs
Python (times read and put in UTC, the 5-minute bound, the properties' size and characters, the subject)
then runs once per event. Whenever any of it fails, the whole frame is read through the model instead, so
what is refused, and the reasons given, are the model's own; tests/unit/ingest/test_ingest_decoding.py
checks on random and edge-case frames that both ways give the same records.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from seqpulse.common.bus.frames import BadPart, ModelCodec, Part
from seqpulse.common.messages.base import subject_for
from seqpulse.common.messages.product import (
    COUNTRY_PATTERN,
    EVENT_NAME_PATTERN,
    MAX_FUTURE_SKEW,
    USER_KEY_PATTERN,
    Plan,
    ProductEvent,
    as_utc,
    encode_properties,
)
from seqpulse.ingest.events import EventRecord, event_id, record_of

# Times as RFC 3339 text with an offset, the form every producer writes (orjson's, pydantic's): for these,
# Python's own parser gives the same time as pydantic's, in a tenth of the time pydantic's time zone
# objects then take to convert. Any other form pydantic reads (a Unix time, a space for the `T`) takes the
# model's way.
_Time = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})$"
    ),
]


class _Fields(TypedDict):
    """`ProductEvent`'s fields with the rules pydantic-core checks by itself. Every field is required: a
    producer serialising the model writes them all, and a frame that leaves one out takes the model's way,
    defaults included."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    message_id: str
    event_name: Annotated[str, StringConstraints(pattern=EVENT_NAME_PATTERN)]
    occurred_at: _Time
    received_at: _Time
    user_key: Annotated[str, StringConstraints(pattern=USER_KEY_PATTERN)] | None
    project_id: uuid.UUID | None
    plan: Plan | None
    country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)] | None
    properties: dict[str, Any]
    source: Literal["http", "internal"]


_FRAME: TypeAdapter[list[_Fields]] = TypeAdapter(list[_Fields])


class _NotPlain(Exception):
    """An event the fast way cannot vouch for: the frame is read through the model."""


class EventCodec:
    """The ingest consumer's codec: `EventRecord`s, the same as reading each event as a `ProductEvent`."""

    def __init__(self) -> None:
        self._model = ModelCodec(ProductEvent)

    def decode(self, data: bytes, subject: str, prefix: str) -> EventRecord:
        # A message that is not a frame is one event (the services' own): the model reads it.
        return record_of(self._model.decode(data, subject, prefix))

    def decode_frame(self, data: bytes, subject: str, prefix: str) -> list[Part[EventRecord] | BadPart]:
        try:
            fields = _FRAME.validate_json(data)
            name = _name_on(subject, prefix)
            return [Part(_record(item, name), index) for index, item in enumerate(fields)]
        except (ValidationError, _NotPlain):
            return [
                Part(record_of(part.message), part.index) if isinstance(part, Part) else part
                for part in self._model.decode_frame(data, subject, prefix)
            ]

    def to_bytes(self, item: EventRecord) -> bytes:
        (_, occurred_at, received_at, name, user_key, project_id, plan, country, source, properties) = (
            item.row
        )
        return ProductEvent.encode(
            "",  # only the JSON is kept: the dead letter's subject is the consumer's
            message_id=item.message_id,
            event_name=name,
            occurred_at=occurred_at,
            received_at=received_at,
            user_key=user_key,
            project_id=project_id,
            plan=plan,  # type: ignore[arg-type]  # a row's plan came from the model's Literal
            country=country,
            properties=orjson.Fragment(properties),
            source=source,  # type: ignore[arg-type]  # as the plan
        ).data


def _name_on(subject: str, prefix: str) -> str | None:
    """The event name a product event published on `subject` has (its topic is the subject), if any."""
    head = subject_for(prefix, ProductEvent.AREA, ProductEvent.VERSION, "")
    return subject[len(head) :] if subject.startswith(head) else None


def _record(item: _Fields, name_on_subject: str | None) -> EventRecord:
    name = item["event_name"]
    if name != name_on_subject:
        raise _NotPlain
    try:
        occurred_at = as_utc(datetime.fromisoformat(item["occurred_at"]))
        received_at = as_utc(datetime.fromisoformat(item["received_at"]))
    except ValueError:  # e.g. the 30th of February, an offset of 24 hours
        raise _NotPlain from None
    if occurred_at > received_at + MAX_FUTURE_SKEW:
        raise _NotPlain
    try:
        properties = encode_properties(item["properties"])
    except ValueError:
        raise _NotPlain from None
    message_id = item["message_id"]
    row = (
        event_id(message_id),
        occurred_at,
        received_at,
        name,
        item["user_key"],
        item["project_id"],
        item["plan"],
        item["country"],
        item["source"],
        properties,
    )
    return EventRecord(row, message_id)
