"""`PullFetcher` against a scripted NATS connection: the order in which the server's replies arrive is
chosen by the test, which a real server cannot be made to do on purpose."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import nats.errors
import orjson
import pytest
from nats.aio.msg import Msg

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.pull import PullFetcher
from seqpulse.common.bus.streams import INGEST_EVENTS


class ScriptedNats:
    """Records the pull requests; the test plays the server's replies with `reply`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.callback: Any = None
        self.requested = asyncio.Event()

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, cb: Any) -> Any:
        self.callback = cb
        return self

    async def unsubscribe(self) -> None:
        return None

    async def publish(self, subject: str, payload: bytes, reply: str = "") -> None:
        self.requests.append(orjson.loads(payload))
        self.requested.set()

    async def reply(self, data: bytes = b"", headers: dict[str, str] | None = None) -> None:
        await self.callback(Msg(cast(Any, self), subject="_INBOX.test", data=data, headers=headers))


async def first_fetch(timeout: float) -> tuple[ScriptedNats, PullFetcher, asyncio.Task[list[Msg]]]:
    """A started fetcher on a scripted server, and its first fetch (of 10), once it has sent its request."""
    nc = ScriptedNats()
    bus = cast(Bus, type("FakeBus", (), {"nc": nc, "prefix": "seqpulse"})())
    fetcher = PullFetcher(bus, INGEST_EVENTS, max_bytes=1000)
    await fetcher.start()
    fetching = asyncio.create_task(fetcher.fetch(10, timeout=timeout))
    await nc.requested.wait()
    return nc, fetcher, fetching


async def test_a_request_that_ends_with_nothing_more_is_followed_by_another_within_the_timeout() -> None:
    nc, fetcher, fetching = await first_fetch(5)
    await nc.reply(b"one")
    assert [m.data for m in await fetching] == [b"one"]
    # The next fetch waits on the same request, which the server then ends (its byte limit used up)
    # without another message, although more are waiting on the stream.
    nc.requested.clear()
    fetching = asyncio.create_task(fetcher.fetch(10, timeout=5))
    await asyncio.sleep(0.01)
    assert len(nc.requests) == 1
    await nc.reply(headers={"Status": "409", "Description": "Message Size Exceeds MaxBytes"})
    # A new request goes out at once, and its message is what the fetch returns: not a timeout.
    await asyncio.wait_for(nc.requested.wait(), 1)
    assert len(nc.requests) == 2 and nc.requests[1]["batch"] == 10
    await nc.reply(b"two")
    assert [m.data for m in await asyncio.wait_for(fetching, 1)] == [b"two"]


async def test_a_fetch_with_nothing_to_deliver_times_out_after_its_timeout() -> None:
    nc, _, fetching = await first_fetch(0.2)
    await nc.reply(headers={"Status": "408", "Description": "Request Timeout"})  # expired, nothing
    with pytest.raises(nats.errors.TimeoutError):
        await asyncio.wait_for(fetching, 2)


async def test_a_request_the_server_refuses_is_an_error() -> None:
    nc, _, fetching = await first_fetch(5)
    await nc.reply(headers={"Status": "409", "Description": "Consumer Deleted"})
    with pytest.raises(nats.errors.Error, match="Consumer Deleted"):
        await asyncio.wait_for(fetching, 1)
