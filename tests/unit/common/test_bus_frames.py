"""Frames: a request's messages grouped by subject into few NATS messages, and read back part by part."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import field_validator

from seqpulse.common.bus.frames import (
    MAX_FRAME_MESSAGES,
    MISSING_ID,
    SHARED_FORM,
    BadPart,
    FrameError,
    ModelCodec,
    Part,
    Undecodable,
    build_frames,
    decode_frame,
    frame_encoded,
    frame_headers,
)
from seqpulse.common.messages import ProductEvent
from seqpulse.common.messages.base import Encoded, Message

PREFIX = "t"


def event(name: str = "user_login", **fields: Any) -> ProductEvent:
    return ProductEvent.model_validate({"event_name": name, "occurred_at": datetime.now(UTC)} | fields)


def test_messages_are_grouped_by_subject_in_order_and_read_back_whole() -> None:
    events = [event(), event("user_signup"), event(), event("custom.export"), event()]
    frames = build_frames(events, PREFIX, 1_000_000)
    assert [(f.subject, f.count) for f in frames] == [
        ("t.events.v1.user_login", 3),
        ("t.events.v1.user_signup", 1),
        ("t.events.v1.custom.export", 1),
    ]
    # Serialised in one call, the same bytes as each message's own: a part is its message's JSON.
    assert frames[0].data == b"[" + b",".join(events[i].to_bytes() for i in (0, 2, 4)) + b"]"
    logins = decode_frame(ProductEvent, frames[0].data, frames[0].subject, PREFIX)
    assert logins == [Part(events[0], 0), Part(events[2], 1), Part(events[4], 2)]
    # A single message goes as itself: any consumer reads it, and its id is the message's.
    assert (frames[1].data, frames[1].msg_id) == (events[1].to_bytes(), events[1].message_id)
    assert frame_headers(frames[1]) == {} and frame_headers(frames[0]) == {"SeqPulse-Frame": "3"}


def test_a_frame_id_is_the_same_for_the_same_messages_and_only_for_them() -> None:
    events = [event() for _ in range(3)]
    (first,) = build_frames(events, PREFIX, 1_000_000)
    (again,) = build_frames(events, PREFIX, 1_000_000)
    (other,) = build_frames(events[:2], PREFIX, 1_000_000)
    assert first.msg_id == again.msg_id and first.msg_id.startswith("frame-")
    assert other.msg_id != first.msg_id


def test_frames_stay_under_the_byte_and_message_limits() -> None:
    big = [event(properties={"note": "x" * 900}) for _ in range(10)]
    size = len(big[0].to_bytes())  # the same for each
    frames = build_frames(big, PREFIX, 3 * size + 4)  # brackets and two commas
    assert [f.count for f in frames] == [3, 3, 3, 1]
    assert all(len(f.data) == 3 * size + 4 for f in frames[:3])
    many = build_frames([event() for _ in range(MAX_FRAME_MESSAGES + 5)], PREFIX, 10**9)
    assert [f.count for f in many] == [MAX_FRAME_MESSAGES, 5]


def test_a_bad_part_is_set_apart_with_its_field_and_reason_but_not_its_value() -> None:
    parts = [orjson.loads(event().to_bytes()) for _ in range(3)]
    parts[1]["country"] = "secret-place"
    decoded = decode_frame(ProductEvent, orjson.dumps(parts), "t.events.v1.user_login", PREFIX)
    assert [type(p) for p in decoded] == [Part, BadPart, Part]
    bad = decoded[1]
    assert isinstance(bad, BadPart) and bad.index == 1
    assert "country: Value error" in bad.reason and "secret-place" not in bad.reason
    assert orjson.loads(bad.data) == parts[1]


def test_a_part_of_another_name_is_set_apart() -> None:
    data = b"[" + event().to_bytes() + b"," + event("user_signup").to_bytes() + b"]"
    decoded = decode_frame(ProductEvent, data, "t.events.v1.user_login", PREFIX)
    assert isinstance(decoded[0], Part)
    assert isinstance(decoded[1], BadPart) and decoded[1].reason.endswith("t.events.v1.user_signup")


def test_a_message_without_its_id_is_refused_rather_than_given_a_new_one_at_each_delivery() -> None:
    # The model would make one up, a different one each time the same message is delivered: a redelivery
    # would then be a new message (an event stored twice).
    parts = [orjson.loads(event().to_bytes()) for _ in range(3)]
    del parts[1]["message_id"]
    for _ in range(2):  # the same frame delivered again: the same outcome
        decoded = decode_frame(ProductEvent, orjson.dumps(parts), "t.events.v1.user_login", PREFIX)
        assert [type(p) for p in decoded] == [Part, BadPart, Part]
        bad = decoded[1]
        assert isinstance(bad, BadPart) and bad.reason == f"invalid seqpulse.events.v1.product: {MISSING_ID}"
        assert orjson.loads(bad.data) == parts[1]  # as it came: no id made up for the dead letter
    codec = ModelCodec(ProductEvent)
    with pytest.raises(Undecodable, match="message_id: missing"):
        codec.decode(orjson.dumps(parts[1]), "t.events.v1.user_login", PREFIX)
    # An id given, even one that is not a UUID, is the message's own: kept.
    named_part = orjson.dumps(parts[1] | {"message_id": "order-17"})
    named = codec.decode(named_part, "t.events.v1.user_login", PREFIX)
    assert named.message_id == "order-17"


def shared_parts(events: list[ProductEvent]) -> tuple[list[Encoded], dict[str, bytes]]:
    """The events as a producer writing the shared form gives them: each without the shared fields, and
    those once by subject (the first event's values)."""
    subject = events[0].topic(PREFIX)
    whole = [orjson.loads(e.to_bytes()) for e in events]
    shared = {field: whole[0][field] for field in ProductEvent.SHARED_FIELDS}
    own = [
        Encoded(subject, e.message_id, orjson.dumps({k: v for k, v in w.items() if k not in shared}))
        for e, w in zip(events, whole, strict=True)
    ]
    return own, {subject: orjson.dumps(shared)}


def test_the_shared_form_writes_what_messages_share_once_and_reads_back_the_same_messages() -> None:
    received = datetime.now(UTC)  # one for all (the events made after it happened just after: allowed)
    events = [event(country="FR", source="http", received_at=received) for _ in range(4)]
    own, shared = shared_parts(events)
    (frame,) = frame_encoded(own, 10**6, shared)
    assert (
        SHARED_FORM.match(frame.data) and frame.count == 4 and frame_headers(frame) == {"SeqPulse-Frame": "4"}
    )
    # The same id as the plain frame of the same messages: a retry is the same frame either way.
    assert frame.msg_id == build_frames(events, PREFIX, 10**6)[0].msg_id
    assert frame.data.count(b'"country"') == 1
    assert decode_frame(ProductEvent, frame.data, frame.subject, PREFIX) == [
        Part(e, i) for i, e in enumerate(events)
    ]
    # A message alone goes as itself, whole: any consumer reads it, and its id is the message's.
    (single,) = frame_encoded(own[:1], 10**6, shared)
    assert (
        frame_headers(single) == {}
        and orjson.loads(single.data).keys() == set(ProductEvent.model_fields)
        and single.msg_id == events[0].message_id
    )
    assert ProductEvent.from_bytes(single.data) == events[0]


def test_shared_frames_stay_under_the_byte_limit() -> None:
    received = datetime.now(UTC)
    events = [event(properties={"note": "x" * 900}, received_at=received) for _ in range(10)]
    own, shared = shared_parts(events)
    size = len(own[0].data)
    head = len(b'{"shared":') + len(shared[own[0].subject]) + len(b',"messages":[')
    frames = frame_encoded(own, shared=shared, max_bytes=head + 3 * size + 4)  # two commas, "]}"
    assert [f.count for f in frames] == [3, 3, 3, 1]
    assert all(len(f.data) == head + 3 * size + 4 for f in frames[:3])
    read = [p.message for f in frames[:3] for p in decode_frame(ProductEvent, f.data, f.subject, PREFIX)]
    assert [*read, ProductEvent.from_bytes(frames[3].data)] == events  # the last, alone: whole


def test_a_bad_part_of_a_shared_frame_is_set_apart_whole() -> None:
    received = datetime.now(UTC)
    events = [event(country="FR", received_at=received) for _ in range(3)]
    own, shared = shared_parts(events)
    own[1] = own[1]._replace(data=own[1].data.replace(b'"properties":{}', b'"properties":[]'))
    (frame,) = frame_encoded(own, 10**6, shared)
    decoded = decode_frame(ProductEvent, frame.data, frame.subject, PREFIX)
    assert [type(p) for p in decoded] == [Part, BadPart, Part]
    bad = decoded[1]
    assert isinstance(bad, BadPart) and bad.index == 1 and "properties" in bad.reason
    # The dead letter is the message whole, shared fields included: it can be replayed on its own.
    assert orjson.loads(bad.data) == orjson.loads(events[1].to_bytes()) | {"properties": []}


@pytest.mark.parametrize("data", [b"{not json", b'{"a": 1}', b'"text"'])
def test_a_frame_that_is_not_an_array_is_unreadable_whole(data: bytes) -> None:
    with pytest.raises(FrameError, match="JSON array"):
        decode_frame(ProductEvent, data, "t.events.v1.user_login", PREFIX)


class Picky(Message):
    """A message whose validator fails with an error pydantic does not wrap (a TypeError)."""

    AREA: ClassVar[str] = "test"
    EVENT: ClassVar[str] = "picky"
    value: int

    @field_validator("value")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value == 13:
            raise TypeError("thirteen")
        return value


def test_a_part_failing_with_an_unwrapped_error_is_set_apart_not_a_crash() -> None:
    messages = [Picky(value=1), Picky(value=2)]
    (frame,) = build_frames(messages, PREFIX, 10**6)
    data = frame.data.replace(b'"value":2', b'"value":13')
    decoded = decode_frame(Picky, data, frame.subject, PREFIX)
    assert decoded[0] == Part(messages[0], 0)
    assert isinstance(decoded[1], BadPart) and "TypeError: thirteen" in decoded[1].reason
