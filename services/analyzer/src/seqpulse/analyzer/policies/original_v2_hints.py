"""When original-v2 raises which SDH hint: the original trigger rules, minus the tolerance-edge defect."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from seqpulse.analyzer.model import Hint
from seqpulse.analyzer.sdh import (
    CATALOG,
    COMPOSITE,
    CRITICAL,
    INFO,
    WARNING,
    AuditEntry,
    CatalogEntry,
    base_confidence,
    deviation_above,
    deviation_below,
    make_hint,
    quality_adjusted,
)

# The "industrial" thresholds; the verdict's secured thresholds are these times 0.9.
INDUSTRIAL_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {"latency_p95": 300.0, "error_rate": 0.01, "cpu_usage": 0.80, "memory_usage": 0.80}
)
MIN_TRAFFIC_THRESHOLD = 0.5  # rps; below this a PRE baseline is too thin to judge traffic by
TRAFFIC_DROP_FACTOR = 0.6  # the absolute traffic rules fire below 60 % of the baseline
LATENCY_IMPROVED_FACTOR = 0.8
F1_CONFIDENCE = 0.85
LOW_DATA_QUALITY = 0.4
CRITICAL_METRICS = ("error_rate", "requests_per_sec")


def scaled(metric: str, factor: float) -> float:
    """An industrial threshold times a factor, without float noise (0.72 rather than 0.7200000000000001)."""
    return round(INDUSTRIAL_THRESHOLDS[metric] * factor, 9)


def generate_hints(
    pre_agg: Mapping[str, float],
    post_agg: Mapping[str, float],
    metrics_audit: Mapping[str, AuditEntry] | None = None,
    data_quality_score: float = 1.0,
) -> tuple[Hint, ...]:
    """Every hint the original rules raise for these PRE/POST means; each code appears at most once.

    The analysis always passes an audit (so only A1-A3, S3 and F1 are reachable from it); without one the
    absolute rules on the means (C1-C3, S1-S8) apply, as in the original's own tests.
    """
    return _Triggers(pre_agg, post_agg, metrics_audit or {}, data_quality_score).run()


class _Triggers:
    def __init__(
        self,
        pre: Mapping[str, float],
        post: Mapping[str, float],
        audit: Mapping[str, AuditEntry],
        quality: float,
    ) -> None:
        self.pre, self.post, self.audit, self.quality = pre, post, audit, quality
        self.failures = {metric: entry for metric, entry in audit.items() if entry.failed}
        self.critical_failures = tuple(m for m in CRITICAL_METRICS if m in self.failures)
        self.suppressed: set[str] = set()
        self.hints: list[Hint] = []
        self.baseline_rps = pre.get("requests_per_sec", 0.0)

    def run(self) -> tuple[Hint, ...]:
        both_critical = self._persistent_breaches()
        if not both_critical:
            self._composites()
        self._error_rate()
        self._latency()
        self._cpu()
        self._memory()
        self._traffic()
        if self.critical_failures and not any(hint.severity == CRITICAL for hint in self.hints):
            self._add("F1", CRITICAL, F1_CONFIDENCE, signals=self.critical_failures)
        return tuple(self.hints)

    def _persistent_breaches(self) -> bool:
        if len(self.critical_failures) >= 2:
            self.suppressed.update(self.critical_failures)
            worst = max(self.failures[m].ratio_deviation for m in self.critical_failures)
            confidence = base_confidence(CRITICAL, worst, signals=len(self.critical_failures))
            self._add("A1", CRITICAL, confidence, signals=self.critical_failures)
        elif self.critical_failures:
            self._audited_single(f"A2:{self.critical_failures[0]}", self.critical_failures[0])
        for metric in ("latency_p95", "cpu_usage", "memory_usage"):
            if metric in self.failures:
                self.suppressed.add(metric)
                self._audited_single(f"A3:{metric}", metric)
        return len(self.critical_failures) >= 2

    def _audited_single(self, ref: str, metric: str) -> None:
        entry = self.failures[metric]
        severity = CRITICAL if entry.ratio_deviation >= 1.0 else WARNING
        confidence = base_confidence(severity, entry.ratio_deviation)
        self._add(
            ref, severity, confidence, observed=self.post.get(metric), threshold=entry.secured_threshold
        )

    def _composites(self) -> None:
        error, latency, cpu = (self.post[m] for m in ("error_rate", "latency_p95", "cpu_usage"))
        error_dev = deviation_above(error, INDUSTRIAL_THRESHOLDS["error_rate"])
        latency_dev = deviation_above(latency, INDUSTRIAL_THRESHOLDS["latency_p95"])
        high_error = error > INDUSTRIAL_THRESHOLDS["error_rate"]
        high_latency = latency > INDUSTRIAL_THRESHOLDS["latency_p95"]
        if self._not_all_audited("error_rate", "latency_p95") and high_error and high_latency:
            self._composite("C1", CRITICAL, max(error_dev, latency_dev), ("error_rate", "latency_p95"))
        if (
            self._not_all_audited("latency_p95", "cpu_usage")
            and high_latency
            and cpu > INDUSTRIAL_THRESHOLDS["cpu_usage"]
        ):
            severity = CRITICAL if latency >= scaled("latency_p95", 1.3) else WARNING
            cpu_dev = deviation_above(cpu, INDUSTRIAL_THRESHOLDS["cpu_usage"])
            self._composite("C2", severity, max(latency_dev, cpu_dev), ("latency_p95", "cpu_usage"))
        if (
            self._not_all_audited("error_rate", "requests_per_sec")
            and self.baseline_rps >= MIN_TRAFFIC_THRESHOLD
            and high_error
            and self.post["requests_per_sec"] < self.baseline_rps * TRAFFIC_DROP_FACTOR
        ):
            drop_dev = deviation_below(self.baseline_rps, self.post["requests_per_sec"])
            self._composite("C3", CRITICAL, max(error_dev, drop_dev), ("error_rate", "requests_per_sec"))

    def _composite(self, ref: str, severity: str, deviation: float, metrics: tuple[str, str]) -> None:
        self.suppressed.update(metrics)
        self._add(ref, severity, base_confidence(severity, deviation, signals=2), signals=metrics)

    def _error_rate(self) -> None:
        error, threshold = self.post["error_rate"], INDUSTRIAL_THRESHOLDS["error_rate"]
        if self._free("error_rate") and error > threshold:
            confidence = base_confidence(CRITICAL, deviation_above(error, threshold))
            self._add("S1", CRITICAL, confidence, observed=error, threshold=threshold)

    def _latency(self) -> None:
        latency, threshold = self.post["latency_p95"], INDUSTRIAL_THRESHOLDS["latency_p95"]
        if self._free("latency_p95"):
            if latency > threshold:
                severity = CRITICAL if latency >= scaled("latency_p95", 1.3) else WARNING
                confidence = base_confidence(severity, deviation_above(latency, threshold))
                self._add("S2", severity, confidence, observed=latency, threshold=threshold)
            return
        # The original only looks for an improvement once latency is audited or explained by a composite.
        baseline = self.pre.get("latency_p95", 0.0)
        if baseline > 0 and latency < baseline * LATENCY_IMPROVED_FACTOR:
            confidence = base_confidence(INFO, deviation_below(baseline, latency))
            self._add("S3", INFO, confidence, observed=latency, threshold=threshold)

    def _cpu(self) -> None:
        cpu, threshold = self.post["cpu_usage"], INDUSTRIAL_THRESHOLDS["cpu_usage"]
        if self._free("cpu_usage") and cpu > threshold:
            severity = CRITICAL if cpu >= scaled("cpu_usage", 1.2) else WARNING
            confidence = base_confidence(severity, deviation_above(cpu, threshold))
            self._add("S4", severity, confidence, observed=cpu, threshold=threshold)

    def _memory(self) -> None:
        memory, threshold = self.post["memory_usage"], INDUSTRIAL_THRESHOLDS["memory_usage"]
        if not self._free("memory_usage"):
            return
        approaching = scaled("memory_usage", 0.9)
        if memory > threshold:
            severity = CRITICAL if memory >= scaled("memory_usage", 1.1) else WARNING
            confidence = base_confidence(severity, deviation_above(memory, threshold))
            self._add("S5", severity, confidence, observed=memory, threshold=threshold)
        elif memory >= approaching:
            closeness = (memory - approaching) / scaled("memory_usage", 0.1)
            confidence = base_confidence(WARNING, max(0.0, closeness))
            self._add("S6", WARNING, confidence, observed=memory, threshold=threshold)
        elif memory <= scaled("memory_usage", 0.8):
            self._add("S7", INFO, base_confidence(INFO, 0.0), observed=memory, threshold=threshold)

    def _traffic(self) -> None:
        rps = self.post["requests_per_sec"]
        if (
            self._free("requests_per_sec")
            and self.baseline_rps >= MIN_TRAFFIC_THRESHOLD
            and rps < self.baseline_rps * TRAFFIC_DROP_FACTOR
        ):
            confidence = base_confidence(WARNING, deviation_below(self.baseline_rps, rps))
            self._add("S8", WARNING, confidence, observed=rps, threshold=self.baseline_rps)

    def _free(self, metric: str) -> bool:
        """Neither audited (the audit's verdict wins over absolute rules) nor explained by another hint."""
        return metric not in self.audit and metric not in self.suppressed

    def _not_all_audited(self, *metrics: str) -> bool:
        return not all(metric in self.audit for metric in metrics)

    def _add(
        self,
        ref: str,
        severity: str,
        confidence: float,
        *,
        observed: float | None = None,
        threshold: float | None = None,
        signals: tuple[str, ...] = (),
    ) -> None:
        entry = CATALOG[ref]
        self.hints.append(
            make_hint(
                entry,
                severity=severity,
                confidence=quality_adjusted(confidence, self.quality),
                evidence=self._evidence(entry, signals),
                observed_value=observed,
                threshold=threshold,
                audit=self.audit.get(entry.metric),
                composite_signals=signals,
            )
        )

    def _evidence(self, entry: CatalogEntry, signals: tuple[str, ...]) -> dict[str, Any]:
        """The original's audit_data (the audits of the hint's metrics, else the data quality), plus means."""
        metrics = signals if entry.metric == COMPOSITE else (entry.metric,)
        evidence: dict[str, Any] = {m: self.audit[m].as_dict() for m in metrics if m in self.audit}
        if not evidence:
            evidence["data_quality_score"] = self.quality
            if self.quality < LOW_DATA_QUALITY:
                evidence["low_data_quality"] = True
        if entry.metric == COMPOSITE:
            evidence["baseline"] = {m: self.pre.get(m) for m in metrics}
            evidence["observed"] = {m: self.post.get(m) for m in metrics}
        else:
            evidence["baseline"] = self.pre.get(entry.metric)
            evidence["observed"] = self.post.get(entry.metric)
        return evidence
