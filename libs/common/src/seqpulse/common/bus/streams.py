"""Every stream and durable consumer of SeqPulse, declared as data and applied by `seqpulse-bus apply`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A stream; subjects are relative to the bus prefix (`deployments.v1.>` under `seqpulse.`)."""

    key: str
    subjects: tuple[str, ...]
    max_age_seconds: float
    duplicate_window_seconds: float = 600.0

    def name(self, prefix: str) -> str:
        return f"{prefix.upper()}_{self.key}"


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    """A durable pull consumer shared by every replica of the service that owns it."""

    durable: str
    stream: str
    filter_subject: str
    ack_wait_seconds: float = 30.0
    max_deliver: int = 8
    max_ack_pending: int = 1000

    def stream_spec(self) -> StreamSpec:
        return STREAMS_BY_KEY[self.stream]


DAY = 86_400.0

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("DEPLOYMENTS", ("deployments.v1.>",), max_age_seconds=7 * DAY),
    StreamSpec("COLLECTION", ("collection.v1.>",), max_age_seconds=7 * DAY),
    StreamSpec("ANALYSIS", ("analysis.v1.>",), max_age_seconds=7 * DAY),
    # Product events: a buffer in front of the ingest service, not the store (Postgres keeps 90 days).
    StreamSpec("EVENTS", ("events.v1.>",), max_age_seconds=7 * DAY),
    # Messages a consumer gave up on, with the reason in headers; kept long enough to investigate and replay.
    StreamSpec("DLQ", ("dlq.>",), max_age_seconds=30 * DAY),
)
STREAMS_BY_KEY = {spec.key: spec for spec in STREAMS}

COLLECTOR_DEPLOYMENTS = ConsumerSpec("collector-deployments", "DEPLOYMENTS", "deployments.v1.>")
ANALYZER_WINDOWS = ConsumerSpec(
    "analyzer-windows", "COLLECTION", "collection.v1.window_closed", ack_wait_seconds=60.0
)

# Batches of up to a few thousand events are in flight at once while ingest fills a COPY.
INGEST_EVENTS = ConsumerSpec("ingest-events", "EVENTS", "events.v1.>", max_ack_pending=20_000)

CONSUMERS: tuple[ConsumerSpec, ...] = (COLLECTOR_DEPLOYMENTS, ANALYZER_WINDOWS, INGEST_EVENTS)
