"""evidence-v1: which SDH hints the judgements support, each carrying the evidence that raised it.

A hint is critical exactly when the verdict is a rollback and the hint names a metric behind it, so
"critical hint" and "rollback" never disagree (the analyzer counts both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqpulse.analyzer.model import Hint
from seqpulse.analyzer.policies.evidence_judgement import FAIL, WARN, Judgement
from seqpulse.analyzer.policies.evidence_leak import Leak
from seqpulse.analyzer.sdh import (
    CATALOG,
    COMPOSITE,
    CRITICAL,
    INFO,
    WARNING,
    CatalogEntry,
    make_hint,
    quality_adjusted,
)

MEMORY_LEAK = CatalogEntry(
    "X1",
    "memoryLeakSuspected",
    "memory_usage",
    "Memory leak suspected",
    "Memory usage keeps rising across post-deploy sequences and would reach the limit within the "
    "horizon; warm-up growth flattens out, this does not.",
    (
        "Take heap dumps a few minutes apart and compare the growing object types",
        "Look for caches without eviction and for unclosed connections or file handles",
        "Compare allocation profiles of the previous and the new version",
        "Roll back if the projected time to the limit is shorter than your next deploy",
    ),
)
INSUFFICIENT_DATA = CatalogEntry(
    "X2",
    "insufficientDataForVerdict",
    COMPOSITE,
    "Not enough data to judge the deployment",
    "The window holds too little traffic or too few usable sequences to have caught a rollback-sized "
    "regression, so the verdict cannot be ok; the details give the smallest change the data could show.",
    (
        "Lengthen the observation window for this project",
        "Send traffic (smoke or synthetic checks) while the window is open",
        "Check that every sequence reached the metrics endpoint",
        "Treat this deployment as unverified until it is watched for longer",
    ),
)
DEGRADED_BASELINE = CatalogEntry(
    "X3",
    "baselineDegradedBeforeDeployment",
    COMPOSITE,
    "Service already degraded before the deployment",
    "The pre-deploy baseline already breached absolute limits, so it is no healthy reference; the "
    "post-deploy figures were also held against the limits, and a rollback may not restore health.",
    (
        "Check what degraded the service before this deployment",
        "Compare with an earlier, healthy period rather than with this baseline",
        "Do not expect a rollback alone to restore the limits",
    ),
)


def build_hints(
    judgements: Mapping[str, Judgement],
    leak: Leak | None,
    *,
    rollback: bool,
    insufficient: Mapping[str, Any] | None,
    quality: float,
) -> tuple[Hint, ...]:
    hints: list[Hint] = []
    used: set[str] = set()

    def flagged(metric: str) -> bool:
        return judgements[metric].status in (WARN, FAIL)

    def severity(*metrics: str) -> str:
        decisive = any(judgements[m].status == FAIL and judgements[m].comparison.critical for m in metrics)
        return CRITICAL if rollback and decisive else WARNING

    def confidence(*metrics: str) -> float:
        p = max(judgements[m].p_value for m in metrics)
        return quality_adjusted(min(0.99, max(0.5, 1.0 - p)), quality)

    def add(entry: CatalogEntry, metrics: tuple[str, ...], level: str | None = None) -> None:
        level = level or severity(*metrics)
        single = judgements[metrics[0]].comparison if len(metrics) == 1 else None
        hints.append(
            make_hint(
                entry,
                severity=level,
                confidence=confidence(*metrics) if level != INFO else quality_adjusted(0.6, quality),
                evidence=_evidence(judgements, metrics),
                observed_value=single.observed if single else None,
                threshold=single.threshold if single else None,
                composite_signals=metrics if len(metrics) > 1 else (),
            )
        )
        used.update(metrics)

    if flagged("error_rate") and flagged("requests_per_sec") and _dropped(judgements):
        add(CATALOG["C3"], ("error_rate", "requests_per_sec"))
    if flagged("error_rate") and flagged("latency_p95"):
        add(CATALOG["C1"], ("error_rate", "latency_p95"))
    if flagged("latency_p95") and flagged("cpu_usage"):
        add(CATALOG["C2"], ("latency_p95", "cpu_usage"))
    singles = (
        ("error_rate", "A2:error_rate", "S1"),
        ("requests_per_sec", "A2:requests_per_sec", "S8"),
        ("latency_p95", "A3:latency_p95", "S2"),
        ("cpu_usage", "A3:cpu_usage", "S4"),
    )
    for metric, persistent, plain in singles:
        if metric not in used and flagged(metric):
            add(CATALOG[persistent if judgements[metric].status == FAIL else plain], (metric,))
    if leak is not None and leak.found:
        add(MEMORY_LEAK, ("memory_usage",))
    elif flagged("memory_usage"):
        above = "absolute" in judgements["memory_usage"].flags
        add(CATALOG["S5" if above else "S6"], ("memory_usage",))
    latency = judgements["latency_p95"]
    if "improved" in latency.flags and not flagged("latency_p95"):
        add(CATALOG["S3"], ("latency_p95",), INFO)
    degraded = tuple(m for m, j in judgements.items() if "degraded_baseline" in j.flags)
    if degraded:
        add(DEGRADED_BASELINE, degraded, WARNING)
    if insufficient is not None:
        hints.append(
            make_hint(
                INSUFFICIENT_DATA,
                severity=WARNING,
                confidence=quality_adjusted(0.6, quality),
                evidence=insufficient,
            )
        )
    if rollback and not any(h.severity == CRITICAL for h in hints):
        decisive = tuple(m for m, j in judgements.items() if j.status == FAIL and j.comparison.critical)
        add(CATALOG["F1"], decisive or tuple(judgements), CRITICAL)
    return tuple(hints)


def _dropped(judgements: Mapping[str, Judgement]) -> bool:
    change = judgements["requests_per_sec"].comparison.change
    return change is not None and change < 1.0


def _evidence(judgements: Mapping[str, Judgement], metrics: tuple[str, ...]) -> dict[str, Any]:
    """The comparison behind the hint: values, test result, threshold and the parseable detail line."""

    def one(j: Judgement) -> dict[str, Any]:
        c = j.comparison
        return {
            "status": c.status,
            "test": c.test,
            "change": c.change,
            "interval": c.interval,
            "p_value": c.p_value,
            "threshold": c.threshold,
            "min_detectable": c.min_detectable,
            "detail": j.detail(),
            **j.extra,
        }

    if len(metrics) == 1:
        j = judgements[metrics[0]]
        return {"baseline": j.comparison.baseline, "observed": j.comparison.observed, **one(j)}
    return {
        "baseline": {m: judgements[m].comparison.baseline for m in metrics},
        "observed": {m: judgements[m].comparison.observed for m in metrics},
        "signals": {m: one(judgements[m]) for m in metrics},
    }
