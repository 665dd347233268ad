"""Pure timing rules: when each job of a deployment runs, its deadline, and the retry backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class PlannedJob:
    phase: str
    sequence_index: int
    scheduled_at: datetime
    deadline_at: datetime


def pre_job(triggered_at: datetime, sequence_seconds: float) -> PlannedJob:
    """The baseline sample, taken at trigger time; retried for a few sequences at most."""
    deadline = triggered_at + timedelta(seconds=max(30.0, 5 * sequence_seconds))
    return PlannedJob("pre", 0, triggered_at, deadline)


def window_deadline(finished_at: datetime, window_sequences: int, sequence_seconds: float) -> datetime:
    """When the window closes even if samples are missing: one sequence after the last, plus grace."""
    grace = max(sequence_seconds, 5.0)
    return finished_at + timedelta(seconds=window_sequences * sequence_seconds + grace)


def post_jobs(finished_at: datetime, window_sequences: int, sequence_seconds: float) -> list[PlannedJob]:
    """One job per sequence at finish + i × sequence_seconds, each retryable until the window deadline."""
    deadline = window_deadline(finished_at, window_sequences, sequence_seconds)
    return [
        PlannedJob("post", i, finished_at + timedelta(seconds=i * sequence_seconds), deadline)
        for i in range(window_sequences)
    ]


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: attempt 1 waits about `base`, doubling up to `cap`.

    Jitter spreads the retries of many deployments probing one struggling app.
    """
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)
