"""The collector's Prometheus families."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_PENDING = Gauge("seqpulse_scheduler_jobs_pending", "Collection jobs waiting to run.")
JOBS_RUNNING = Gauge("seqpulse_scheduler_jobs_running", "Collection jobs claimed by a worker.")
JOBS_FAILED = Counter(
    "seqpulse_scheduler_jobs_failed_total", "Collection jobs that failed for good, by reason.", ["reason"]
)
JOB_START_DELAY = Histogram(
    "seqpulse_scheduler_job_start_delay_seconds",
    "Delay between a job's scheduled time and its start.",
    ["job_type"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
METRICS_COLLECTED = Counter("seqpulse_metrics_collected_total", "Samples stored, by phase.", ["phase"])
PROBE_SECONDS = Histogram(
    "seqpulse_collector_probe_duration_seconds",
    "Duration of one probe of an app's metrics endpoint, by outcome.",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
WINDOWS_CLOSED = Counter(
    "seqpulse_collector_windows_closed_total", "Observation windows closed, by reason.", ["reason"]
)
