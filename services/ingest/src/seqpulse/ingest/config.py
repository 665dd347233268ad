"""Ingest settings (`SEQPULSE_INGEST_*` and `SEQPULSE_EVENTS_RETENTION_DAYS` on top of the common ones)."""

from __future__ import annotations

from pydantic import Field

from seqpulse.common.config import CommonSettings


class IngestSettings(CommonSettings):
    """How events are batched into Postgres and how long they are kept."""

    # One COPY per batch: written when this many events are in hand, when no more came for the linger, or
    # when the first has waited the max wait, whichever comes first.
    ingest_batch_size: int = Field(default=1000, ge=1, le=10_000)
    ingest_batch_linger_seconds: float = Field(default=0.02, gt=0, le=30)
    ingest_batch_max_wait_seconds: float = Field(default=0.5, gt=0, le=30)
    # The rollups are folded at most this often while batches are being written, and at once when none is
    # (ADR 0011): the Founder View lags the stored events by up to this plus one fold, and a longer
    # interval folds more batches at once.
    ingest_rollup_interval_seconds: float = Field(default=0.25, ge=0, le=60)
    # Days of events and of user_daily_activity kept (UTC days before today − this are dropped).
    events_retention_days: int = Field(default=90, ge=1, le=3650)
    # Daily partitions made ahead of today, so midnight never waits for a CREATE TABLE.
    ingest_partitions_ahead_days: int = Field(default=7, ge=1, le=60)
    # How often one replica (an advisory lock decides which) makes and drops partitions.
    ingest_maintenance_interval_seconds: float = Field(default=3600.0, gt=0)
