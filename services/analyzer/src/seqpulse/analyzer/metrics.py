"""The analyzer's Prometheus families (names kept from the original where they exist)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ANALYSIS_SECONDS = Histogram(
    "seqpulse_analysis_duration_seconds",
    "Time to analyse a closed window and store the verdict, by outcome.",
    ["outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
VERDICTS = Counter(
    "seqpulse_analysis_verdict_total",
    "Verdicts reached, by verdict and whether this run stored it.",
    ["verdict", "created"],
)
HINTS = Counter("seqpulse_analysis_hint_total", "Hints stored, by severity.", ["severity"])
CONSISTENCY = Counter(
    "seqpulse_analysis_verdict_hint_consistency_total",
    "Whether a stored verdict agrees with its hints (rollback iff a critical hint).",
    ["verdict", "consistency"],
)
