"""The ingest service's Prometheus families (`seqpulse_ingest_*`); labels are bounded enums."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "seqpulse_ingest_events_total",
    "Product events handled, by outcome: stored; duplicate (stored before: a redelivery or a republish); "
    "rejected (dead-lettered: invalid, or given up on); dropped (older than the retention).",
    ["outcome"],
)
BATCH_SIZE = Histogram(
    "seqpulse_ingest_batch_size_events",
    "Events per batch handed to the writer.",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
BATCH_WRITE_SECONDS = Histogram(
    "seqpulse_ingest_batch_write_duration_seconds",
    "Time to write one batch: missing partitions, COPY, insert of new events, its summary, commit.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_LAG_SECONDS = Histogram(
    "seqpulse_ingest_batch_lag_seconds",
    "Age of a batch's oldest event (since its received_at) when the batch commits: how far ingest is behind.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
FOLDED_EVENTS = Counter(
    "seqpulse_ingest_folded_events_total",
    "Stored events whose batch summary this replica folded into the Founder View's rollups (from any "
    "replica's batch): with one replica, it trails the stored events by the summaries not folded yet.",
)
FOLD_SUMMARIES = Histogram(
    "seqpulse_ingest_fold_summaries",
    "Batches (their summaries) taken from the rollup backlog by one fold.",
    buckets=(1, 2, 5, 10, 25, 50, 100),
)
FOLD_SECONDS = Histogram(
    "seqpulse_ingest_fold_duration_seconds",
    "Time to fold summaries into the rollups: read back, merge, the rollup statements, commit.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAST_FOLDED = Gauge(
    "seqpulse_ingest_last_folded_timestamp_seconds",
    "Unix time of the last fold that took summaries in: the Founder View is complete up to about then.",
)
FOLD_FAILURES = Counter(
    "seqpulse_ingest_fold_failures_total",
    "Folds that failed (the batches stay in the backlog and are folded by a later one).",
)
LAST_STORED = Gauge(
    "seqpulse_ingest_last_stored_timestamp_seconds",
    "Unix time of the last commit that stored a new event (the founder's 'no data' alert watches it).",
)
PARTITION_CHANGES = Counter(
    "seqpulse_ingest_partition_changes_total",
    "Daily partitions of product_events created or dropped by this replica.",
    ["action"],
)
MAINTENANCE_RUNS = Counter(
    "seqpulse_ingest_maintenance_runs_total",
    "Maintenance runs by outcome: done; skipped (another replica holds the lock); failed.",
    ["outcome"],
)


def rejected(count: int) -> None:
    """Counts messages the batch consumer dead-lettered (it does not know they are events)."""
    EVENTS.labels("rejected").inc(count)
