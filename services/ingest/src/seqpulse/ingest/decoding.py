"""Product events off the bus, read straight into the rows the ingest stores (ADRs 0012, 0014).

`ProductEvent` is the contract; building a thousand models per frame (its validators run in Python, and
the instances are thrown away once their fields are copied into rows) was the largest part of the
ingest's work per event. `EventCodec` reads a frame with msgspec against the same rules (literals, times
with an offset, no other fields), which parses, checks and converts in C; what is left in Python (times
put in UTC, the 5-minute bound, the properties' size and characters) runs once per event. The model's
patterns are checked by the model's own regular expressions, but once per value rather than per event: the
event name is the subject's (checked once per frame), and user keys and countries, few and repeated, are
remembered once checked (a pattern left to msgspec is a call into Python per value, which made up most of
its time). Whenever any of it fails, the whole frame is read through the model instead, so what is
refused, and the reasons given, are the model's own; tests/unit/ingest/test_ingest_decoding.py checks on
random and edge-case frames that both ways give the same records.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import orjson

from seqpulse.common.bus.frames import SHARED_FORM, BadPart, ModelCodec, Part
from seqpulse.common.messages.base import subject_for
from seqpulse.common.messages.product import (
    MAX_FUTURE_SKEW,
    Plan,
    ProductEvent,
    as_utc,
    check_country,
    check_event_name,
    check_user_key,
    encode_properties,
)
from seqpulse.ingest.events import EventRecord, event_id, record_of

# msgspec reads the same RFC 3339 times as pydantic, to the microsecond, but rounds a seventh digit of a
# second where pydantic drops it: a frame with such a time anywhere (a property's text included) takes
# the model's way. Searched from the dot (a literal first character makes the search fast: a frame with
# no number of seven decimals costs one pass), then what comes before it is checked: `:SS` after a digit
# (a property `"x":12.3456789` is not a time).
_SEVEN_DECIMALS = re.compile(rb"\.[0-9]{7}")
_SECONDS = re.compile(rb"[0-9]:[0-9]{2}")


def _finer_than_microseconds(data: bytes) -> bool:
    return any(_SECONDS.fullmatch(data, m.start() - 4, m.start()) for m in _SEVEN_DECIMALS.finditer(data))


class _Fields(msgspec.Struct, forbid_unknown_fields=True):
    """`ProductEvent`'s fields with the rules msgspec checks by itself; the patterns are `_parts`'. Every
    field is required: a producer serialising the model writes them all, and a frame that leaves one out
    takes the model's way, defaults included."""

    message_id: str
    event_name: str  # the subject's, checked once per frame (`_parts`)
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    received_at: Annotated[datetime, msgspec.Meta(tz=True)]
    user_key: str | None  # checked by `_parts`, once per key
    project_id: uuid.UUID | None
    plan: Plan | None
    country: str | None  # as the user key
    properties: dict[str, Any]
    source: Literal["http", "internal"]


_FRAME = msgspec.json.Decoder(list[_Fields])


class _Shared(msgspec.Struct, forbid_unknown_fields=True):
    """A frame in the shared form (frames.py): the fields its events share, as the gateway writes them
    (`ProductEvent.SHARED_FIELDS`), with `_Fields`' rules; a frame sharing others takes the model's way."""

    event_name: str
    received_at: Annotated[datetime, msgspec.Meta(tz=True)]
    project_id: uuid.UUID | None
    country: str | None
    source: Literal["http", "internal"]


class _Own(msgspec.Struct, forbid_unknown_fields=True):
    """The rest of each event of a frame in the shared form (one that repeats a shared field takes the
    model's way, where its own value wins)."""

    message_id: str
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    user_key: str | None
    plan: Plan | None
    properties: dict[str, Any]


class _SharedFrame(msgspec.Struct, forbid_unknown_fields=True):
    shared: _Shared
    messages: list[_Own]


_SHARED_FRAME = msgspec.json.Decoder(_SharedFrame)
# User keys and countries are checked by the model's own checks, not by msgspec (a pattern msgspec checks
# is a call into Python per value): a frame's events share a handful of users and countries, so each value
# is checked once and remembered, per field (bounded: beyond this many, the memory starts over).
VOUCHED_LIMIT = 100_000


class _NotPlain(Exception):
    """An event the fast way cannot vouch for: the frame is read through the model."""


class EventCodec:
    """The ingest consumer's codec: `EventRecord`s, the same as reading each event as a `ProductEvent`."""

    def __init__(self) -> None:
        self._model = ModelCodec(ProductEvent)
        self._vouched = _Vouched(set(), set())

    def decode(self, data: bytes, subject: str, prefix: str) -> EventRecord:
        # A message that is not a frame is one event (the services' own): the model reads it.
        return record_of(self._model.decode(data, subject, prefix))

    def decode_frame(self, data: bytes, subject: str, prefix: str) -> list[Part[EventRecord] | BadPart]:
        if not _finer_than_microseconds(data):
            try:
                if SHARED_FORM.match(data):
                    return _shared_parts(_SHARED_FRAME.decode(data), _name_on(subject, prefix), self._vouched)
                return _parts(_FRAME.decode(data), _name_on(subject, prefix), self._vouched)
            except (msgspec.MsgspecError, ValueError, _NotPlain):  # ValueError: e.g. bytes not UTF-8
                pass
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


class _Vouched(NamedTuple):
    """The user keys and the countries the model accepts, seen so far: one memory per field, as a value
    valid in one (`US`) need not be in the other."""

    user_keys: set[str]
    countries: set[str]


def _parts(
    events: list[_Fields], name_on_subject: str | None, vouched: _Vouched
) -> list[Part[EventRecord] | BadPart]:
    """The frame's events as records, or `_NotPlain` at the first the model might read differently.
    `vouched`: user keys and countries already checked (added to as new ones pass)."""
    if name_on_subject is None:
        raise _NotPlain
    _check(check_event_name, name_on_subject)  # every event's name must be the subject's
    user_keys, countries = vouched
    parts: list[Part[EventRecord] | BadPart] = []
    for index, event in enumerate(events):
        if event.event_name != name_on_subject:
            raise _NotPlain
        country = event.country
        if country is not None and country not in countries:
            _vouch(check_country, country, countries)
        received_at = as_utc(event.received_at)
        common = (
            name_on_subject,
            received_at,
            received_at + MAX_FUTURE_SKEW,
            event.project_id,
            country,
            event.source,
        )
        parts.append(_record(index, event, common, user_keys))
    return parts


def _shared_parts(
    frame: _SharedFrame, name_on_subject: str | None, vouched: _Vouched
) -> list[Part[EventRecord] | BadPart]:
    """`_parts` for a frame in the shared form: what its events share is checked once."""
    shared = frame.shared
    name = shared.event_name
    if name_on_subject is None or name != name_on_subject:
        raise _NotPlain
    _check(check_event_name, name)
    user_keys, countries = vouched
    country = shared.country
    if country is not None and country not in countries:
        _vouch(check_country, country, countries)
    received_at = as_utc(shared.received_at)
    common = (name, received_at, received_at + MAX_FUTURE_SKEW, shared.project_id, country, shared.source)
    return [_record(index, event, common, user_keys) for index, event in enumerate(frame.messages)]


def _record(
    index: int,
    event: _Fields | _Own,
    common: tuple[str, datetime, datetime, uuid.UUID | None, str | None, str],
    user_keys: set[str],
) -> Part[EventRecord]:
    """One event's record: its own fields checked, with what its frame's checks gave (`common`: the name,
    the time of receipt and 5 minutes after it, the project, the country and the source); `_NotPlain` as
    `_parts`."""
    name, received_at, latest, project_id, country, source = common
    user_key = event.user_key
    if user_key is not None and user_key not in user_keys:
        _vouch(check_user_key, user_key, user_keys)
    occurred_at = event.occurred_at
    if occurred_at.tzinfo is not UTC:
        occurred_at = as_utc(occurred_at)
    if occurred_at > latest:
        raise _NotPlain
    try:
        properties = encode_properties(event.properties)
    except ValueError:
        raise _NotPlain from None
    message_id = event.message_id
    row = (
        event_id(message_id),
        occurred_at,
        received_at,
        name,
        user_key,
        project_id,
        event.plan,
        country,
        source,
        properties,
    )
    # tuple.__new__: a NamedTuple's own constructor is a Python function, a third of this loop's time.
    return Part(tuple.__new__(EventRecord, (row, message_id)), index)


def _check(check: Callable[[str], str], value: str) -> None:
    """`_NotPlain` unless the model's `check` accepts `value`."""
    try:
        check(value)
    except ValueError:
        raise _NotPlain from None


def _vouch(check: Callable[[str], str], value: str, vouched: set[str]) -> None:
    _check(check, value)
    if len(vouched) >= VOUCHED_LIMIT:
        vouched.clear()
    vouched.add(value)
