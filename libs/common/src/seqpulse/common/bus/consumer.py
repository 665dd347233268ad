"""The one consumer loop: ack on success, nak with delay on RetryableError, term + dead-letter otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from opentelemetry import trace
from pydantic import ValidationError

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.streams import ConsumerSpec
from seqpulse.common.errors import PermanentError, RetryableError
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.base import Message
from seqpulse.common.telemetry.metrics import BUS_HANDLER_SECONDS, BUS_MESSAGES
from seqpulse.common.telemetry.tracing import context_from_headers, tracer

M = TypeVar("M", bound=Message)
log = get_logger(__name__)
_tracer = tracer("seqpulse.common.bus")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a handler may know about the delivery besides the message itself."""

    subject: str
    attempt: int
    headers: dict[str, str]


Handler = Callable[[M, Delivery], Awaitable[None]]
Route = tuple[type[Message], Callable[[Any, Delivery], Awaitable[None]]]


def retry_delay(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Exponential backoff with full jitter: attempt 1 → up to `base` s, doubling up to `cap`."""
    return random.uniform(base / 2, min(cap, base * 2 ** (attempt - 1)))


def route(model: type[M], handler: Handler[M]) -> Route:
    """Pair a message model with its handler; the subject picks the pair."""
    return (model, handler)


class Consumer:
    """Pulls from a durable consumer and maps each handler outcome to ack / nak / term + dead letter."""

    def __init__(
        self,
        bus: Bus,
        spec: ConsumerSpec,
        routes: list[Route],
        *,
        batch: int = 16,
        retry_base_seconds: float = 1.0,
    ) -> None:
        self.bus = bus
        self.spec = spec
        self.routes = {model.subject(bus.prefix): (model, handler) for model, handler in routes}
        self.batch = batch
        self.retry_base_seconds = retry_base_seconds
        self._stopping = asyncio.Event()
        self._sub: object | None = None

    def stop(self) -> None:
        """Finish the message in hand, then return from `run` (graceful drain)."""
        self._stopping.set()

    async def run(self) -> None:
        stream = self.spec.stream_spec().name(self.bus.prefix)
        sub = await self.bus.js.pull_subscribe_bind(durable=self.spec.durable, stream=stream)
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(self.batch, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    continue
                except (nats.errors.Error, nats.js.errors.Error) as exc:
                    # NATS restarting, or the consumer not declared yet: keep trying, never die.
                    log.warning("consumer_fetch_failed", consumer=self.spec.durable, error=_describe(exc))
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    # Once stopping, leave the rest unacked: they are redelivered to another replica.
                    if self._stopping.is_set():
                        break
                    await self.handle(msg)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        headers = dict(msg.headers or {})
        attempt = msg.metadata.num_delivered if msg.metadata else 1
        started = time.perf_counter()
        with _tracer.start_as_current_span(
            f"consume {msg.subject}",
            context=context_from_headers(headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.spec.durable,
                "messaging.message.id": headers.get("Nats-Msg-Id", ""),
                "messaging.nats.delivery_attempt": attempt,
            },
        ) as span:
            keepalive = asyncio.create_task(self._keep_in_progress(msg))
            try:
                if msg.subject not in self.routes:
                    raise PermanentError(f"no handler for subject {msg.subject}")
                model, handler = self.routes[msg.subject]
                try:
                    message = model.from_bytes(msg.data)
                except ValidationError as exc:
                    raise PermanentError(f"undecodable {model.type_name()}: {exc}") from exc
                await handler(message, Delivery(msg.subject, attempt, headers))
            except PermanentError as exc:
                span.record_exception(exc)
                await self._dead_letter(msg, exc, attempt)
            except Exception as exc:  # the consumer loop is one of the two broad catch points
                span.record_exception(exc)
                if attempt >= self.spec.max_deliver:
                    await self._dead_letter(msg, exc, attempt)
                else:
                    delay = exc.delay if isinstance(exc, RetryableError) and exc.delay else None
                    delay = delay or retry_delay(attempt, self.retry_base_seconds)
                    log.warning(
                        "message_retry_scheduled",
                        consumer=self.spec.durable,
                        subject=msg.subject,
                        attempt=attempt,
                        delay_seconds=round(delay, 3),
                        error=_describe(exc),
                    )
                    BUS_MESSAGES.labels(self.spec.durable, "retry").inc()
                    await msg.nak(delay=delay)
            else:
                await msg.ack()
                BUS_MESSAGES.labels(self.spec.durable, "ack").inc()
            finally:
                keepalive.cancel()
                BUS_HANDLER_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)

    async def _keep_in_progress(self, msg: Msg) -> None:
        """Long handlers tell the server they are alive so the message is not redelivered meanwhile."""
        interval = max(self.spec.ack_wait_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _dead_letter(self, msg: Msg, exc: BaseException, attempt: int) -> None:
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        headers = {
            "SeqPulse-Original-Subject": msg.subject,
            "SeqPulse-Consumer": self.spec.durable,
            "SeqPulse-Error": _describe(exc)[:500],
            "SeqPulse-Attempts": str(attempt),
        }
        headers.update({k: v for k, v in (msg.headers or {}).items() if k in ("traceparent", "tracestate")})
        await self.bus.publish_raw(
            self.bus.subject(f"dlq.{self.spec.durable}"),
            msg.data,
            msg_id=f"dlq-{self.spec.durable}-{seq}",
            headers=headers,
        )
        await msg.term()
        BUS_MESSAGES.labels(self.spec.durable, "dead_letter").inc()
        log.error(
            "message_dead_lettered",
            consumer=self.spec.durable,
            subject=msg.subject,
            attempt=attempt,
            error=_describe(exc),
        )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
