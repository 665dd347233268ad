"""Frames (many events of one name in one NATS message) through real NATS into Postgres: every part stored
once, a bad part dead-lettered on its own, a frame sent again or redelivered stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from seqpulse.common.bus.frames import FRAME_HEADER
from seqpulse.common.messages import ProductEvent
from tests.integration.ingest.conftest import Ingest, counter, product_event
from tests.integration.ingest.test_ingest_dead_letters import dead_letters
from tests.support import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


async def test_publish_many_sends_frames_that_ingest_stores_once_each(ingest: Ingest) -> None:
    logins = [product_event(user=f"user{i}") for i in range(300)]
    signups = [product_event(user=f"user{i}", event_name="user_signup") for i in range(5)]
    mixed = [e for pair in zip(logins[:5], signups, strict=True) for e in pair] + logins[5:]
    await ingest.bus.publish_many(mixed)
    stream = f"{ingest.bus.prefix.upper()}_EVENTS"
    assert (await ingest.bus.js.stream_info(stream)).state.messages == 2  # a frame per name
    await ingest.bus.publish_many(mixed)  # the same request again: the same frames, dropped by JetStream
    assert (await ingest.bus.js.stream_info(stream)).state.messages == 2
    await ingest.bus.publish_many(logins[:100])  # a different frame of events already sent: ingest's part

    await ingest.start(ingest_batch_size=1000)
    await eventually(ingest.drained)
    assert await ingest.stored() == 305
    activity = await ingest.activity()
    assert sum(activity.values()) == 305  # every event counted once in the daily activity
    assert await dead_letters(ingest.bus) == []


async def test_a_bad_part_is_dead_lettered_alone_and_the_rest_of_its_frame_stored(ingest: Ingest) -> None:
    bus = ingest.bus
    good = [product_event(user=f"user{i}") for i in range(4)]
    ahead = product_event(datetime.now(UTC) + timedelta(hours=1), user="early")
    parts = [orjson.loads(e.to_bytes()) for e in [good[0], good[1], ahead, good[2], good[3]]]
    parts[1] = parts[1] | {"country": "Atlantis"}  # invalid: decoding sets it apart
    parts[3] = parts[3] | {"event_name": "user_signup"}  # valid, on another name's subject
    topic = good[0].topic(bus.prefix)
    await bus.publish_raw(
        topic, orjson.dumps(parts), msg_id="frame-with-bad-parts", headers={FRAME_HEADER: str(len(parts))}
    )
    rejected = counter("rejected")

    await ingest.start()
    await eventually(ingest.drained)
    stored = {r["user_key"] for r in await ingest.fetch("SELECT user_key FROM product_events")}
    assert stored == {good[0].user_key, good[3].user_key}
    letters = sorted(await dead_letters(bus), key=lambda letter: letter[0]["SeqPulse-Frame-Index"])
    assert [h["SeqPulse-Frame-Index"] for h, _ in letters] == ["1", "2", "3"]
    reasons = [h["SeqPulse-Error"] for h, _ in letters]
    assert "country: Value error, must be an ISO" in reasons[0] and "Atlantis" not in reasons[0]
    assert "ahead of the ingest clock" in reasons[1]
    assert reasons[2].endswith(
        "its subject is " + good[0].model_copy(update={"event_name": "user_signup"}).topic(bus.prefix)
    )
    # Each part is a message of its own in the DLQ, on the frame's subject: replayable one by one.
    assert all(h["SeqPulse-Original-Subject"] == topic and FRAME_HEADER not in h for h, _ in letters)
    assert orjson.loads(letters[0][1])["country"] == "Atlantis"
    assert counter("rejected") == rejected + 3


async def test_a_frame_that_is_not_an_array_is_dead_lettered_whole(ingest: Ingest) -> None:
    topic = product_event().topic(ingest.bus.prefix)
    await ingest.bus.publish_raw(
        topic, b'{"not": "a frame"}', msg_id="not-a-frame", headers={FRAME_HEADER: "2"}
    )
    await ingest.start()
    await eventually(ingest.drained)
    ((headers, data),) = await dead_letters(ingest.bus)
    assert data == b'{"not": "a frame"}' and headers[FRAME_HEADER] == "2"
    assert "must be a JSON array" in headers["SeqPulse-Error"]


async def test_a_shared_frame_is_stored_once_and_its_bad_part_dead_lettered_whole(ingest: Ingest) -> None:
    """The gateway's form (ADR 0017): what the events share written once. Sent again (under the same id,
    dropped by JetStream; under another, on the stream twice), each good event is stored once; a bad one
    goes to the DLQ whole, shared fields included."""
    bus = ingest.bus
    good = [product_event(user=f"user{i}", country="FR") for i in range(3)]
    bad = good[1].model_copy(update={"message_id": "bad-one", "plan": "gold"})  # refused by the model
    topic = good[0].topic(bus.prefix)
    whole = [orjson.loads(e.to_bytes()) for e in [good[0], bad, good[1], good[2]]]
    shared = {field: whole[0][field] for field in ProductEvent.SHARED_FIELDS}
    own = [{k: v for k, v in w.items() if k not in shared} for w in whole]
    body = orjson.dumps({"shared": shared, "messages": own})
    for msg_id in ("frame-shared", "frame-shared", "frame-shared-again"):
        await bus.publish_raw(topic, body, msg_id=msg_id, headers={FRAME_HEADER: "4"})

    await ingest.start()
    await eventually(ingest.drained)
    stored = await ingest.fetch("SELECT user_key, country FROM product_events")
    assert sorted(r["user_key"] for r in stored) == sorted(e.user_key for e in good)
    assert {r["country"] for r in stored} == {"FR"}
    assert sum((await ingest.activity()).values()) == 3  # counted once each
    letters = await dead_letters(bus)
    assert len(letters) == 2  # the bad part of each of the two frames on the stream
    for headers, data in letters:
        assert headers["SeqPulse-Frame-Index"] == "1" and "plan" in headers["SeqPulse-Error"]
        assert orjson.loads(data) == shared | own[1]  # the whole event: replayable on its own
