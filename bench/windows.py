"""Observation windows for `verdict_latency`: synthetic samples, stored as the collector stores them
and handed to the policy as the analyzer hands them."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from seqpulse.analyzer.model import AnalysisInput, Sample
from seqpulse.common.db.pool import Conn

SEQUENCE_SECONDS = 60
SAMPLE_COLUMNS = (
    "deployment_id",
    "project_id",
    "phase",
    "sequence_index",
    "scheduled_at",
    "collected_at",
    "requests_per_sec",
    "latency_p95",
    "error_rate",
    "cpu_usage",
    "memory_usage",
)


@dataclass(frozen=True, slots=True)
class Window:
    deployment_id: uuid.UUID
    pre: tuple[Sample, ...]
    post: tuple[Sample, ...]


def _sample(rng: random.Random, at: datetime, index: int, degraded: bool) -> Sample:
    """Noisy healthy metrics; a degraded deployment has errors and latency well over the thresholds."""
    return Sample(
        collected_at=at,
        requests_per_sec=max(0.0, rng.gauss(100.0, 6.0)),
        latency_p95=max(1.0, rng.gauss(420.0 if degraded else 120.0, 10.0)),
        error_rate=min(1.0, max(0.0, rng.gauss(0.08 if degraded else 0.002, 0.001))),
        cpu_usage=min(1.0, max(0.0, rng.gauss(0.30, 0.03))),
        memory_usage=min(1.0, max(0.0, rng.gauss(0.40, 0.02))),
        sequence_index=index,
    )


def make_windows(ids: list[uuid.UUID], window: int, finished_at: datetime, seed: int = 7) -> list[Window]:
    """One pre sample before `finished_at`, then one post sample per sequence; every 5th degraded."""
    rng = random.Random(seed)
    windows = []
    for n, deployment_id in enumerate(ids):
        degraded = n % 5 == 4
        pre = (_sample(rng, finished_at - timedelta(seconds=5), 0, False),)
        post = tuple(
            _sample(rng, finished_at + timedelta(seconds=SEQUENCE_SECONDS * i + 1), i, degraded)
            for i in range(window)
        )
        windows.append(Window(deployment_id, pre, post))
    return windows


def analysis_input(w: Window, window: int, closed_at: datetime) -> AnalysisInput:
    """What the analyzer builds from the stored rows (same order, same clock)."""
    return AnalysisInput(w.pre, w.post, window, SEQUENCE_SECONDS, closed_at)


async def store_windows(
    conn: Conn, project_id: uuid.UUID, windows: list[Window], finished_at: datetime
) -> None:
    """The samples (one COPY) and a closed `collection_windows` row per deployment."""
    records = []
    for w in windows:
        for phase, samples in (("pre", w.pre), ("post", w.post)):
            for s in samples:
                assert s.collected_at is not None
                records.append(
                    (
                        w.deployment_id,
                        project_id,
                        phase,
                        s.sequence_index,
                        s.collected_at,
                        s.collected_at,
                        s.requests_per_sec,
                        s.latency_p95,
                        s.error_rate,
                        s.cpu_usage,
                        s.memory_usage,
                    )
                )
    await conn.copy_records_to_table("metric_samples", records=records, columns=SAMPLE_COLUMNS)
    expected = len(windows[0].post)
    await conn.executemany(
        "INSERT INTO collection_windows (deployment_id, project_id, expected_post, sequence_seconds,"
        " finished_at, deadline_at, state, close_reason, closed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'closed', 'complete', now())",
        [
            (w.deployment_id, project_id, expected, SEQUENCE_SECONDS, finished_at, finished_at)
            for w in windows
        ],
    )
