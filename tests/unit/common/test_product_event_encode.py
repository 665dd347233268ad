"""`ProductEvent.encode`: a producer's own serialisation of an event decodes to the event its model would
have made, and its frames carry them as `build_frames` would (the same frame ids when a group fits)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asyncpg.pgproto.pgproto import UUID as PgUUID
from pydantic import ValidationError

from seqpulse.common.bus.frames import Part, build_frames, decode_frame, frame_encoded
from seqpulse.common.messages.product import KNOWN_EVENTS, ProductEvent

PREFIX = "unit"


def random_fields(rng: random.Random) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=rng.choice([0, 1, 999_999]))
    return {
        "message_id": rng.choice([str(uuid.uuid4()), f"producer-{rng.randint(0, 10**6)}"]),
        "event_name": rng.choice([*KNOWN_EVENTS, "custom.report_exported"]),
        "occurred_at": now - timedelta(seconds=rng.uniform(0, 86400)),
        "received_at": now,
        "user_key": rng.choice([None, f"{rng.getrandbits(128):032x}"]),
        "project_id": rng.choice([None, uuid.uuid4()]),
        "plan": rng.choice([None, "free", "pro", "enterprise"]),
        "country": rng.choice([None, "FR", "US"]),
        "properties": rng.choice([{}, {"env": "prod", "n": 3, "nested": {"a": [1, None, "é"]}}]),
        "source": rng.choice(["http", "internal"]),
    }


def test_what_encode_writes_decodes_to_the_event_the_model_makes() -> None:
    rng = random.Random(3)
    for _ in range(300):
        fields = random_fields(rng)
        encoded = ProductEvent.encode(PREFIX, **fields)
        model = ProductEvent(**fields)
        assert ProductEvent.from_bytes(encoded.data) == model
        assert encoded.subject == model.topic(PREFIX) and encoded.msg_id == model.message_id


def test_a_project_id_read_by_the_database_driver_is_written_as_text() -> None:
    fields = random_fields(random.Random(5)) | {"project_id": PgUUID(str(uuid.uuid4()))}
    assert (
        ProductEvent.from_bytes(ProductEvent.encode(PREFIX, **fields).data).project_id == fields["project_id"]
    )


def test_frames_of_encoded_events_are_the_frames_of_their_models() -> None:
    rng = random.Random(4)
    fields = [random_fields(rng) for _ in range(120)]
    models = [ProductEvent(**f) for f in fields]
    encoded = [ProductEvent.encode(PREFIX, **f) for f in fields]
    whole = frame_encoded(encoded, 10**6)
    assert [(f.subject, f.msg_id, f.count) for f in whole] == [
        (f.subject, f.msg_id, f.count) for f in build_frames(models, PREFIX, 10**6)
    ]
    for max_bytes in (10**6, 2000):  # whole groups, then groups split by size
        ours = frame_encoded(encoded, max_bytes)
        assert len(ours) > len(whole) or max_bytes == 10**6
        assert all(len(f.data) <= max_bytes or f.count == 1 for f in ours)
        read = [ProductEvent.from_bytes(frame.data) for frame in ours if frame.count == 1]
        read += [
            part.message
            for frame in ours
            if frame.count > 1
            for part in decode_frame(ProductEvent, frame.data, frame.subject, PREFIX)
            if isinstance(part, Part)
        ]
        assert sorted(read, key=lambda e: e.message_id) == sorted(models, key=lambda e: e.message_id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_name", "custom.ok\n"),
        ("event_name", "user_login\n"),
        ("user_key", "0" * 32 + "\n"),
        ("country", "FR\n"),
    ],
)
def test_a_value_with_a_final_newline_is_refused_as_its_pattern_says(field: str, value: str) -> None:
    fields = random_fields(random.Random(1)) | {field: value}
    with pytest.raises(ValidationError) as refused:
        ProductEvent(**fields)
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]
    ProductEvent(**(fields | {field: value.rstrip("\n")}))  # the same value without it is valid
