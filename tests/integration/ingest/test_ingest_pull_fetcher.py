"""The batch consumer's pull fetcher against real JetStream: what it hands out, when it gives up."""

from __future__ import annotations

import time

import nats.errors
import pytest
from nats.aio.msg import Msg

from seqpulse.common.bus import Bus, ConsumerSpec
from seqpulse.common.bus.pull import PullFetcher
from seqpulse.common.bus.streams import INGEST_EVENTS
from tests.integration.ingest.conftest import product_event

pytestmark = [pytest.mark.nats]


async def test_fetch_hands_out_at_most_the_batch_asked_for_then_the_rest(bus: Bus) -> None:
    for i in range(5):
        await bus.publish(product_event(user=f"user{i}"))
    fetcher = PullFetcher(bus, INGEST_EVENTS)
    await fetcher.start()
    try:
        # A burst may reach the client in more than one read, and a fetch hands out what is in hand:
        # never more than asked, the rest on the next fetch.
        first: list[Msg] = []
        while len(first) < 3:
            got = await fetcher.fetch(3 - len(first), timeout=5)
            assert 1 <= len(got) <= 3 - len(first)
            first += got
        rest: list[Msg] = []
        while len(first) + len(rest) < 5:
            rest += await fetcher.fetch(10, timeout=5)
        assert [len(first), len(rest)] == [3, 2]
        assert len({m.metadata.sequence.stream for m in first + rest}) == 5
        for msg in first + rest:
            await msg.ack()
    finally:
        await fetcher.close()


async def test_frames_count_for_their_parts_and_a_request_stops_at_its_byte_limit(bus: Bus) -> None:
    for n in range(6):  # six frames of 300 logins (one name each: one frame per publish)
        await bus.publish_many([product_event(user=f"user{n}-{i}") for i in range(300)])
    fetcher = PullFetcher(bus, INGEST_EVENTS, max_bytes=200_000)  # two frames of ~90 kB fit, not three
    await fetcher.start()
    try:
        first = await fetcher.fetch(1000, timeout=5)
        if len(first) == 1:  # the second frame came in a later read: the same request brings it
            first += await fetcher.fetch(1000, timeout=5)
        assert [m.headers and m.headers["SeqPulse-Frame"] for m in first] == ["300"] * len(first)
        # The byte limit ended the request after two frames, before the 1000 parts asked for.
        assert len(first) == 2
        rest: list[object] = []
        while len(first) + len(rest) < 6:
            rest += await fetcher.fetch(1000, timeout=5)  # the 409 "exceeds MaxBytes" is no failure
        for msg in [*first, *rest]:
            await msg.ack()  # type: ignore[attr-defined]
    finally:
        await fetcher.close()


async def test_fetch_on_an_empty_consumer_times_out_after_its_timeout(bus: Bus) -> None:
    fetcher = PullFetcher(bus, INGEST_EVENTS)
    await fetcher.start()
    try:
        started = time.monotonic()
        with pytest.raises(nats.errors.TimeoutError):
            await fetcher.fetch(10, timeout=0.3)
        assert 0.25 <= time.monotonic() - started < 5
    finally:
        await fetcher.close()


async def test_a_message_published_while_waiting_is_handed_out_at_once(bus: Bus) -> None:
    fetcher = PullFetcher(bus, INGEST_EVENTS)
    await fetcher.start()
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await fetcher.fetch(10, timeout=0.05)
        await bus.publish(product_event())
        started = time.monotonic()
        (msg,) = await fetcher.fetch(10, timeout=10)
        assert time.monotonic() - started < 5
        await msg.ack()
    finally:
        await fetcher.close()


async def test_fetch_on_a_consumer_that_does_not_exist_fails_rather_than_waits(bus: Bus) -> None:
    missing = ConsumerSpec("no-such-consumer", "EVENTS", "events.v1.>")
    fetcher = PullFetcher(bus, missing)
    await fetcher.start()
    try:
        started = time.monotonic()
        with pytest.raises(nats.errors.Error, match="ended: 503") as failure:
            await fetcher.fetch(10, timeout=5)
        assert not isinstance(failure.value, nats.errors.TimeoutError)
        assert time.monotonic() - started < 4
    finally:
        await fetcher.close()


async def test_a_request_that_got_its_whole_batch_ends_without_a_failure(bus: Bus) -> None:
    for i in range(3):
        await bus.publish(product_event(user=f"user{i}"))
    fetcher = PullFetcher(bus, INGEST_EVENTS)
    await fetcher.start()
    try:
        got: list[Msg] = []
        while len(got) < 3:  # the three may come in more than one read (see the first test)
            more = await fetcher.fetch(3 - len(got), timeout=5)
            assert 1 <= len(more) <= 3 - len(got)
            got += more
        assert len({m.metadata.sequence.stream for m in got}) == 3
        for msg in got:
            await msg.ack()
        # The server ends a request with a byte limit whose batch is complete with "409 Batch Completed":
        # the next fetch waits for new messages (here none: it times out) instead of reporting a failure.
        with pytest.raises(nats.errors.TimeoutError):
            await fetcher.fetch(3, timeout=0.5)
        await bus.publish(product_event(user="late"))
        assert len(await fetcher.fetch(3, timeout=5)) == 1
    finally:
        await fetcher.close()
