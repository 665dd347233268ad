"""What becomes of each event of a batch: a row to store, a repeat, dropped (past retention) or rejected."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, TypeAlias

import orjson

from seqpulse.common.messages.product import MAX_FUTURE_SKEW, ProductEvent
from seqpulse.ingest.partitions import retention_cutoff, utc_day

# Ids that are not UUIDs map into this namespace (UUID v5): the same id always gives the same key.
EVENT_ID_NAMESPACE = uuid.UUID("6f3e2a8c-5b1d-4c7e-9a40-2d8f1b7c9e51")
# A UUID as `str(uuid.UUID(...))` writes it, the form every producer sends.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The staging table's columns, in the order of a Row.
COLUMNS = (
    "event_id",
    "occurred_at",
    "received_at",
    "event_name",
    "user_key",
    "project_id",
    "plan",
    "country",
    "source",
    "properties",
)
# The key's event id is a UUID in canonical text: asyncpg writes it as a uuid, and as text it compares
# and sorts like the UUID (lower-case hexadecimal digits at fixed places) without building one per event.
Row: TypeAlias = tuple[
    str,
    datetime,
    datetime,
    str,
    str | None,
    uuid.UUID | None,
    str | None,
    str | None,
    str,
    bytes,  # the properties' JSON (the pool writes bytes as JSON already)
]


def event_id(message_id: str) -> str:
    """The producer's event id (the message id) as the table's key: a UUID in canonical text."""
    if _CANONICAL_UUID.fullmatch(message_id):
        return message_id
    try:
        return str(uuid.UUID(message_id))
    except ValueError:
        return str(uuid.uuid5(EVENT_ID_NAMESPACE, message_id))


class EventRecord(NamedTuple):
    """A valid product event as the ingest uses it: its row, and the producer's id (for a dead letter).
    The consumer reads events straight into records (decoding.py)."""

    row: Row
    message_id: str


def to_row(event: ProductEvent) -> Row:
    return (
        event_id(event.message_id),
        event.occurred_at,
        event.received_at,
        event.event_name,
        event.user_key,
        event.project_id,
        event.plan,
        event.country,
        event.source,
        orjson.dumps(event.properties),
    )


def record_of(event: ProductEvent) -> EventRecord:
    return EventRecord(to_row(event), event.message_id)


@dataclass
class BatchPlan:
    """A batch sorted out: `rows[i]` is the event at `positions[i]` of the batch."""

    rows: list[Row] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    # Events repeated within the batch itself (a redelivery next to the original): stored once.
    repeats: int = 0
    # Older than the retention: acknowledged, never stored.
    dropped: int = 0
    # Index in the batch → why it can never be stored.
    rejected: dict[int, str] = field(default_factory=dict)


def plan_batch(events: Sequence[EventRecord], now: datetime, retention_days: int) -> BatchPlan:
    """Sort a batch by what to do with each event, judged against `now` (the service's clock)."""
    plan = BatchPlan()
    cutoff = retention_cutoff(utc_day(now), retention_days)
    # The contract bounds occurred_at by the producer's received_at; this bounds it by our clock, so a
    # producer with a wrong clock cannot make partitions for days that have not come.
    horizon = now + MAX_FUTURE_SKEW
    seen: set[tuple[str, datetime]] = set()
    for index, (row, _) in enumerate(events):
        occurred_at = row[1]
        if occurred_at > horizon:
            plan.rejected[index] = (
                f"occurred_at {occurred_at.isoformat()} is more than "
                f"{int(MAX_FUTURE_SKEW.total_seconds())} s ahead of the ingest clock"
            )
            continue
        if utc_day(occurred_at) < cutoff:
            plan.dropped += 1
            continue
        key = (row[0], occurred_at)
        if key in seen:
            plan.repeats += 1
            continue
        seen.add(key)
        plan.rows.append(row)
        plan.positions.append(index)
    return plan
