"""The batch consumer loop: pull by size and time, one handler call per batch, then ack / nak / dead-letter.

Same outcome mapping as `Consumer`, per NATS message: acked once the handler returned (it commits before it
returns), naked with delay when the handler raised, terminated and dead-lettered when the message cannot
be decoded, when the handler rejects it, or when it failed `max_deliver` times. A frame (`frames.py`) is
one NATS message carrying many: its parts reach the handler one by one, a bad or rejected part is
dead-lettered on its own, and the frame is acked once every other part is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from opentelemetry import trace
from prometheus_client import Histogram

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.consumer import Delivery, retry_delay
from seqpulse.common.bus.frames import FRAME_HEADER, BadPart, Codec, FrameError, Part, Undecodable, weight
from seqpulse.common.bus.pull import PullFetcher
from seqpulse.common.bus.streams import ConsumerSpec
from seqpulse.common.errors import RetryableError
from seqpulse.common.logging import get_logger
from seqpulse.common.telemetry.metrics import BUS_MESSAGES
from seqpulse.common.telemetry.tracing import context_from_headers, tracer

T = TypeVar("T")
log = get_logger(__name__)
_tracer = tracer("seqpulse.common.bus")
# A batch span links to the producers' spans; past this many, the links cost more than they tell.
MAX_LINKS = 128
BUS_BATCH_SECONDS = Histogram(
    "seqpulse_bus_batch_duration_seconds",
    "Time a batch consumer took per batch: decode, handler, acks.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


@dataclass(slots=True)
class Envelope(Generic[T]):
    """One decoded message of a batch (as the consumer's codec reads it), the NATS message it came in, and
    its place in that message's frame (None: the message is the NATS message itself). Made per message,
    as `Part`: not frozen."""

    message: T
    msg: Msg
    part: int | None = None

    @property
    def delivery(self) -> Delivery:
        """Subject, attempt and headers; worked out on demand, as few handlers need them per message."""
        return _delivery(self.msg)


@dataclass(frozen=True, slots=True)
class Rejection:
    """The handler refuses the message at `index` of its batch for good: terminated and dead-lettered."""

    index: int
    reason: str


BatchHandler = Callable[[Sequence[Envelope[T]]], Awaitable[Sequence[Rejection]]]


class Fetcher(Protocol):
    """What the loop needs of a pull subscription (a test may pass its own)."""

    async def fetch(self, batch: int = 1, timeout: float | None = 5) -> list[Msg]: ...


class BatchConsumer(Generic[T]):
    """Pulls up to `batch_size` messages and hands them to `handler` at once; up to `max_in_flight`
    batches are handled at the same time. A batch short of `batch_size` is handed over when no message
    came for `linger_seconds`, or `max_wait_seconds` after its first message, whichever is sooner: a
    burst's last messages do not wait for company that is not coming. The handler must make its batch
    durable before it returns, and be idempotent (a batch may come back)."""

    def __init__(
        self,
        bus: Bus,
        spec: ConsumerSpec,
        codec: Codec[T],
        handler: BatchHandler[T],
        *,
        batch_size: int = 1000,
        max_wait_seconds: float = 0.5,
        linger_seconds: float = 0.02,
        retry_base_seconds: float = 1.0,
        idle_fetch_seconds: float = 0.5,
        max_in_flight: int = 2,
        on_dead_letter: Callable[[int], None] | None = None,
    ) -> None:
        self.bus = bus
        self.spec = spec
        self.codec = codec
        self.handler = handler
        self.batch_size = batch_size
        self.max_wait_seconds = max_wait_seconds
        self.linger_seconds = linger_seconds
        self.retry_base_seconds = retry_base_seconds
        self.idle_fetch_seconds = idle_fetch_seconds
        self.max_in_flight = max_in_flight
        self.on_dead_letter = on_dead_letter
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop collecting, finish the batches in hand, then return from `run` (graceful drain)."""
        self._stopping.set()

    async def run(self) -> None:
        fetcher = PullFetcher(self.bus, self.spec)
        await fetcher.start()
        slots = asyncio.Semaphore(self.max_in_flight)
        in_flight: set[asyncio.Task[None]] = set()

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slots.release()
            error = None if task.cancelled() else task.exception()
            if error is not None:  # handle() settles every outcome; this is a bug, and its messages come back
                log.error("batch_crashed", consumer=self.spec.durable, error=_describe(error))

        try:
            while not self._stopping.is_set():
                # The next batch is collected while earlier ones are handled, even when every slot is
                # taken: fetching overlaps the handlers' work instead of delaying the next batch's start.
                msgs = await self.collect(fetcher)
                if not msgs:
                    continue
                await slots.acquire()
                task = asyncio.create_task(self.handle(msgs))
                in_flight.add(task)
                task.add_done_callback(done)
            if in_flight:
                await asyncio.wait(set(in_flight))
        finally:
            # Cancelled (a drain that took too long): what is not acked yet is redelivered, never lost.
            cancelled = set(in_flight)
            for task in cancelled:
                task.cancel()
            await asyncio.gather(*cancelled, return_exceptions=True)
            await fetcher.close()

    async def collect(self, source: Fetcher) -> list[Msg]:
        """Fetch until the messages in hand carry `batch_size` messages (a frame counts for its parts),
        nothing more came for `linger_seconds`, `max_wait_seconds` passed since the first arrived, or on
        stop; an empty list means nothing arrived within `idle_fetch_seconds`."""
        msgs: list[Msg] = []
        carried = 0
        deadline: float | None = None
        while carried < self.batch_size and not self._stopping.is_set():
            # Never longer than an idle fetch, so a stop is noticed that soon even with a long max wait
            # (a linger longer than that acts as one that long).
            timeout = self.idle_fetch_seconds
            if deadline is not None:
                timeout = min(timeout, self.linger_seconds, deadline - time.monotonic())
                if timeout <= 0:
                    break
            try:
                # A pull request's expiry is its timeout less a margin: it must stay positive.
                got = await source.fetch(self.batch_size - carried, timeout=max(timeout, 0.005))
            except (nats.errors.TimeoutError, TimeoutError):
                break  # nothing at all (an idle fetch), or nothing more within the linger
            except (nats.errors.Error, nats.js.errors.Error) as exc:
                # NATS restarting, or the consumer not declared yet: keep trying, never die.
                log.warning("consumer_fetch_failed", consumer=self.spec.durable, error=_describe(exc))
                if msgs:
                    break
                await self._pause(1.0)
                continue
            msgs += got
            carried += sum(map(weight, got))
            if deadline is None and msgs:
                deadline = time.monotonic() + self.max_wait_seconds
        return msgs

    async def handle(self, msgs: Sequence[Msg]) -> None:
        """Decode, call the handler once, and settle every message of the batch."""
        started = time.perf_counter()
        links: list[trace.Link] = []
        for msg in msgs:
            if len(links) >= MAX_LINKS:
                break
            if msg.headers and "traceparent" in msg.headers:
                parent = trace.get_current_span(context_from_headers(msg.headers)).get_span_context()
                if parent.is_valid:
                    links.append(trace.Link(parent))
        with _tracer.start_as_current_span(
            f"consume batch {self.spec.durable}",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.spec.durable,
                "messaging.batch.message_count": len(msgs),
            },
        ) as span:
            try:
                await self._settle(msgs, span)
            finally:
                BUS_BATCH_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)

    async def _settle(self, msgs: Sequence[Msg], span: trace.Span) -> None:
        kept: list[Msg] = []
        envelopes: list[Envelope[T]] = []
        bad: list[tuple[Msg, BadPart]] = []  # parts of frames that are not valid messages
        for msg in msgs:
            try:
                parts = self._decode(msg)
            except _Undecodable as exc:
                await self.dead_letter(msg, str(exc), _attempt(msg))
                continue
            kept.append(msg)
            for part in parts:
                if isinstance(part, BadPart):
                    bad.append((msg, part))
                else:
                    envelopes.append(Envelope(part.message, msg, part.index))
        if not kept:
            return
        rejections: Sequence[Rejection] = ()
        if envelopes:
            keepalive = asyncio.create_task(self._keep_in_progress(kept))
            try:
                rejections = await self.handler(envelopes)
            except Exception as exc:  # the consumer loop is one of the two broad catch points
                span.record_exception(exc)
                await self._retry(kept, exc)
                return
            finally:
                keepalive.cancel()
        settled: set[int] = set()  # NATS messages terminated (a whole message dead-lettered)
        unsaved: set[int] = set()  # frames with a part whose dead letter could not be published
        for rejection in rejections:
            envelope = envelopes[rejection.index]
            if envelope.part is None:
                await self.dead_letter(envelope.msg, rejection.reason, _attempt(envelope.msg))
                settled.add(id(envelope.msg))
            elif not await self._dead_letter_part(
                envelope.msg, BadPart(envelope.part, self.codec.to_bytes(envelope.message), rejection.reason)
            ):
                unsaved.add(id(envelope.msg))
        for msg, part in bad:
            if not await self._dead_letter_part(msg, part):
                unsaved.add(id(msg))
        acked = unacked = 0
        for msg in kept:
            if id(msg) in settled:
                continue
            if id(msg) in unsaved:  # it comes back; its stored parts are repeats, its dead letters too
                with contextlib.suppress(Exception):
                    await msg.nak(delay=retry_delay(_attempt(msg), self.retry_base_seconds))
                continue
            try:
                await msg.ack()
                acked += 1
            except Exception:  # connection lost: redelivered after ack_wait, and the handler is idempotent
                unacked += 1
        BUS_MESSAGES.labels(self.spec.durable, "ack").inc(acked)
        if unacked:
            log.warning("batch_ack_failed", consumer=self.spec.durable, messages=unacked)

    def _decode(self, msg: Msg) -> list[Part[T] | BadPart]:
        try:
            if msg.headers and FRAME_HEADER in msg.headers:
                return self.codec.decode_frame(msg.data, msg.subject, self.bus.prefix)
            return [Part(self.codec.decode(msg.data, msg.subject, self.bus.prefix), None)]
        except (FrameError, Undecodable) as exc:
            raise _Undecodable(str(exc)) from exc

    async def _retry(self, msgs: Sequence[Msg], exc: Exception) -> None:
        attempts = [_attempt(msg) for msg in msgs]
        attempt = max(attempts)
        delay = exc.delay if isinstance(exc, RetryableError) and exc.delay else None
        delay = delay or retry_delay(attempt, self.retry_base_seconds)
        log.warning(
            "batch_retry_scheduled",
            consumer=self.spec.durable,
            messages=len(msgs),
            attempt=attempt,
            delay_seconds=round(delay, 3),
            error=_describe(exc),
        )
        retried = 0
        for msg, tries in zip(msgs, attempts, strict=True):
            if tries >= self.spec.max_deliver:
                await self.dead_letter(msg, _describe(exc), tries)
            else:
                with contextlib.suppress(Exception):  # unacked, it comes back after ack_wait anyway
                    await msg.nak(delay=delay)
                retried += 1
        BUS_MESSAGES.labels(self.spec.durable, "retry").inc(retried)
        # Back off as well: during an outage, only the batches in hand use up their deliveries.
        await self._pause(delay)

    async def dead_letter(self, msg: Msg, reason: str, attempt: int) -> None:
        """Copy `msg` to `dlq.<consumer>` with the reason in headers, then terminate it. If the copy
        cannot be published, the message is naked instead: it is never dropped unrecorded."""
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        headers = self._dead_letter_headers(msg, reason, attempt)
        if msg.headers and FRAME_HEADER in msg.headers:
            headers[FRAME_HEADER] = msg.headers[FRAME_HEADER]  # the whole frame: replayable as it was
        if not await self._publish_dead_letter(msg.data, f"dlq-{self.spec.durable}-{seq}", headers):
            with contextlib.suppress(Exception):
                await msg.nak(delay=retry_delay(attempt, self.retry_base_seconds))
            return
        with contextlib.suppress(Exception):  # if it comes back, its copy has the same id: the DLQ drops it
            await msg.term()
        self._dead_lettered(msg, seq, attempt, headers["SeqPulse-Error"])

    async def _dead_letter_part(self, msg: Msg, part: BadPart) -> bool:
        """Copy one part of a frame to `dlq.<consumer>` as a message of its own; False if it could not be
        published (the frame must then come back rather than be acked)."""
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        attempt = _attempt(msg)
        headers = self._dead_letter_headers(msg, part.reason, attempt)
        headers["SeqPulse-Frame-Index"] = str(part.index)
        msg_id = f"dlq-{self.spec.durable}-{seq}-{part.index}"
        if not await self._publish_dead_letter(part.data, msg_id, headers):
            return False
        self._dead_lettered(msg, seq, attempt, headers["SeqPulse-Error"], part.index)
        return True

    def _dead_letter_headers(self, msg: Msg, reason: str, attempt: int) -> dict[str, str]:
        reason = " ".join(reason.split())  # header values are single lines on the wire
        headers = {
            "SeqPulse-Original-Subject": msg.subject,
            "SeqPulse-Consumer": self.spec.durable,
            "SeqPulse-Error": reason[:500],
            "SeqPulse-Attempts": str(attempt),
        }
        headers.update({k: v for k, v in (msg.headers or {}).items() if k in ("traceparent", "tracestate")})
        return headers

    async def _publish_dead_letter(self, data: bytes, msg_id: str, headers: dict[str, str]) -> bool:
        try:
            await self.bus.publish_raw(
                self.bus.subject(f"dlq.{self.spec.durable}"), data, msg_id=msg_id, headers=headers
            )
        except Exception as exc:  # NATS unavailable: let the message come back rather than lose it
            log.warning("dead_letter_failed", consumer=self.spec.durable, error=_describe(exc))
            return False
        return True

    def _dead_lettered(self, msg: Msg, seq: int, attempt: int, reason: str, part: int | None = None) -> None:
        BUS_MESSAGES.labels(self.spec.durable, "dead_letter").inc()
        if self.on_dead_letter is not None:
            self.on_dead_letter(weight(msg) if part is None else 1)
        log.error(
            "message_dead_lettered",
            consumer=self.spec.durable,
            subject=msg.subject,
            stream_sequence=seq,
            frame_index=part,
            attempt=attempt,
            error=reason,
        )

    async def _keep_in_progress(self, msgs: Sequence[Msg]) -> None:
        """A slow batch tells the server it is alive so its messages are not redelivered meanwhile."""
        interval = max(self.spec.ack_wait_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


class _Undecodable(Exception):
    """The message is not valid on its subject: no redelivery can fix it."""


def _attempt(msg: Msg) -> int:
    return (msg.metadata.num_delivered if msg.metadata else 1) or 1


def _delivery(msg: Msg) -> Delivery:
    return Delivery(msg.subject, _attempt(msg), dict(msg.headers or {}))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
