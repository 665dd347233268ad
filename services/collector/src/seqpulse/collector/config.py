"""Collector settings (`SEQPULSE_COLLECTOR_*` on top of the common ones)."""

from __future__ import annotations

from pydantic import Field

from seqpulse.common.config import CommonSettings


class CollectorSettings(CommonSettings):
    """How the collector probes apps and shares its job table."""

    collector_probe_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # A claimed job is the worker's until its lease ends; a dead worker's jobs are reclaimed after it.
    collector_lease_seconds: float = Field(default=30.0, gt=0)
    collector_max_attempts: int = Field(default=4, ge=1, le=20)
    collector_retry_base_seconds: float = Field(default=2.0, gt=0)
    collector_retry_cap_seconds: float = Field(default=30.0, gt=0)
    collector_concurrency: int = Field(default=32, ge=1, le=1000)
    # The longest the scheduler sleeps without looking at the table (a missed NOTIFY costs at most this).
    collector_idle_seconds: float = Field(default=1.0, gt=0, le=30)
    collector_heartbeat_seconds: float = Field(default=5.0, gt=0)
