"""Transactional outbox: a message is stored with the change it announces, then relayed to NATS."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from opentelemetry import context as otel_context

from seqpulse.common.bus.client import Bus
from seqpulse.common.db.pool import Conn
from seqpulse.common.logging import get_logger
from seqpulse.common.messages.base import Message
from seqpulse.common.telemetry.metrics import OUTBOX_LAG_SECONDS, OUTBOX_PUBLISHED
from seqpulse.common.telemetry.tracing import context_from_headers, current_trace_headers

log = get_logger(__name__)
# Table names cannot be query parameters; only these fixed names are ever interpolated.
OUTBOX_TABLES = frozenset({"gateway_outbox", "collector_outbox", "analyzer_outbox"})


def _checked(table: str) -> str:
    if table not in OUTBOX_TABLES:
        raise ValueError(f"unknown outbox table {table!r}")
    return table


async def enqueue(
    conn: Conn,
    table: str,
    message: Message,
    prefix: str,
    *,
    trace_headers: Mapping[str, str] | None = None,
) -> None:
    """Store `message` in the caller's transaction; it is published only if that transaction commits."""
    headers = dict(trace_headers) if trace_headers is not None else current_trace_headers()
    await conn.execute(
        f"INSERT INTO {_checked(table)} (id, subject, payload, headers) VALUES ($1, $2, $3, $4)"  # noqa: S608  # fixed table names
        " ON CONFLICT (id) DO NOTHING",
        uuid.UUID(message.message_id),
        message.topic(prefix),
        message.to_bytes(),
        headers,
    )


class OutboxRelay:
    """Publishes committed outbox rows; replicas share the table with SKIP LOCKED.

    A crash after publishing but before deleting republishes the row with the same `Nats-Msg-Id`,
    which JetStream's duplicate window drops; consumers are idempotent beyond that window.
    """

    def __init__(
        self, pool: asyncpg.Pool[Any], bus: Bus, table: str, *, poll_seconds: float = 1.0, batch: int = 100
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.table = _checked(table)
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Publish now: called right after a transaction that enqueued something commits."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.flush() == self.batch:
                    pass
            except Exception as exc:  # a relay loop must outlive NATS or Postgres outages
                log.warning("outbox_flush_failed", outbox=self.table, error=f"{type(exc).__name__}: {exc}")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
        # Drain: what was committed before the stop goes out now rather than at the next start.
        try:
            await self.flush()
        except Exception as exc:  # best effort on the way out; rows stay for the next start
            log.warning("outbox_final_flush_failed", outbox=self.table, error=str(exc))

    async def flush(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT id, subject, payload, headers, created_at FROM {self.table}"  # noqa: S608  # fixed names
                " ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            for row in rows:
                token = otel_context.attach(context_from_headers(row["headers"]))
                try:
                    await self.bus.publish_raw(
                        row["subject"], row["payload"], msg_id=str(row["id"]), headers=row["headers"]
                    )
                finally:
                    otel_context.detach(token)
                OUTBOX_PUBLISHED.labels(self.table).inc()
                OUTBOX_LAG_SECONDS.labels(self.table).observe(
                    max(0.0, time.time() - row["created_at"].timestamp())
                )
            if rows:
                await conn.execute(
                    f"DELETE FROM {self.table} WHERE id = ANY($1::uuid[])",  # noqa: S608  # fixed names
                    [row["id"] for row in rows],
                )
        return len(rows)
