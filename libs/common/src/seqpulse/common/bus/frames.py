"""Frames: many messages of one subject carried by one NATS message (ADR 0008).

A frame's body is a JSON array of messages that all belong on the frame's subject, and its header
`SeqPulse-Frame` gives their number. A producer whose messages share some fields' values (an API key's
events of one request and name share their name, time of receipt, project, country and source) may write
those once: the body is then in the **shared form**, `{"shared": {...}, "messages": [...]}`, each message
being the shared fields and its own (its own win when it has one of them too).

When a request brings a thousand small product events, what each NATS message costs (a publish and its ack, a
stored entry, a delivery, header parsing, an ack back) outweighs the event itself; a frame pays it once.
Subjects keep their meaning: a consumer filtering on `events.v1.user_login` still gets only logins. Only
`BatchConsumer` reads frames; a single message is published as itself (whole), never as a frame of one.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import orjson
from nats.aio.msg import Msg
from pydantic import TypeAdapter, ValidationError

from seqpulse.common.messages.base import Encoded, Message

M = TypeVar("M", bound=Message)
T = TypeVar("T")
FRAME_HEADER = "SeqPulse-Frame"
# Messages per frame at most: a frame is settled (acked, retried) as a whole, so it stays one request's worth.
MAX_FRAME_MESSAGES = 1000
# A body in the shared form is a JSON object (a plain frame's is an array): its first character tells.
SHARED_FORM = re.compile(rb"[ \t\r\n]*\{")
_FORMS = 'a frame must be a JSON array of messages, or {"shared": {...}, "messages": [...]}'
_SHARED_HEAD = b'{"shared":'
_SHARED_MESSAGES = b',"messages":['


@dataclass(frozen=True, slots=True)
class Frame:
    """What to publish: a frame of `count` messages, or (count 1) one message as itself."""

    subject: str
    data: bytes
    msg_id: str
    count: int


@dataclass(slots=True)
class Part(Generic[T]):
    """A message of a received frame (or the message itself: `index` None) that is valid on its subject,
    as its consumer's codec reads it (the model, for `ModelCodec`). One is made per message of a frame:
    not frozen, as a frozen dataclass takes twice as long to make."""

    message: T
    index: int | None


@dataclass(frozen=True, slots=True)
class BadPart:
    """A message of a received frame that is not valid: dead-lettered on its own, the others go on."""

    index: int
    data: bytes
    reason: str


def build_frames(messages: Sequence[Message], prefix: str, max_bytes: int) -> list[Frame]:
    """The messages grouped by subject, in order, into frames of at most `max_bytes` of body and
    `MAX_FRAME_MESSAGES` messages. The frame's id is a hash of its messages' ids: publishing the same
    messages again (a retried request) gives the same ids, which JetStream drops as duplicates."""
    by_subject: dict[str, list[Message]] = {}
    for message in messages:
        by_subject.setdefault(message.topic(prefix), []).append(message)
    frames: list[Frame] = []
    for subject, group in by_subject.items():
        kind = type(group[0])
        if 1 < len(group) <= MAX_FRAME_MESSAGES and all(type(m) is kind for m in group):
            # Usually the whole group fits: serialised by pydantic-core in one call.
            data = _list_of(kind).dump_json(group)
            if len(data) <= max_bytes:
                frames.append(Frame(subject, data, _frame_id([m.message_id for m in group]), len(group)))
                continue
        frames += _split(
            subject, [m.message_id for m in group], [m.to_bytes() for m in group], max_bytes, None
        )
    return frames


def frame_encoded(
    messages: Sequence[Encoded], max_bytes: int, shared: Mapping[str, bytes] | None = None
) -> list[Frame]:
    """`build_frames` for messages serialised by their producer: grouped by subject, in order, and a group
    that fits is one frame with the id its models' frame would have. `shared`: by subject, the JSON object
    of the fields every message on it has, which their `data` leaves out (compact JSON objects, as orjson
    writes them); their frames are in the shared form, and a message alone is written whole."""
    by_subject: dict[str, tuple[list[str], list[bytes]]] = {}  # each subject's ids and JSON, in order
    for subject, msg_id, data in messages:
        group = by_subject.get(subject)
        if group is None:
            group = by_subject[subject] = ([], [])
        group[0].append(msg_id)
        group[1].append(data)
    shared = shared or {}
    return [
        frame
        for subject, (ids, datas) in by_subject.items()
        for frame in _split(subject, ids, datas, max_bytes, shared.get(subject))
    ]


def _split(
    subject: str, ids: list[str], datas: list[bytes], max_bytes: int, shared: bytes | None
) -> list[Frame]:
    # "[", then each message and the "," or "]" after it; the shared form adds its head and the final "}"
    empty = 1 if shared is None else len(_SHARED_HEAD) + len(shared) + len(_SHARED_MESSAGES) + 1
    if len(datas) <= MAX_FRAME_MESSAGES and empty + sum(map(len, datas)) + len(datas) <= max_bytes:
        return [_frame(subject, ids, datas, shared)]  # usually the whole group fits
    frames: list[Frame] = []
    start, size = 0, empty
    for end, data in enumerate(datas):
        if end > start and (size + len(data) + 1 > max_bytes or end - start >= MAX_FRAME_MESSAGES):
            frames.append(_frame(subject, ids[start:end], datas[start:end], shared))
            start, size = end, empty
        size += len(data) + 1
    frames.append(_frame(subject, ids[start:], datas[start:], shared))
    return frames


def _frame(subject: str, ids: list[str], datas: list[bytes], shared: bytes | None) -> Frame:
    if len(datas) == 1:
        return Frame(subject, datas[0] if shared is None else _whole(shared, datas[0]), ids[0], 1)
    if shared is not None:
        data = _SHARED_HEAD + shared + _SHARED_MESSAGES + b",".join(datas) + b"]}"
        return Frame(subject, data, _frame_id(ids), len(datas))
    return Frame(subject, b"[" + b",".join(datas) + b"]", _frame_id(ids), len(datas))


def _whole(shared: bytes, own: bytes) -> bytes:
    """A message written without its shared fields, whole again: both compact JSON objects (as orjson
    writes them), joined; a key of both is read with the message's own value, the last."""
    if shared == b"{}":
        return own
    if own == b"{}":
        return shared
    return shared[:-1] + b"," + own[1:]


def _frame_id(ids: list[str]) -> str:
    return "frame-" + hashlib.blake2b("\n".join(ids).encode(), digest_size=16).hexdigest()


def frame_headers(frame: Frame) -> dict[str, str]:
    return {FRAME_HEADER: str(frame.count)} if frame.count > 1 else {}


def weight(msg: Msg) -> int:
    """How many messages `msg` carries: its frame's count, or 1."""
    value = msg.headers.get(FRAME_HEADER) if msg.headers else None
    if value is None:
        return 1
    try:
        return max(1, int(value))
    except ValueError:
        return 1  # decoding will say what is wrong with it


class FrameError(ValueError):
    """The frame as a whole is unreadable (not a JSON array): no part of it can be kept."""


class Undecodable(ValueError):
    """A message (not a frame) that is not valid on its subject: no redelivery can fix it."""


class Codec(Protocol[T]):
    """How a batch consumer reads its messages, and what its handler gets of each: the model itself
    (`ModelCodec`), or a lighter form of it its consumer reads faster (the ingest's `EventCodec`). A codec
    must accept exactly what the model accepts, and say why it refuses the same way."""

    def decode(self, data: bytes, subject: str, prefix: str) -> T:
        """One message that is not a frame; `Undecodable` with the reason if it is not valid."""
        ...

    def decode_frame(self, data: bytes, subject: str, prefix: str) -> list[Part[T] | BadPart]:
        """Every part of a frame (`decode_frame`); `FrameError` with the reason if it is unreadable."""
        ...

    def to_bytes(self, item: T) -> bytes:
        """The message again, as JSON its model reads: what a dead letter carries."""
        ...


# A message read without its id would be given a new one each time it is delivered, and a redelivery would
# then be handled as another message: a received message must carry the id it was published with.
MISSING_ID = "message_id: missing (a received message must carry the id it was published with)"


class ModelCodec(Generic[M]):
    """Messages read as their pydantic model."""

    def __init__(self, model: type[M]) -> None:
        self.model = model

    def decode(self, data: bytes, subject: str, prefix: str) -> M:
        name = self.model.type_name()
        try:
            message = self.model.from_bytes(data)
        except ValidationError as exc:
            raise Undecodable(f"invalid {name}: {validation_reason(exc)}") from exc
        except (ValueError, TypeError) as exc:  # a validator that raised something pydantic does not wrap
            raise Undecodable(f"invalid {name}: {type(exc).__name__}: {exc}") from exc
        if "message_id" not in message.model_fields_set:
            raise Undecodable(f"invalid {name}: {MISSING_ID}")
        expected = message.topic(prefix)
        if subject != expected:
            # Consumers filter on the subject: a message on the wrong one would mislead them.
            raise Undecodable(f"published on {subject}, but its subject is {expected}")
        return message

    def decode_frame(self, data: bytes, subject: str, prefix: str) -> list[Part[M] | BadPart]:
        try:
            return decode_frame(self.model, data, subject, prefix)
        except FrameError as exc:
            raise FrameError(f"invalid frame of {self.model.type_name()}: {exc}") from exc

    def to_bytes(self, item: M) -> bytes:
        return item.to_bytes()


def decode_frame(model: type[M], data: bytes, subject: str, prefix: str) -> list[Part[M] | BadPart]:
    """Every part of a frame: valid messages of `model` on `subject`, and the bad ones with their reason.
    One validation of the whole array in pydantic-core; only a frame with a bad part is gone through
    part by part, each part exactly as a message of its own would be. A frame in the shared form is read as
    the plain frame of its messages made whole (`plain_form`)."""
    if SHARED_FORM.match(data):
        data = plain_form(data)
    try:
        parsed = _list_of(model).validate_json(data)
    except (ValueError, TypeError):  # ValidationError, or a validator's error pydantic does not wrap
        return _part_by_part(model, data, subject, prefix)
    return [_on_subject(message, i, subject, prefix) for i, message in enumerate(parsed)]


def plain_form(data: bytes) -> bytes:
    """A frame in the shared form as a plain frame: each message is the shared fields, then its own (a
    field of both takes the message's value). `FrameError` if the body is not that form."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"{_FORMS} ({exc})") from None
    if not isinstance(body, dict) or body.keys() != {"shared", "messages"}:
        raise FrameError(_FORMS)
    shared, messages = body["shared"], body["messages"]
    if not isinstance(shared, dict):
        raise FrameError("shared: must be a JSON object")
    if not isinstance(messages, list):
        raise FrameError("messages: must be a JSON array")
    # A message that is not an object stays as it is: its part is refused with the model's reason.
    return orjson.dumps([shared | message if isinstance(message, dict) else message for message in messages])


def _part_by_part(model: type[M], data: bytes, subject: str, prefix: str) -> list[Part[M] | BadPart]:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FrameError(f"a frame must be a JSON array of messages ({exc})") from None
    if not isinstance(items, list):
        raise FrameError("a frame must be a JSON array of messages")
    parts: list[Part[M] | BadPart] = []
    for index, item in enumerate(items):
        raw = orjson.dumps(item)
        try:
            message = model.model_validate_json(raw)
        except ValidationError as exc:
            parts.append(BadPart(index, raw, f"invalid {model.type_name()}: {validation_reason(exc)}"))
        except (ValueError, TypeError) as exc:
            parts.append(BadPart(index, raw, f"invalid {model.type_name()}: {type(exc).__name__}: {exc}"))
        else:
            parts.append(_on_subject(message, index, subject, prefix))
    return parts


def _on_subject(message: M, index: int, subject: str, prefix: str) -> Part[M] | BadPart:
    if "message_id" not in message.model_fields_set:
        # The dead letter carries the part as it came, without the id the model made up for it.
        data = message.__pydantic_serializer__.to_json(message, exclude={"message_id"})
        return BadPart(index, data, f"invalid {message.type_name()}: {MISSING_ID}")
    expected = message.topic(prefix)
    if expected == subject:
        return Part(message, index)
    return BadPart(index, message.to_bytes(), f"in a frame on {subject}, but its subject is {expected}")


@functools.cache
def _list_of(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def validation_reason(exc: ValidationError) -> str:
    """Each failing field and why, without the input values (they may hold user data)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )
