"""The ingest's codec reads frames straight into records, and must read them exactly as `ProductEvent` does:
the same records for what the model accepts, the same refusals and reasons for the rest."""

from __future__ import annotations

import functools
import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from seqpulse.common.bus.frames import BadPart, FrameError, ModelCodec, Part, Undecodable, frame_encoded
from seqpulse.common.messages import ProductEvent
from seqpulse.common.messages.product import KNOWN_EVENTS
from seqpulse.ingest.decoding import EventCodec
from seqpulse.ingest.events import EventRecord, record_of

PREFIX = "t"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MODEL = ModelCodec(ProductEvent)


def subject(name: str = "user_login") -> str:
    return f"{PREFIX}.events.v1.{name}"


def valid(rng: random.Random, name: str = "user_login") -> dict[str, Any]:
    """An event as a producer writes it, with the optional fields and the id's form varied."""
    offset = rng.choice(["Z", "+00:00", "+02:00", "-05:30"])
    occurred = NOW - timedelta(seconds=rng.randint(0, 86_400), microseconds=rng.choice([0, 1, 500_000]))
    occurred_text = occurred.isoformat().replace("+00:00", "")
    if offset != "Z" and offset != "+00:00":
        hours, minutes = int(offset[1:3]), int(offset[4:])
        sign = 1 if offset[0] == "+" else -1
        local = occurred + sign * timedelta(hours=hours, minutes=minutes)
        occurred_text = local.replace(tzinfo=None).isoformat()
    message_id = rng.choice(
        [str(uuid.uuid4()), str(uuid.uuid4()).upper(), f"order-{rng.randint(0, 9999)}", uuid.uuid4().hex]
    )
    return {
        "message_id": message_id,
        "event_name": name,
        "occurred_at": occurred_text + offset,
        "received_at": NOW.isoformat(),
        "user_key": rng.choice([None, f"{rng.getrandbits(128):032x}"]),
        "project_id": rng.choice([None, str(uuid.uuid4())]),
        "plan": rng.choice([None, "free", "pro", "enterprise"]),
        "country": rng.choice([None, "FR", "US"]),
        "properties": rng.choice([{}, {"method": "password"}, {"n": 3, "list": [1, "a", None], "x": 1.5}]),
        "source": rng.choice(["http", "internal"]),
    }


def dumps(value: Any) -> bytes:
    """JSON as any producer may write it (the standard library's: integers of any size)."""
    return json.dumps(value, ensure_ascii=False).encode()


def reference(data: bytes, on: str) -> list[Part[EventRecord] | BadPart]:
    """What reading every event as a `ProductEvent` gives."""
    return [
        Part(record_of(part.message), part.index) if isinstance(part, Part) else part
        for part in MODEL.decode_frame(data, on, PREFIX)
    ]


class CountingFallback:
    """Counts the frames the codec hands to the model."""

    def __init__(self, codec: EventCodec, monkeypatch: pytest.MonkeyPatch) -> None:
        self.frames = 0
        model = ModelCodec(ProductEvent)
        read = model.decode_frame

        def decode_frame(data: bytes, on: str, prefix: str) -> list[Part[ProductEvent] | BadPart]:
            self.frames += 1
            return read(data, on, prefix)

        monkeypatch.setattr(codec, "_model", model)
        monkeypatch.setattr(model, "decode_frame", decode_frame)


# A frame in the shared form (frames.py) writes what its events share once. The fast way reads the gateway's
# shared form; anything else goes to the model, which reads each event as the shared fields and its own.
# Either way: the same records and refusals as the model's.
SHARED = ProductEvent.SHARED_FIELDS


def shared_form(items: list[dict[str, Any]], shared: dict[str, Any] | None = None) -> dict[str, Any]:
    """The events with the fields of `SHARED` written once (the first event's values, unless `shared`)."""
    shared = {field: items[0][field] for field in SHARED} if shared is None else shared
    own = [{k: v for k, v in item.items() if k not in SHARED} for item in items]
    return {"shared": shared, "messages": own}


def plain_form(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items


@pytest.mark.parametrize("form", [plain_form, shared_form])
def test_producers_frames_are_read_without_the_model_into_the_records_the_model_gives(
    monkeypatch: pytest.MonkeyPatch, form: Callable[[list[dict[str, Any]]], Any]
) -> None:
    rng = random.Random(7)
    codec = EventCodec()
    fallback = CountingFallback(codec, monkeypatch)
    for _ in range(200):
        name = rng.choice([*KNOWN_EVENTS, "custom.export_done"])
        data = dumps(form([valid(rng, name) for _ in range(rng.randint(2, 20))]))
        read = codec.decode_frame(data, subject(name), PREFIX)
        assert read == reference(data, subject(name)) and all(isinstance(part, Part) for part in read)
    assert fallback.frames == 0


def test_the_frames_the_model_and_the_gateway_write_are_read_without_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = EventCodec()
    fallback = CountingFallback(codec, monkeypatch)
    # The model's own (pydantic's serialiser), a plain frame.
    events = [ProductEvent(event_name="sdh_viewed", occurred_at=NOW, received_at=NOW) for _ in range(3)]
    data = b"[" + b",".join(e.to_bytes() for e in events) + b"]"
    assert codec.decode_frame(data, subject("sdh_viewed"), PREFIX) == reference(data, subject("sdh_viewed"))
    # The gateway's, in the shared form.
    on, shared = ProductEvent.encode_shared(
        PREFIX, event_name="sdh_viewed", received_at=NOW, project_id=uuid.uuid4(), country="FR", source="http"
    )
    encoded = [
        ProductEvent.encode_own(
            on, message_id=str(uuid.uuid4()), occurred_at=NOW, user_key=None, plan="pro", properties={"n": i}
        )
        for i in range(3)
    ]
    (frame,) = frame_encoded(encoded, 10**6, {on: shared})
    read = codec.decode_frame(frame.data, on, PREFIX)
    assert read == reference(frame.data, on) and len(read) == 3
    assert fallback.frames == 0


def test_only_a_time_finer_than_a_microsecond_sends_a_frame_to_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(8)
    codec = EventCodec()
    fallback = CountingFallback(codec, monkeypatch)
    numbers = [valid(rng) | {"properties": {"ratio": 12.3456789, "note": "x:12.3456789"}} for _ in range(3)]
    data = dumps(numbers)
    assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())
    assert fallback.frames == 0
    fine = [valid(rng), valid(rng) | {"occurred_at": "2026-11-22T09:00:00.1234567Z"}]
    data = dumps(fine)
    assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())
    assert fallback.frames == 1


PROPERTIES_LIMIT = {"p": "x" * (4096 - len(orjson.dumps({"p": ""})))}  # exactly 4096 bytes of JSON
# Each field's awkward values: some valid for the model in a form the fast way leaves to it, some refused.
EDGES: dict[str, list[Any]] = {
    "message_id": ["", 5, None, "{" + str(uuid.UUID(int=7)) + "}", "urn:uuid:" + str(uuid.UUID(int=9))],
    "event_name": [
        "user_logn",
        "custom.Bad",
        "custom.ok\n",
        "custom." + "a" * 63,
        "custom." + "a" * 64,
        "custom.",
        5,
        None,
    ],
    "occurred_at": [
        "2026-11-22T09:00:00",
        "2026-11-22 09:00:00Z",
        "2026-11-22t09:00:00z",
        1_795_000_000,
        "1795000000",
        "2026-02-30T09:00:00Z",
        "2026-11-22T09:00:00.1234567Z",
        "2026-11-22T09:00:00.1Z",
        "2026-11-22T09:00:00+24:00",
        "2026-11-22T09:00:00-23:59",
        "2026-11-22T24:00:00Z",
        "2026-11-22T23:59:60Z",
        "2026-11-22",
        "2026-11-22T10:05:00Z",  # exactly 5 minutes after received_at: accepted
        "2026-11-22T10:05:00.000001Z",  # just beyond: refused
        "2026-11-22T11:05:00+01:00",
        "２０２６-11-22T09:00:00Z",
        None,
    ],
    "received_at": ["2026-11-22T10:00:00", "2026-11-22T10:00:00+01:00", 0, None],
    "user_key": ["A" * 32, "a" * 31, "a" * 33, "g" * 32, "0" * 32 + "\n", 5],
    "project_id": [
        "{" + str(uuid.UUID(int=3)) + "}",
        str(uuid.UUID(int=3)).upper(),
        uuid.UUID(int=3).hex,
        "not-a-uuid",
        5,
    ],
    "plan": ["PRO", "gold", 1],
    "country": ["fr", "FRA", "F1", "FR\n", ""],
    "properties": [
        PROPERTIES_LIMIT,
        {"p": PROPERTIES_LIMIT["p"] + "x"},
        {"a": "\u0000"},
        {"\u0000": 1},
        {"a": [{"b": "x\u0000"}]},
        {"a": "\\u0000"},
        {"big": 2**70},
        [],
        None,
        "x",
    ],
    "source": ["other", None, "HTTP"],
}


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in EDGES.items() for v in values])
def test_an_awkward_value_is_read_as_the_model_reads_it_with_the_same_reasons(field: str, value: Any) -> None:
    rng = random.Random(hash(field) % 1000)
    codec = EventCodec()
    event = valid(rng) | {field: value}
    frame = [valid(rng), event, valid(rng)]
    for items in (frame, [event]):
        data = dumps(items)
        assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())
    # Missing altogether: the model's default, or its refusal.
    missing = [{k: v for k, v in valid(rng).items() if k != field}, valid(rng)]
    data = dumps(missing)
    assert without_made_up(codec.decode_frame(data, subject(), PREFIX)) == without_made_up(
        reference(data, subject())
    )


def without_made_up(parts: list[Part[EventRecord] | BadPart]) -> list[Any]:
    """The parts without what the model makes up for a missing field (a new id, the time now)."""
    return [
        (part.index, part.message.row[1], part.message.row[3:]) if isinstance(part, Part) else part
        for part in parts
    ]


# JSON only a raw text can hold (a dict cannot say it): numbers past a double, repeated keys, escapes, and
# times finer than a microsecond (msgspec would round them where pydantic truncates).
RAW_EDGES: list[tuple[str, bytes]] = [
    ("properties", b'{"f":1e400}'),
    ("properties", b'{"f":-1e400}'),
    ("properties", b'{"f":1e-400,"g":-0.0,"h":1E2}'),
    ("properties", b'{"n":123456789012345678901234567890}'),
    ("properties", b'{"n":18446744073709551615}'),
    ("properties", b'{"a":1,"a":2}'),
    ("properties", b'{"a":"\\u0000","b":"\\ud83d\\ude00","c":"\\/"}'),
    ("properties", b'{"a":"\\ud800"}'),
    ("properties", b'{"at":"09:00:00.1234567"}'),
    ("occurred_at", b'"2026-11-22T09:59:59.9999995Z"'),
    ("occurred_at", b'"2026-11-22T09:00:00.123456789+01:00"'),
    ("received_at", b'"2026-11-22T10:00:00.0000001Z"'),
    ("event_name", b'"user_login","event_name":"user_signup"'),
    ("project_id", b'"00000000000000000000000000000003"'),
]


@pytest.mark.parametrize(("field", "text"), RAW_EDGES)
def test_an_awkward_json_text_is_read_as_the_model_reads_it(field: str, text: bytes) -> None:
    rng = random.Random(5)
    event = valid(rng) | {field: "@@"}
    data = b"[" + dumps(valid(rng)) + b"," + dumps(event).replace(b'"@@"', text) + b"]"
    fast = functools.partial(EventCodec().decode_frame, prefix=PREFIX)
    assert outcome(fast, data) == outcome(reference, data)


def outcome(decode: Callable[[bytes, str], Any], data: bytes) -> Any:
    """The parts, or the error that makes the frame unreadable (a lone surrogate: not JSON at all)."""
    try:
        return decode(data, subject())
    except FrameError as exc:
        return str(exc)


def test_an_extra_field_or_a_part_on_another_subject_is_refused_as_the_model_refuses_it() -> None:
    rng = random.Random(3)
    codec = EventCodec()
    for items in ([valid(rng) | {"ip": "203.0.113.9"}, valid(rng)], [valid(rng), valid(rng, "user_signup")]):
        data = dumps(items)
        decoded = codec.decode_frame(data, subject(), PREFIX)
        assert decoded == reference(data, subject())
        assert isinstance(decoded[1], BadPart) or isinstance(decoded[0], BadPart)


def test_a_part_without_its_message_id_is_refused_as_the_model_refuses_it() -> None:
    rng = random.Random(12)
    codec = EventCodec()
    items = [valid(rng) for _ in range(3)]
    del items[2]["message_id"]
    data = dumps(items)
    decoded = codec.decode_frame(data, subject(), PREFIX)
    assert decoded == reference(data, subject())
    assert [type(p) for p in decoded] == [Part, Part, BadPart]
    assert "message_id: missing" in decoded[2].reason  # type: ignore[union-attr]
    with pytest.raises(Undecodable, match="message_id: missing"):
        codec.decode(dumps(items[2]), subject(), PREFIX)


def test_a_frame_on_a_subject_that_is_no_event_name_is_read_as_the_model_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(4)
    codec = EventCodec()
    fallback = CountingFallback(codec, monkeypatch)
    for name in ("user_logn", "custom.Bad", "custom."):
        data = dumps([valid(rng, name), valid(rng, name)])
        decoded = codec.decode_frame(data, subject(name), PREFIX)
        assert decoded == reference(data, subject(name)) and all(isinstance(p, BadPart) for p in decoded)
    assert fallback.frames == 3


def test_user_keys_and_countries_are_checked_once_and_the_memory_of_them_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("seqpulse.ingest.decoding.VOUCHED_LIMIT", 4)
    rng = random.Random(6)
    codec = EventCodec()
    fallback = CountingFallback(codec, monkeypatch)
    for _ in range(30):  # far more keys than the memory holds: it starts over, and reads stay right
        items = [valid(rng) for _ in range(3)]
        data = dumps(items)
        assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())
    assert fallback.frames == 0 and all(len(memory) <= 4 for memory in codec._vouched)
    bad = dumps([valid(rng) | {"user_key": "A" * 32}])  # never vouched for, however full the memory
    assert codec.decode_frame(bad, subject(), PREFIX) == reference(bad, subject())
    assert fallback.frames == 1
    # A value vouched for in one field is not in another: `US` is a country, not a user key.
    crossed = dumps([valid(rng) | {"country": "US"}, valid(rng) | {"user_key": "US"}])
    decoded = codec.decode_frame(crossed, subject(), PREFIX)
    assert decoded == reference(crossed, subject()) and isinstance(decoded[1], BadPart)


def test_random_frames_with_random_faults_read_the_same_both_ways() -> None:
    rng = random.Random(11)
    codec = EventCodec()
    for _ in range(400):
        items: list[Any] = [valid(rng) for _ in range(rng.randint(1, 6))]
        for _ in range(rng.randint(0, 2)):
            field = rng.choice(list(EDGES))
            items[rng.randrange(len(items))][field] = rng.choice(EDGES[field])
        if rng.random() < 0.1:
            items.append(rng.choice([5, "x", None, []]))
        data = dumps(items)
        assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())


def test_a_frame_that_is_not_an_array_is_unreadable_and_a_single_message_is_the_models() -> None:
    codec = EventCodec()
    with pytest.raises(FrameError, match=r"invalid frame of seqpulse\.events\.v1\.product"):
        codec.decode_frame(b"{not json", subject(), PREFIX)
    one = valid(random.Random(5))
    assert codec.decode(dumps(one), subject(), PREFIX) == record_of(
        ProductEvent.model_validate_json(dumps(one))
    )
    with pytest.raises(Undecodable, match="but its subject is"):
        codec.decode(dumps(one), subject("user_signup"), PREFIX)


def test_a_record_written_back_for_a_dead_letter_reads_as_the_same_event() -> None:
    rng = random.Random(9)
    codec = EventCodec()
    items = [valid(rng) for _ in range(50)]
    for part in codec.decode_frame(dumps(items), subject(), PREFIX):
        assert isinstance(part, Part)
        again = ProductEvent.from_bytes(codec.to_bytes(part.message))
        assert record_of(again) == part.message


# The awkward values in the shared form: the shared fields' written once, the others in one event.
@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in EDGES.items() for v in values])
def test_an_awkward_value_in_the_shared_form_is_read_as_the_model_reads_it(field: str, value: Any) -> None:
    rng = random.Random(hash(field) % 1000)
    codec = EventCodec()
    items = [valid(rng) for _ in range(3)]
    if field in SHARED:  # every event has it: written once
        body = shared_form(items, {f: items[0][f] for f in SHARED} | {field: value})
    else:
        items[1][field] = value
        body = shared_form(items)
    data = dumps(body)
    assert codec.decode_frame(data, subject(), PREFIX) == reference(data, subject())


def test_an_event_with_a_shared_field_of_its_own_keeps_its_own_value() -> None:
    rng = random.Random(19)
    items = [valid(rng) | {"country": "FR", "project_id": None} for _ in range(3)]
    body = shared_form(items)
    body["messages"][1]["country"] = "US"
    data = dumps(body)
    read = EventCodec().decode_frame(data, subject(), PREFIX)
    assert read == reference(data, subject())
    assert [part.message.row[7] for part in read if isinstance(part, Part)] == ["FR", "US", "FR"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"shared": {}, "messages": [], "more": 1}, "a frame must be a JSON array of messages, or {"),
        ({"messages": []}, "a frame must be a JSON array of messages, or {"),
        ({"shared": [], "messages": []}, "shared: must be a JSON object"),
        ({"shared": {}, "messages": {}}, "messages: must be a JSON array"),
    ],
)
def test_a_shared_form_that_is_not_one_is_unreadable_whole(body: dict[str, Any], reason: str) -> None:
    fast = functools.partial(EventCodec().decode_frame, prefix=PREFIX)
    assert reason in outcome(fast, dumps(body))
    assert outcome(fast, dumps(body)) == outcome(reference, dumps(body))
