"""SDH diagnostic hints: the original catalog texts and confidence formula, for any policy to raise."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from seqpulse.analyzer.model import Hint

COMPOSITE = "composite"
INFO, WARNING, CRITICAL = "info", "warning", "critical"

_LABELS = {
    "latency_p95": "latency p95",
    "error_rate": "error rate",
    "cpu_usage": "CPU usage",
    "memory_usage": "memory usage",
    "requests_per_sec": "traffic",
}
_SEVERITY_BASE = {INFO: 0.45, WARNING: 0.55, CRITICAL: 0.70}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What a hint says; when it is raised is the business of a policy."""

    ref: str  # the reference catalog's id: A1, A2:<metric>, A3:<metric>, C1-C3, S1-S8, F1
    code: str  # i18n key suffix under analysis.sdh.title.
    metric: str
    title: str
    diagnosis: str
    suggested_actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One metric's persistence audit: the share of post samples beyond the secured threshold."""

    secured_threshold: float
    exceed_ratio: float
    tolerance: float

    @property
    def failed(self) -> bool:
        # Strict, exactly like the verdict; the original used >= here and disagreed at the edge.
        return self.exceed_ratio > self.tolerance

    @property
    def ratio_deviation(self) -> float:
        if self.tolerance <= 0:
            return 0.0
        return max(0.0, (self.exceed_ratio - self.tolerance) / self.tolerance)

    def as_dict(self) -> dict[str, float]:
        return {
            "secured_threshold": self.secured_threshold,
            "exceed_ratio": self.exceed_ratio,
            "tolerance": self.tolerance,
        }


_PERSISTENT_CRITICAL_ACTIONS = (
    "Inspect failing sequences in metrics audit",
    "Check recent release and infrastructure changes",
    "Run targeted rollback checks for impacted paths",
    "Rollback if critical breaches continue",
)
_PERSISTENT_METRIC_ACTIONS = (
    "Review sequence-level metrics for this deployment",
    "Compare with the PRE baseline and secured threshold",
    "Investigate recent code and config changes",
    "Scale or rollback if persistence remains high",
)


def _a2(metric: str) -> CatalogEntry:
    return CatalogEntry(
        f"A2:{metric}",
        "persistentCriticalThresholdBreach",
        metric,
        "Persistent critical threshold breach detected",
        f"{_LABELS[metric][0].upper()}{_LABELS[metric][1:]} is persistently breaching secured thresholds "
        "across post-deploy sequences.",
        _PERSISTENT_CRITICAL_ACTIONS,
    )


def _a3(metric: str, code_suffix: str) -> CatalogEntry:
    label = _LABELS[metric]
    return CatalogEntry(
        f"A3:{metric}",
        f"persistentMetricBreaches.{code_suffix}",
        metric,
        f"Persistent {label} breaches detected",
        f"{label[0].upper()}{label[1:]} exceeded the tolerated breach ratio across "
        "post-deployment sequences.",
        _PERSISTENT_METRIC_ACTIONS,
    )


_ENTRIES = (
    CatalogEntry(
        "A1",
        "persistentCriticalThresholdBreaches",
        COMPOSITE,
        "Persistent critical threshold breaches detected",
        "Critical metrics are persistently breaching secured thresholds across post-deploy sequences "
        "(error rate, traffic).",
        _PERSISTENT_CRITICAL_ACTIONS,
    ),
    _a2("error_rate"),
    _a2("requests_per_sec"),
    _a3("latency_p95", "latencyP95"),
    _a3("cpu_usage", "cpuUsage"),
    _a3("memory_usage", "memoryUsage"),
    CatalogEntry(
        "C1",
        "serviceDegradationDetected",
        COMPOSITE,
        "Service degradation detected",
        "Both error rate and latency increased after deployment, suggesting a major service degradation "
        "(likely downstream service failure or resource exhaustion).",
        (
            "Check application error logs for 5xx errors or exceptions",
            "Verify database connectivity and query performance",
            "Check external API dependencies for timeouts or failures",
            "Review recent code changes for error handling or timeout config",
            "Consider rollback if errors persist after 5 minutes",
        ),
    ),
    CatalogEntry(
        "C2",
        "computeSaturationSuspected",
        COMPOSITE,
        "Compute saturation suspected",
        "Latency and CPU usage both increased after deployment, which often indicates compute saturation, "
        "inefficient code, or blocking operations.",
        (
            "Profile CPU to identify hot methods or loops (N+1 queries, heavy computations)",
            "Check for blocking I/O operations (sync DB calls, external API waits)",
            "Verify connection pool settings are not exhausted",
            "Consider horizontal scaling if CPU is consistently > 80%",
            "Review recent code changes for algorithmic complexity increases",
        ),
    ),
    CatalogEntry(
        "C3",
        "partialOutageSuspected",
        COMPOSITE,
        "Partial outage suspected",
        "Error rate increased while traffic dropped significantly after deployment, suggesting a partial "
        "outage, failed health checks, or routing misconfiguration.",
        (
            "Check load balancer health checks (are instances marked unhealthy?)",
            "Verify ingress/routing rules point to correct service version",
            "Check application startup logs for crash loops or init failures",
            "Validate environment variables and config maps are correctly set",
            "Consider immediate rollback if > 50% traffic impacted",
        ),
    ),
    CatalogEntry(
        "S1",
        "highErrorRateAfterDeployment",
        "error_rate",
        "High error rate after deployment",
        "The service is returning an unusually high number of errors after deployment, indicating a "
        "possible application bug, dependency failure, or config issue.",
        (
            "Check application logs for exceptions (NullPointer, syntax errors, import failures)",
            "Verify database migrations completed successfully",
            "Check external service dependencies (APIs, caches, message queues)",
            "Review environment variables and secrets configuration",
            "Consider rollback if error rate > 10% for more than 2 minutes",
        ),
    ),
    CatalogEntry(
        "S2",
        "highLatencyDetected",
        "latency_p95",
        "High latency detected",
        "Response time increased significantly after deployment, which may indicate slow database "
        "queries, external API latency, or resource contention.",
        (
            "Check database slow query logs for missing indexes or full table scans",
            "Verify external API response times and timeout configurations",
            "Check for memory pressure causing GC pauses or swapping",
            "Enable distributed tracing to identify bottleneck spans",
            "Consider rollback if p95 latency > 2x baseline for 5+ minutes",
        ),
    ),
    CatalogEntry(
        "S3",
        "latencyImprovedAfterDeployment",
        "latency_p95",
        "Latency improved after deployment",
        "Response time decreased after deployment, indicating successful performance optimizations in "
        "the new version.",
        (
            "Document the optimizations made",
            "Continue monitoring performance trends",
            "Share best practices with other teams",
        ),
    ),
    CatalogEntry(
        "S4",
        "cpuUsageSpikeDetected",
        "cpu_usage",
        "CPU usage spike detected",
        "CPU consumption increased significantly after deployment, which may indicate inefficient "
        "algorithms, infinite loops, or increased computational load.",
        (
            "Profile CPU to identify top consuming methods or endpoints",
            "Check for N+1 query problems or unoptimized database access patterns",
            "Look for infinite loops or recursive calls without termination",
            "Verify no crypto mining or unauthorized processes running",
            "Consider horizontal scaling if legitimate load increase",
        ),
    ),
    CatalogEntry(
        "S5",
        "memoryUsageAboveThreshold",
        "memory_usage",
        "Memory usage above threshold",
        "Memory consumption exceeded the configured threshold, suggesting a possible memory leak, "
        "unbounded caching, or insufficient heap size.",
        (
            "Check heap dumps for growing object types (caches, unclosed connections)",
            "Monitor garbage collection frequency and pause times",
            "Review recent changes for unbounded data structures or large object retention",
            "Check for connection leaks (DB, HTTP, file handles not closed)",
            "Consider increasing memory limits or implementing cache eviction policies",
        ),
    ),
    CatalogEntry(
        "S6",
        "memoryUsageApproachingThreshold",
        "memory_usage",
        "Memory usage approaching threshold",
        "Memory consumption increased after deployment and is approaching critical limits, which may "
        "impact service stability.",
        (
            "Check heap and memory allocation",
            "Review recent code changes",
            "Monitor garbage collection activity",
            "Ensure memory limits are correctly set",
        ),
    ),
    CatalogEntry(
        "S7",
        "memoryUsageWithinNormalRange",
        "memory_usage",
        "Memory usage within normal range",
        "Memory consumption is stable and well below the configured threshold, indicating healthy "
        "resource utilization after deployment.",
        (
            "Continue monitoring memory trends",
            "No immediate action required",
            "Consider optimization if usage trends upward",
        ),
    ),
    CatalogEntry(
        "S8",
        "trafficLowerThanBaselineAfterDeployment",
        "requests_per_sec",
        "Traffic lower than baseline after deployment",
        "Post-deployment traffic is significantly lower compared to the pre-deployment baseline, while "
        "no strong error or latency increase was detected.",
        (
            "Compare traffic with previous time periods",
            "Check ingress or routing configuration",
            "Verify main endpoints availability",
            "Monitor error rate and latency for further signals",
        ),
    ),
    CatalogEntry(
        "F1",
        "criticalVerdictRequiresInvestigation",
        COMPOSITE,
        "Critical verdict requires investigation",
        "Critical persistent breaches were detected by metrics audit but no critical diagnostic hint "
        "was generated.",
        (
            "Inspect metrics audit details for this deployment",
            "Correlate failing metrics with logs/traces",
            "Validate rollback readiness",
        ),
    ),
)
CATALOG: Mapping[str, CatalogEntry] = MappingProxyType({entry.ref: entry for entry in _ENTRIES})


def deviation_above(observed: float, threshold: float) -> float:
    """How far a value is above a threshold, as a fraction of the threshold (0 when below)."""
    if threshold <= 0:
        return 0.0
    return max(0.0, (observed - threshold) / threshold)


def deviation_below(baseline: float, observed: float) -> float:
    """How far a value fell below a baseline, as a fraction of the baseline (0 when above)."""
    if baseline <= 0:
        return 0.0
    return max(0.0, (baseline - observed) / baseline)


def base_confidence(severity: str, deviation: float, signals: int = 1) -> float:
    """§8.1: a severity base, a bonus for the size of the deviation and one for corroborating signals."""
    confidence = _SEVERITY_BASE.get(severity, 0.5)
    for floor, bonus in ((1.0, 0.20), (0.5, 0.15), (0.3, 0.10), (0.1, 0.05)):
        if deviation >= floor:
            confidence += bonus
            break
    if signals >= 2:
        confidence += 0.08
    if signals >= 3:
        confidence += 0.05
    return round(min(0.95, confidence), 2)


def quality_adjusted(confidence: float, data_quality_score: float) -> float:
    """Scale a hint's confidence by data quality: full at 1.0, half at 0.0, kept within [0.20, 0.95]."""
    quality = max(0.0, min(1.0, data_quality_score))
    return round(max(0.2, min(0.95, confidence * (0.5 + 0.5 * quality))), 2)


def make_hint(
    entry: CatalogEntry,
    *,
    severity: str,
    confidence: float,
    evidence: Mapping[str, Any],
    observed_value: float | None = None,
    threshold: float | None = None,
    audit: AuditEntry | None = None,
    composite_signals: tuple[str, ...] = (),
) -> Hint:
    """A hint with the entry's texts; the caller has decided severity, confidence and evidence."""
    return Hint(
        code=entry.code,
        metric=entry.metric,
        severity=severity,
        title=entry.title,
        diagnosis=entry.diagnosis,
        suggested_actions=entry.suggested_actions,
        observed_value=observed_value,
        threshold=threshold,
        secured_threshold=audit.secured_threshold if audit else None,
        exceed_ratio=audit.exceed_ratio if audit else None,
        tolerance=audit.tolerance if audit else None,
        confidence=confidence,
        evidence=MappingProxyType(dict(evidence)),
        composite_signals=composite_signals,
    )
