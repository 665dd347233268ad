"""Connection to NATS JetStream: apply declarations, publish with `Nats-Msg-Id` and trace context."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opentelemetry import trace

from seqpulse.common.bus.frames import Frame, build_frames, frame_encoded, frame_headers
from seqpulse.common.bus.streams import CONSUMERS, STREAMS, ConsumerSpec, StreamSpec
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.base import Encoded, Message
from seqpulse.common.telemetry.tracing import current_trace_headers, tracer

log = get_logger(__name__)
_tracer = tracer("seqpulse.common.bus")
# Room left in a NATS message for the headers of a frame (trace context, ids, the count).
FRAME_HEADROOM_BYTES = 8192


class Bus:
    """One NATS connection and its JetStream context, scoped to a subject prefix."""

    def __init__(self, nc: NATS, prefix: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.prefix = prefix

    @classmethod
    async def connect(cls, url: str, prefix: str, *, name: str) -> Bus:
        """Connect with unbounded reconnects: a NATS restart must not take a service down."""
        nc = await nats.connect(
            url,
            name=name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )
        return cls(nc, prefix)

    def subject(self, relative: str) -> str:
        return f"{self.prefix}.{relative}"

    async def publish(self, message: Message, *, headers: Mapping[str, str] | None = None) -> None:
        """Publish a message; its `message_id` is the `Nats-Msg-Id`, so a repeat is dropped by the server."""
        await self.publish_raw(
            message.topic(self.prefix), message.to_bytes(), msg_id=message.message_id, headers=headers
        )

    async def publish_raw(
        self, subject: str, data: bytes, *, msg_id: str, headers: Mapping[str, str] | None = None
    ) -> None:
        with _tracer.start_as_current_span(
            f"publish {subject}",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": msg_id,
            },
        ):
            all_headers = {**(headers or {}), **current_trace_headers(), "Nats-Msg-Id": msg_id}
            await self.js.publish(subject, data, headers=all_headers)

    async def publish_many(self, messages: Sequence[Message], *, timeout: float = 10.0) -> None:
        """Publish every message, in frames of one subject (`frames.py`), then wait for all of
        JetStream's acks (within `timeout` seconds). For `BatchConsumer`s only: a `Consumer` reads one
        message per NATS message.

        One span for the lot, and the acks matched by nats-py's async publisher on one reply subscription.
        Raises the first failure (a timeout, a stream error); what was stored stays stored, and the frame
        and message ids make a retry safe."""
        if messages:
            frames = build_frames(messages, self.prefix, self.nc.max_payload - FRAME_HEADROOM_BYTES)
            await self._publish_frames(frames, len(messages), timeout)

    async def publish_encoded(
        self, messages: Sequence[Encoded], *, shared: Mapping[str, bytes] | None = None, timeout: float = 10.0
    ) -> None:
        """`publish_many` for messages their producer serialised itself; `shared`: by subject, the JSON of
        the fields its messages leave out (their frames are in the shared form, `frames.py`)."""
        if messages:
            frames = frame_encoded(messages, self.nc.max_payload - FRAME_HEADROOM_BYTES, shared)
            await self._publish_frames(frames, len(messages), timeout)

    async def _publish_frames(self, frames: Sequence[Frame], count: int, timeout: float) -> None:
        with _tracer.start_as_current_span(
            f"publish {frames[0].subject}" + (f" and {len(frames) - 1} more" if len(frames) > 1 else ""),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.batch.message_count": count,
                "seqpulse.frames": len(frames),
            },
        ):
            context = current_trace_headers()
            acks = [
                await self.js.publish_async(
                    frame.subject,
                    frame.data,
                    headers={**context, **frame_headers(frame), "Nats-Msg-Id": frame.msg_id},
                )
                for frame in frames
            ]
            await asyncio.wait_for(asyncio.gather(*acks), timeout)

    async def apply(self, *, replicas: int = 1) -> list[str]:
        """Create or update every declared stream and consumer; returns what was applied."""
        applied = [await self._apply_stream(spec, replicas) for spec in STREAMS]
        applied += [await self._apply_consumer(spec, replicas) for spec in CONSUMERS]
        return applied

    async def _apply_stream(self, spec: StreamSpec, replicas: int) -> str:
        config = StreamConfig(
            name=spec.name(self.prefix),
            subjects=[self.subject(s) for s in spec.subjects],
            max_age=spec.max_age_seconds,
            duplicate_window=spec.duplicate_window_seconds,
            storage=StorageType.FILE,
            num_replicas=replicas,
        )
        try:
            await self.js.stream_info(config.name or "")
            await self.js.update_stream(config)
        except NotFoundError:
            await self.js.add_stream(config)
        return f"stream {config.name}"

    async def _apply_consumer(self, spec: ConsumerSpec, replicas: int) -> str:
        config = ConsumerConfig(
            durable_name=spec.durable,
            filter_subject=self.subject(spec.filter_subject),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=spec.ack_wait_seconds,
            max_deliver=spec.max_deliver,
            max_ack_pending=spec.max_ack_pending,
            num_replicas=replicas,
        )
        await self.js.add_consumer(spec.stream_spec().name(self.prefix), config)
        return f"consumer {spec.durable}"

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.drain()
