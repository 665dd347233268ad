"""The batch consumer: batches by size and by time, and settles each message the way `Consumer` does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import nats.errors
import pytest
from nats.aio.msg import Msg

from seqpulse.common.bus import Bus
from seqpulse.common.bus.batch import BatchConsumer, Envelope, Rejection
from seqpulse.common.bus.frames import ModelCodec, build_frames, frame_headers, weight
from seqpulse.common.bus.streams import INGEST_EVENTS
from seqpulse.common.errors import RetryableError
from seqpulse.common.messages import ProductEvent

PREFIX = "t"


@dataclass
class FakeMeta:
    num_delivered: int
    sequence: Any


@dataclass
class FakeMsg:
    subject: str
    data: bytes
    attempt: int = 1
    seq: int = 1
    headers: dict[str, str] | None = None
    outcome: str | None = None
    delay: float | None = None

    @property
    def metadata(self) -> FakeMeta:
        return FakeMeta(self.attempt, type("Seq", (), {"stream": self.seq})())

    async def ack(self) -> None:
        self.outcome = "ack"

    async def nak(self, delay: float | None = None) -> None:
        self.outcome, self.delay = "nak", delay

    async def term(self) -> None:
        self.outcome = "term"

    async def in_progress(self) -> None:
        pass


@dataclass
class FakeBus:
    prefix: str = PREFIX
    published: list[tuple[str, bytes, str, dict[str, str]]] = field(default_factory=list)
    fail: bool = False

    def subject(self, relative: str) -> str:
        return f"{self.prefix}.{relative}"

    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str, headers: dict[str, str] | None = None
    ) -> None:
        if self.fail:
            raise nats.errors.ConnectionClosedError
        self.published.append((subject, data, msg_id, headers or {}))


class Arrivals:
    """A pull subscription fed by the test: fetch waits up to `timeout` for the first message, then takes
    whatever else has arrived, like JetStream's."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[FakeMsg] = asyncio.Queue()

    def put(self, *msgs: FakeMsg) -> None:
        for msg in msgs:
            self.queue.put_nowait(msg)

    async def fetch(self, batch: int = 1, timeout: float | None = 5) -> list[Msg]:
        try:
            first = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise nats.errors.TimeoutError from None
        got = [first]
        carried = weight(cast(Msg, first))  # a frame counts for its parts, as with PullFetcher
        while carried < batch and not self.queue.empty():
            got.append(self.queue.get_nowait())
            carried += weight(cast(Msg, got[-1]))
        return cast(list[Msg], got)


def event_msg(seq: int = 1, attempt: int = 1, **fields: Any) -> FakeMsg:
    event = ProductEvent.model_validate(
        {"event_name": "user_login", "occurred_at": datetime.now(UTC)} | fields
    )
    return FakeMsg(event.topic(PREFIX), event.to_bytes(), attempt=attempt, seq=seq)


class Recorder:
    def __init__(self, error: Exception | None = None, reject: Sequence[Rejection] = ()) -> None:
        self.batches: list[list[ProductEvent]] = []
        self.settled_during_call: list[str | None] = []
        self.error = error
        self.reject = list(reject)
        self.msgs: list[FakeMsg] = []

    async def __call__(self, batch: Sequence[Envelope[ProductEvent]]) -> list[Rejection]:
        self.batches.append([e.message for e in batch])
        self.settled_during_call = [m.outcome for m in self.msgs]
        if self.error is not None:
            raise self.error
        return self.reject


def consumer(
    handler: Recorder, bus: FakeBus | None = None, **options: Any
) -> tuple[BatchConsumer[ProductEvent], FakeBus]:
    bus = bus or FakeBus()
    made = BatchConsumer(cast(Bus, bus), INGEST_EVENTS, ModelCodec(ProductEvent), handler, **options)
    return made, bus


async def handle(c: BatchConsumer[ProductEvent], msgs: list[FakeMsg]) -> None:
    await c.handle(cast(list[Msg], msgs))


# --- batching -------------------------------------------------------------------------------------------


async def test_a_full_batch_is_returned_at_once_without_waiting_for_the_time_limit() -> None:
    c, _ = consumer(Recorder(), batch_size=5, max_wait_seconds=30)
    source = Arrivals()
    source.put(*(event_msg(seq=i) for i in range(12)))
    started = time.monotonic()
    assert len(await c.collect(source)) == 5
    assert len(await c.collect(source)) == 5
    assert time.monotonic() - started < 5


async def test_a_partial_batch_is_returned_once_nothing_more_came_for_the_linger() -> None:
    c, _ = consumer(Recorder(), batch_size=100, linger_seconds=0.05, max_wait_seconds=30)
    source = Arrivals()
    source.put(*(event_msg(seq=i) for i in range(3)))
    started = time.monotonic()
    assert len(await c.collect(source)) == 3
    assert 0.05 <= time.monotonic() - started < 1  # the end of a burst waits the linger, not 30 s


async def test_messages_arriving_within_the_linger_join_the_batch() -> None:
    c, _ = consumer(Recorder(), batch_size=100, linger_seconds=1.0, max_wait_seconds=2.0)
    source = Arrivals()
    source.put(event_msg(seq=1))
    asyncio.get_running_loop().call_later(0.05, source.put, event_msg(seq=2))
    asyncio.get_running_loop().call_later(0.1, source.put, *(event_msg(seq=i) for i in range(3, 101)))
    assert len(await c.collect(source)) == 100


async def test_a_trickle_that_never_pauses_for_the_linger_is_cut_at_the_max_wait() -> None:
    c, _ = consumer(Recorder(), batch_size=1000, linger_seconds=0.2, max_wait_seconds=0.3)
    source = Arrivals()
    loop = asyncio.get_running_loop()
    for i in range(60):  # one message every 20 ms for 1.2 s
        loop.call_later(i * 0.02, source.put, event_msg(seq=i))
    started = time.monotonic()
    first = await c.collect(source)
    assert 0.3 <= time.monotonic() - started < 0.9
    assert 5 <= len(first) < 60  # what came within the max wait of the first, not the whole trickle


async def test_nothing_arriving_returns_an_empty_batch_after_the_idle_fetch() -> None:
    c, _ = consumer(Recorder(), idle_fetch_seconds=0.05)
    assert await c.collect(Arrivals()) == []


async def test_stopping_returns_the_messages_in_hand_without_waiting() -> None:
    c, _ = consumer(Recorder(), batch_size=100, max_wait_seconds=30, idle_fetch_seconds=0.1)
    source = Arrivals()
    source.put(event_msg())
    asyncio.get_running_loop().call_later(0.05, c.stop)
    started = time.monotonic()
    assert len(await c.collect(source)) == 1
    assert time.monotonic() - started < 5


# --- settling -------------------------------------------------------------------------------------------


async def test_a_batch_is_acknowledged_only_after_the_handler_returned() -> None:
    handler = Recorder()
    c, _ = consumer(handler)
    msgs = handler.msgs = [event_msg(seq=i) for i in range(3)]
    await handle(c, msgs)
    assert handler.settled_during_call == [None, None, None]
    assert [m.outcome for m in msgs] == ["ack", "ack", "ack"]
    assert len(handler.batches) == 1 and len(handler.batches[0]) == 3


async def test_an_invalid_message_is_dead_lettered_with_the_field_and_reason_but_not_its_value() -> None:
    handler = Recorder()
    c, bus = consumer(handler)
    good = event_msg(seq=1)
    bad = event_msg(seq=2)
    bad.data = bad.data.replace(b'"country":null', b'"country":"france-secret"')
    garbage = FakeMsg(f"{PREFIX}.events.v1.user_login", b"{not json", seq=3)
    await handle(c, [good, bad, garbage])
    assert [m.outcome for m in (good, bad, garbage)] == ["ack", "term", "term"]
    assert len(handler.batches[0]) == 1
    (subject, data, msg_id, headers), second = bus.published
    assert subject == f"{PREFIX}.dlq.ingest-events" and data == bad.data and msg_id == "dlq-ingest-events-2"
    assert headers["SeqPulse-Original-Subject"] == bad.subject
    assert headers["SeqPulse-Consumer"] == "ingest-events"
    assert headers["SeqPulse-Attempts"] == "1"
    assert "country" in headers["SeqPulse-Error"] and "ISO 3166" in headers["SeqPulse-Error"]
    assert "france-secret" not in headers["SeqPulse-Error"]
    assert "\n" not in second[3]["SeqPulse-Error"] and "json" in second[3]["SeqPulse-Error"].lower()


async def test_a_message_on_a_subject_other_than_its_own_is_dead_lettered() -> None:
    c, bus = consumer(Recorder())
    msg = event_msg()
    msg.subject = f"{PREFIX}.events.v1.user_signup"
    await handle(c, [msg])
    assert msg.outcome == "term"
    assert "its subject is t.events.v1.user_login" in bus.published[0][3]["SeqPulse-Error"]


async def test_a_message_the_handler_rejects_is_dead_lettered_and_the_others_acknowledged() -> None:
    c, bus = consumer(Recorder(reject=[Rejection(1, "occurred_at too far ahead")]))
    msgs = [event_msg(seq=i) for i in range(3)]
    await handle(c, msgs)
    assert [m.outcome for m in msgs] == ["ack", "term", "ack"]
    assert bus.published[0][3]["SeqPulse-Error"] == "occurred_at too far ahead"


async def test_a_failing_handler_naks_the_whole_batch_with_the_delay_it_asks_for() -> None:
    c, bus = consumer(Recorder(error=RetryableError("database unavailable", delay=0.01)))
    msgs = [event_msg(seq=i) for i in range(3)]
    await handle(c, msgs)
    assert [(m.outcome, m.delay) for m in msgs] == [("nak", 0.01)] * 3
    assert bus.published == []


async def test_a_message_at_its_last_delivery_is_dead_lettered_when_its_batch_fails_again() -> None:
    c, bus = consumer(Recorder(error=ConnectionError("gone")), retry_base_seconds=0.01)
    last = event_msg(seq=1, attempt=INGEST_EVENTS.max_deliver)
    early = event_msg(seq=2, attempt=2)
    await handle(c, [last, early])
    assert (last.outcome, early.outcome) == ("term", "nak")
    assert bus.published[0][3]["SeqPulse-Error"] == "ConnectionError: gone"


async def test_a_dead_letter_that_cannot_be_published_leaves_the_message_to_come_back() -> None:
    c, _ = consumer(Recorder(), FakeBus(fail=True), retry_base_seconds=0.01)
    garbage = FakeMsg(f"{PREFIX}.events.v1.user_login", b"{not json")
    await handle(c, [garbage])
    assert garbage.outcome == "nak"


@pytest.mark.parametrize("attempt", [1, 3])
async def test_delivery_attempt_reaches_the_handler(attempt: int) -> None:
    seen: list[int] = []

    async def handler(batch: Sequence[Envelope[ProductEvent]]) -> list[Rejection]:
        seen.extend(e.delivery.attempt for e in batch)
        return []

    c = BatchConsumer(cast(Bus, FakeBus()), INGEST_EVENTS, ModelCodec(ProductEvent), handler)
    await handle(c, [event_msg(attempt=attempt)])
    assert seen == [attempt]


# --- frames ---------------------------------------------------------------------------------------------


def frame_msg(count: int, seq: int = 1, attempt: int = 1) -> FakeMsg:
    events = [
        ProductEvent.model_validate({"event_name": "user_login", "occurred_at": datetime.now(UTC)})
        for _ in range(count)
    ]
    (frame,) = build_frames(events, PREFIX, 10**9)
    return FakeMsg(frame.subject, frame.data, attempt=attempt, seq=seq, headers=frame_headers(frame))


async def test_a_batch_counts_the_messages_frames_carry() -> None:
    c, _ = consumer(Recorder(), batch_size=1000, max_wait_seconds=30)
    source = Arrivals()
    source.put(*(frame_msg(400, seq=i) for i in range(4)))
    assert len(await c.collect(source)) == 3  # 1200 events: the third frame took it past 1000


async def test_a_frames_parts_reach_the_handler_and_a_rejected_part_is_dead_lettered_alone() -> None:
    handler = Recorder(reject=[Rejection(3, "occurred_at too far ahead")])
    c, bus = consumer(handler)
    frame, single = frame_msg(3, seq=7), event_msg(seq=8)
    await handle(c, [frame, single])
    assert len(handler.batches[0]) == 4
    assert (frame.outcome, single.outcome) == ("ack", "term")  # index 3 is the single message
    handler.reject = [Rejection(1, "refused by Postgres")]
    frame = frame_msg(3, seq=9)
    await handle(c, [frame])
    assert frame.outcome == "ack"
    _, data, msg_id, headers = bus.published[-1]
    assert msg_id == "dlq-ingest-events-9-1" and headers["SeqPulse-Frame-Index"] == "1"
    assert ProductEvent.from_bytes(data) == handler.batches[1][1]


async def test_a_frame_whose_part_cannot_be_dead_lettered_comes_back() -> None:
    c, bus = consumer(Recorder(reject=[Rejection(0, "no")]), retry_base_seconds=0.01)
    bus.fail = True
    frame = frame_msg(2)
    await handle(c, [frame])
    assert frame.outcome == "nak"


async def test_a_frame_at_its_last_delivery_is_dead_lettered_whole_as_a_frame() -> None:
    c, bus = consumer(Recorder(error=ConnectionError("gone")), retry_base_seconds=0.01)
    frame = frame_msg(5, attempt=INGEST_EVENTS.max_deliver)
    await handle(c, [frame])
    assert frame.outcome == "term"
    ((_, data, _, headers),) = bus.published
    assert data == frame.data and headers["SeqPulse-Frame"] == "5"
