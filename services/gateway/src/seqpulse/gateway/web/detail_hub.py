"""The live hub of deployment pages: one NATS subscription per gateway, fanned out to bounded queues.

Core NATS sees what JetStream stores, so one wildcard subscription hears every fact a page shows. Each fact
is encoded once as a server-sent event and handed to the queue of every open stream of its deployment; a
queue that fills up (a client that stopped reading) closes its stream instead of growing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from pydantic import ValidationError

from seqpulse.common.bus.client import Bus
from seqpulse.common.logging import get_logger
from seqpulse.common.messages import (
    DeploymentFinished,
    Message,
    SampleCollected,
    VerdictCreated,
    WindowClosed,
)
from seqpulse.gateway.problems import Problem

log = get_logger(__name__)

# One wildcard covers every area whose facts a page shows; other subjects it matches are skipped by a dict
# lookup before any decoding. (rpc.* and dlq.* subjects have another shape and never match.)
WILDCARD = "*.v1.*"
HEARTBEAT_SECONDS = 15.0
QUEUE_LIMIT = 32  # events waiting per stream; a page needs ~1 per sequence, so only a stuck client fills it
MAX_STREAMS = 2000  # per gateway; more is an attack or a leak, answered 503 (the page keeps polling)
MAX_STREAMS_PER_USER = 20  # tabs of one person: one account cannot take every stream of a gateway


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One fact about a deployment, encoded once as an SSE frame for all of its streams."""

    deployment_id: uuid.UUID
    name: str
    frame: bytes
    final: bool = False


def sse_frame(name: str, data: Mapping[str, Any]) -> bytes:
    """`event: <name>` and one `data:` line (orjson never writes a newline)."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def live_event(message: Message) -> LiveEvent | None:
    """What a page is told about a bus message; None for a message no page shows."""
    final = False
    match message:
        case SampleCollected():
            deployment_id, name = message.deployment_id, "sample"
            data: dict[str, Any] = {
                "phase": message.phase,
                "sequence_index": message.sequence_index,
                "collected_at": message.collected_at.isoformat(),
            }
        case DeploymentFinished():
            deployment_id, name = message.deployment_id, "finished"
            data = {
                "result": message.result,
                "finished_at": message.finished_at.isoformat(),
                "window_sequences": message.window_sequences,
            }
        case WindowClosed():
            deployment_id, name = message.deployment_id, "window_closed"
            data = {
                "reason": message.reason,
                "collected_post": message.collected_post,
                "expected_post": message.expected_post,
                "closed_at": message.closed_at.isoformat(),
            }
        case VerdictCreated():
            deployment_id, name, final = message.deployment_id, "verdict", True
            data = {"verdict": message.verdict, "confidence": message.confidence, "version": message.version}
        case _:
            return None
    return LiveEvent(
        deployment_id, name, sse_frame(name, {"deployment_id": str(deployment_id), **data}), final
    )


_MESSAGES: dict[str, type[Message]] = {
    f"{m.AREA}.v{m.VERSION}.{m.EVENT}": m
    for m in (SampleCollected, DeploymentFinished, WindowClosed, VerdictCreated)
}


class Listener:
    """One open stream's queue: bounded, and closed (with a reason) instead of growing."""

    __slots__ = ("_items", "_limit", "_wakeup", "closed", "deployment_id", "user_id")

    def __init__(self, deployment_id: uuid.UUID, user_id: uuid.UUID, limit: int) -> None:
        self.deployment_id = deployment_id
        self.user_id = user_id
        self.closed: str | None = None  # "overflow" or "shutdown" once closed
        self._items: deque[LiveEvent] = deque()
        self._limit = limit
        self._wakeup = asyncio.Event()

    def offer(self, event: LiveEvent) -> bool:
        """Queue an event; False (and closed) when the queue is full or the listener closed."""
        if self.closed is not None:
            return False
        if len(self._items) >= self._limit:
            self.close("overflow")
            return False
        self._items.append(event)
        self._wakeup.set()
        return True

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self._items.clear()
        self._wakeup.set()

    async def next(self, timeout: float) -> LiveEvent | None:
        """The next event; None when `timeout` passed without one, or once closed (`closed` says why)."""
        if self.closed is None and not self._items:
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wakeup.wait()
        if self.closed is not None or not self._items:
            return None
        return self._items.popleft()


class LiveHub:
    """The gateway's one subscription and its per-deployment listeners."""

    def __init__(
        self,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        queue_limit: int = QUEUE_LIMIT,
        max_streams: int = MAX_STREAMS,
        max_streams_per_user: int = MAX_STREAMS_PER_USER,
    ) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self.queue_limit = queue_limit
        self.max_streams = max_streams
        self.max_streams_per_user = max_streams_per_user
        self.closing = False
        self._listeners: dict[uuid.UUID, set[Listener]] = {}
        self._per_user: dict[uuid.UUID, int] = {}
        self._count = 0
        self._subscription: Subscription | None = None
        self._routes: dict[str, type[Message]] = {}
        self._lock = asyncio.Lock()

    @property
    def stream_count(self) -> int:
        return self._count

    def listeners(self, deployment_id: uuid.UUID) -> frozenset[Listener]:
        return frozenset(self._listeners.get(deployment_id, ()))

    async def start(self, bus: Bus) -> None:
        """Subscribe once (idempotent); returns when the server has the interest registered."""
        if self._subscription is not None:
            return
        async with self._lock:
            if self._subscription is not None:
                return
            self._routes = {bus.subject(relative): model for relative, model in _MESSAGES.items()}
            self._subscription = await bus.nc.subscribe(bus.subject(WILDCARD), cb=self._on_message)
            # A stream reads the deployment's state right after this: no fact may fall in between.
            await bus.nc.flush()
            log.info("live_subscribed", subject=bus.subject(WILDCARD))

    async def _on_message(self, msg: Msg) -> None:
        model = self._routes.get(msg.subject)
        if model is None:
            return
        try:
            message = model.from_bytes(msg.data)
        except ValidationError:
            log.warning("live_message_undecodable", subject=msg.subject)
            return
        event = live_event(message)
        if event is not None:
            self.publish(event)

    def publish(self, event: LiveEvent) -> None:
        """Hand an event to every stream of its deployment; a stream whose queue is full is dropped."""
        for listener in list(self._listeners.get(event.deployment_id, ())):
            if not listener.offer(event):
                self.discard(listener)
                log.warning(
                    "live_stream_dropped", deployment_id=str(event.deployment_id), reason=listener.closed
                )

    def listen(self, deployment_id: uuid.UUID, user_id: uuid.UUID) -> Listener:
        if self.closing:
            raise Problem(503, "The gateway is shutting down; reconnect.", code="unavailable")
        if self.stream_count >= self.max_streams:
            raise Problem(
                503,
                "Too many live pages are open on this gateway; retry shortly.",
                code="unavailable",
                headers={"Retry-After": "10"},
            )
        if self._per_user.get(user_id, 0) >= self.max_streams_per_user:
            raise Problem(
                429,
                f"You have {self.max_streams_per_user} live pages open; close some to follow this one live.",
                code="rate_limited",
                headers={"Retry-After": "30"},
            )
        listener = Listener(deployment_id, user_id, self.queue_limit)
        self._listeners.setdefault(deployment_id, set()).add(listener)
        self._per_user[user_id] = self._per_user.get(user_id, 0) + 1
        self._count += 1
        return listener

    def discard(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.deployment_id)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[listener.deployment_id]
        self._count -= 1
        left = self._per_user.pop(listener.user_id, 0) - 1
        if left > 0:
            self._per_user[listener.user_id] = left

    def close_streams(self) -> None:
        """Shutdown: every open stream ends now (its browser reconnects, to another replica if any)."""
        self.closing = True
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener.close("shutdown")
                self.discard(listener)

    async def stop(self) -> None:
        self.close_streams()
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            # The connection may already be draining or closed: its interest is gone with it then.
            with contextlib.suppress(NatsError):
                await subscription.unsubscribe()
