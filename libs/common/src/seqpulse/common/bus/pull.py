"""Pull requests on a durable JetStream consumer, for `BatchConsumer`."""

from __future__ import annotations

import asyncio
import contextlib
import time

import nats.errors
import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.frames import weight
from seqpulse.common.bus.streams import ConsumerSpec

# JetStream's API prefix (nats-py's default): SeqPulse uses no JetStream domain.
JS_API = "$JS.API"
# Bytes one pull request may bring at most: with frames of up to a thousand events, a request for N
# messages could otherwise bring N thousand events into memory. Above NATS's largest message (1 MiB).
PULL_MAX_BYTES = 4 * 1024 * 1024
# A fetch whose request ended early sends another only if at least this much of its timeout is left.
FOLLOW_UP_MIN_SECONDS = 0.01


class PullFetcher:
    """Pull requests on a durable consumer, the replies gathered by a subscription callback.

    nats-py's `fetch` awaits each message of a batch under its own timer task, which costs more than
    storing the event; here a burst of deliveries costs one wake-up. One request is outstanding at a time.
    Batches are counted in messages carried: a frame counts for the messages in it (`frames.weight`).
    """

    def __init__(self, bus: Bus, spec: ConsumerSpec, *, max_bytes: int = PULL_MAX_BYTES) -> None:
        self.nc = bus.nc
        stream = spec.stream_spec().name(bus.prefix)
        self.subject = f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{spec.durable}"
        self.inbox = bus.nc.new_inbox()
        self.max_bytes = max_bytes
        self._buffer: list[Msg] = []
        self._owed = 0  # messages the outstanding request may still bring
        self._expires_at = 0.0  # when the server ends it
        self._failure: str | None = None
        self._arrived = asyncio.Event()
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.inbox, cb=self._on_msg)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        # Delivered but never handed out: let another replica have them now rather than after ack_wait.
        for msg in self._buffer:
            with contextlib.suppress(Exception):
                await msg.nak()
        self._buffer.clear()

    async def fetch(self, batch: int = 1, timeout: float | None = 5) -> list[Msg]:
        """Delivered messages carrying up to `batch` messages (a frame may take it past, never a message
        more): those in hand at once, else the first burst within `timeout`."""
        deadline = time.monotonic() + (5.0 if timeout is None else timeout)
        # A request the server ends with nothing more (its byte limit used up, or it expired) while time
        # is left is followed by another: more may be waiting on the stream. Not for the last few
        # milliseconds, which the request that expired had used.
        waited = False
        while not self._buffer and self._failure is None:
            wait = deadline - time.monotonic()
            if wait <= (FOLLOW_UP_MIN_SECONDS if waited else 0):
                break
            waited = True
            self._arrived.clear()
            if self._owed <= 0 or time.monotonic() >= self._expires_at:
                await self._request(batch, wait)
            if not self._buffer:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), wait)
        if self._failure is not None and not self._buffer:
            failure, self._failure = self._failure, None
            raise nats.errors.Error(f"pull request on {self.subject} ended: {failure}")
        if not self._buffer:
            raise nats.errors.TimeoutError
        taken = carried = 0
        while taken < len(self._buffer) and carried < batch:
            carried += weight(self._buffer[taken])
            taken += 1
        out, self._buffer = self._buffer[:taken], self._buffer[taken:]
        return out

    async def _request(self, batch: int, wait: float) -> None:
        self._owed = batch
        self._expires_at = time.monotonic() + wait
        request = {
            "batch": batch,
            "max_bytes": self.max_bytes,
            "expires": max(int(wait * 1e9) - 1_000_000, 1_000_000),
        }
        await self.nc.publish(self.subject, orjson.dumps(request), reply=self.inbox)

    async def _on_msg(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self._buffer.append(msg)
            self._owed -= 1
        elif status == "100":  # an idle heartbeat
            return
        else:
            self._owed = 0
            description = (msg.headers or {}).get("Description", "")
            if not _normal_end(status, description):
                self._failure = f"{status} {description}".strip()
        self._arrived.set()


def _normal_end(status: str, description: str) -> bool:
    """How a pull request ends when nothing went wrong: 404 / 408, nothing (more) to deliver before it
    expired; 409 "Message Size Exceeds MaxBytes", its bytes used up; 409 "Batch Completed", every message
    asked for delivered (sent for requests with a byte limit, as all of these are)."""
    if status in ("404", "408"):
        return True
    return status == "409" and ("MaxBytes" in description or description == "Batch Completed")
