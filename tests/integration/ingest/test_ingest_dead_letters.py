"""An event that can never be stored goes to the DLQ with its reason; the rest of its batch is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from seqpulse.common.bus import Bus
from seqpulse.common.bus.frames import FRAME_HEADER, MISSING_ID
from seqpulse.ingest.events import plan_batch, record_of
from seqpulse.ingest.repository import IngestRepository
from seqpulse.ingest.writer import EventWriter
from tests.integration.ingest.conftest import Ingest, counter, product_event
from tests.support import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


async def dead_letters(bus: Bus) -> list[tuple[dict[str, str], bytes]]:
    stream = f"{bus.prefix.upper()}_DLQ"
    last = (await bus.js.stream_info(stream)).state.last_seq
    found = []
    for seq in range(1, last + 1):
        msg = await bus.js.get_msg(stream, seq)
        found.append((dict(msg.headers or {}), msg.data or b""))
    return found


async def test_invalid_events_are_dead_lettered_with_their_reason_while_the_rest_of_the_batch_is_stored(
    ingest: Ingest,
) -> None:
    bus = ingest.bus
    topic = product_event().topic(bus.prefix)

    async def publish_payload(msg_id: str, change: dict[str, Any], subject: str = topic) -> None:
        payload = product_event().model_dump(mode="json") | change
        await bus.publish_raw(subject, orjson.dumps(payload), msg_id=msg_id)

    good = [product_event(user=f"user{i}") for i in range(3)]
    await ingest.publish(good[0])
    await bus.publish_raw(topic, b'{"event_name": "user_login", "occurred_at": ', msg_id="truncated")
    await publish_payload("bad-country", {"country": "Atlantis"})
    await publish_payload("nul", {"properties": {"note": "a\u0000b"}})
    await ingest.publish(good[1])
    await publish_payload("wrong-subject", {}, subject=f"{bus.prefix}.events.v1.user_signup")
    ahead = datetime.now(UTC) + timedelta(hours=1)
    await ingest.publish(product_event(ahead), good[2])
    rejected = counter("rejected")

    await ingest.start(ingest_batch_max_wait_seconds=1.0)
    await eventually(ingest.drained)
    assert await ingest.stored() == 3
    reasons = [headers["SeqPulse-Error"] for headers, _ in await dead_letters(bus)]
    assert len(reasons) == 5
    assert "invalid seqpulse.events.v1.product: body: Invalid JSON" in reasons[0]
    assert reasons[1].startswith("invalid seqpulse.events.v1.product: country: Value error, must be an ISO")
    assert "Atlantis" not in reasons[1]
    assert "properties: Value error, must not contain the character U+0000" in reasons[2]
    assert reasons[3].endswith(f"its subject is {topic}")
    assert "ahead of the ingest clock" in reasons[4]
    assert counter("rejected") == rejected + 5


async def test_a_dead_letter_keeps_the_original_payload_subject_and_attempts(ingest: Ingest) -> None:
    topic = product_event().topic(ingest.bus.prefix)
    await ingest.bus.publish_raw(topic, b"not json at all", msg_id="garbage")
    await ingest.start()
    await eventually(ingest.drained)
    ((headers, data),) = await dead_letters(ingest.bus)
    assert data == b"not json at all"
    assert headers["SeqPulse-Original-Subject"] == topic
    assert headers["SeqPulse-Consumer"] == "ingest-events"
    assert headers["SeqPulse-Attempts"] == "1"


async def test_a_frame_part_without_its_id_is_dead_lettered_each_time_it_comes_never_stored(
    ingest: Ingest,
) -> None:
    # Given an id made up at each delivery, the same event delivered twice would be stored twice.
    topic = product_event().topic(ingest.bus.prefix)
    parts = [orjson.loads(product_event(user=f"user{i}").to_bytes()) for i in range(3)]
    del parts[1]["message_id"]
    frame = orjson.dumps(parts)
    for attempt in ("first", "again"):  # the same frame twice (a producer's retry with another msg id)
        await ingest.bus.publish_raw(topic, frame, msg_id=attempt, headers={FRAME_HEADER: "3"})
    await ingest.start(ingest_batch_max_wait_seconds=1.0)
    await eventually(ingest.drained)
    assert await ingest.stored() == 2  # the two parts with their ids, once each
    letters = await dead_letters(ingest.bus)
    assert [headers["SeqPulse-Error"].endswith(MISSING_ID) for headers, _ in letters] == [True, True]
    assert all(orjson.loads(data) == parts[1] for _, data in letters)


async def test_a_value_postgres_refuses_is_set_apart_and_the_rest_of_the_batch_stored(
    pool: asyncpg.Pool[Any],
) -> None:
    now = datetime.now(UTC)
    rows = plan_batch([record_of(product_event(user=f"user{i}")) for i in range(7)], now, 90).rows
    # From a producer older than the contract's U+0000 check: Postgres cannot store it in jsonb.
    rows[4] = (*rows[4][:9], {"note": "a\u0000b"})
    repo = IngestRepository(pool)
    outcome = await EventWriter(repo).write(rows)
    assert outcome.stored == 6 and outcome.users == 6
    assert list(outcome.refused) == [4]
    assert "refused by Postgres (22P05)" in outcome.refused[4]
    # The halves Postgres took each left their summary; folded, they count the six events once each.
    assert sum(p.summary.events for p in outcome.pending) == 6
    assert (await repo.fold()).events == 6
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM product_events") == 6
        assert await conn.fetchval("SELECT sum(events) FROM user_daily_activity") == 6
