"""SDH hints: the catalog, its confidence formula and the original-v2 triggers, with and without audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seqpulse.analyzer.model import AnalysisInput, AnalysisResult, Hint, Sample
from seqpulse.analyzer.policies.original_v2 import OriginalV2Policy
from seqpulse.analyzer.policies.original_v2_hints import generate_hints
from seqpulse.analyzer.sdh import (
    CATALOG,
    AuditEntry,
    base_confidence,
    make_hint,
    quality_adjusted,
)

T0 = datetime(2026, 2, 19, 12, 0, tzinfo=UTC)
HEALTHY = {
    "requests_per_sec": 50.0,
    "latency_p95": 120.0,
    "error_rate": 0.002,
    "cpu_usage": 0.3,
    "memory_usage": 0.7,
}


def agg(**overrides: float) -> dict[str, float]:
    """Phase means; memory 0.7 by default sits between the "normal" and "approaching" bands."""
    names = {"rps": "requests_per_sec", "lat": "latency_p95", "err": "error_rate", "cpu": "cpu_usage"}
    return HEALTHY | {names.get(k, "memory_usage" if k == "mem" else k): v for k, v in overrides.items()}


def by_metric(hints: tuple[Hint, ...]) -> dict[str, Hint]:
    return {h.metric: h for h in hints}


def codes(hints: tuple[Hint, ...]) -> list[str]:
    return [h.code for h in hints]


def run(window: int = 5, **series: list[float]) -> AnalysisResult:
    """The policy on a free-plan window: one PRE sample at 50 rps, then one post sample a minute."""
    pre = (Sample(T0, 50.0, 120.0, 0.002, 0.3, 0.4),)
    defaults = {"rps": 50.0, "lat": 120.0, "err": 0.002, "cpu": 0.3, "mem": 0.4}
    values = [{k: series[k][i] if k in series else v for k, v in defaults.items()} for i in range(window)]
    post = tuple(
        Sample(T0 + timedelta(minutes=i + 1), v["rps"], v["lat"], v["err"], v["cpu"], v["mem"])
        for i, v in enumerate(values)
    )
    data = AnalysisInput(pre, post, window, 60, analyzed_at=T0 + timedelta(minutes=window, seconds=5))
    return OriginalV2Policy().analyze(data)


# --- the catalog ---------------------------------------------------------------------------------------


def test_catalog_holds_every_reference_hint_with_its_code() -> None:
    assert {ref: entry.code for ref, entry in CATALOG.items()} == {
        "A1": "persistentCriticalThresholdBreaches",
        "A2:error_rate": "persistentCriticalThresholdBreach",
        "A2:requests_per_sec": "persistentCriticalThresholdBreach",
        "A3:latency_p95": "persistentMetricBreaches.latencyP95",
        "A3:cpu_usage": "persistentMetricBreaches.cpuUsage",
        "A3:memory_usage": "persistentMetricBreaches.memoryUsage",
        "C1": "serviceDegradationDetected",
        "C2": "computeSaturationSuspected",
        "C3": "partialOutageSuspected",
        "S1": "highErrorRateAfterDeployment",
        "S2": "highLatencyDetected",
        "S3": "latencyImprovedAfterDeployment",
        "S4": "cpuUsageSpikeDetected",
        "S5": "memoryUsageAboveThreshold",
        "S6": "memoryUsageApproachingThreshold",
        "S7": "memoryUsageWithinNormalRange",
        "S8": "trafficLowerThanBaselineAfterDeployment",
        "F1": "criticalVerdictRequiresInvestigation",
    }
    for entry in CATALOG.values():
        assert entry.title and entry.diagnosis.endswith(".") and len(entry.suggested_actions) >= 3


def test_catalog_titles_match_the_reference() -> None:
    assert CATALOG["A3:cpu_usage"].title == "Persistent CPU usage breaches detected"
    assert CATALOG["A2:requests_per_sec"].diagnosis.startswith("Traffic is persistently breaching")
    assert CATALOG["C3"].title == "Partial outage suspected"
    assert CATALOG["F1"].title == "Critical verdict requires investigation"


def test_a_catalog_entry_can_be_raised_by_another_policy() -> None:
    hint = make_hint(
        CATALOG["S2"], severity="warning", confidence=0.6, evidence={"p95": 410.0}, observed_value=410.0
    )
    assert (hint.code, hint.metric, hint.title) == (
        "highLatencyDetected",
        "latency_p95",
        "High latency detected",
    )
    assert hint.secured_threshold is None
    assert dict(hint.evidence) == {"p95": 410.0}


# --- §8.1 confidence -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "deviation", "signals", "expected"),
    [
        ("info", 0.0, 1, 0.45),
        ("warning", 0.09, 1, 0.55),
        ("warning", 0.1, 1, 0.60),
        ("warning", 0.3, 1, 0.65),
        ("info", 0.5, 1, 0.60),
        ("critical", 1.0, 1, 0.90),
        ("critical", 0.2, 2, 0.83),
        ("warning", 0.0, 3, 0.68),
        ("critical", 7.0, 2, 0.95),
    ],
)
def test_hint_confidence_adds_deviation_and_signal_bonuses(
    severity: str, deviation: float, signals: int, expected: float
) -> None:
    assert base_confidence(severity, deviation, signals) == expected


@pytest.mark.parametrize(
    ("confidence", "quality", "expected"),
    [(0.95, 1.0, 0.95), (0.9, 0.0, 0.45), (0.3, 0.0, 0.20), (0.8, 0.5, 0.6)],
)
def test_hint_confidence_is_scaled_by_data_quality(
    confidence: float, quality: float, expected: float
) -> None:
    assert quality_adjusted(confidence, quality) == expected


# --- the original's SDH tests (no audit unless stated) -------------------------------------------------


def test_high_error_and_latency_make_one_critical_service_degradation_hint() -> None:
    pre = agg(rps=1.0, lat=180, err=0.001, cpu=0.4, mem=0.82)
    hints = generate_hints(pre, agg(rps=1.0, lat=400, err=0.02, cpu=0.5, mem=0.82))
    composite = [h for h in hints if h.metric == "composite"]
    assert [h.code for h in composite] == ["serviceDegradationDetected"]
    assert (composite[0].severity, composite[0].confidence) == ("critical", 0.95)
    assert "error_rate" not in by_metric(hints) and "latency_p95" not in by_metric(hints)


def test_critical_composite_is_more_confident_than_a_latency_warning() -> None:
    latency = by_metric(generate_hints(agg(rps=0.2, lat=180), agg(rps=0.2, lat=360)))["latency_p95"]
    degraded = generate_hints(agg(rps=1.0, lat=180), agg(rps=1.0, lat=450, err=0.025))
    composite = by_metric(degraded)["composite"]
    assert latency.severity == "warning"
    assert composite.severity == "critical"
    assert latency.confidence < composite.confidence <= 0.95


def test_identical_quiet_phases_raise_no_hint() -> None:
    quiet = agg(rps=0.05, lat=200, err=0.001, cpu=0.2, mem=0.7)
    assert generate_hints(quiet, quiet) == ()


def test_persistent_error_and_traffic_breaches_make_one_composite_with_both_audits() -> None:
    audit = {
        "error_rate": AuditEntry(0.009, 0.30, 0.05),
        "requests_per_sec": AuditEntry(96.0, 0.40, 0.20),
    }
    hints = generate_hints(agg(rps=120), agg(rps=110), audit)
    composite = by_metric(hints)["composite"]
    assert composite.code == "persistentCriticalThresholdBreaches"
    assert composite.severity == "critical"
    assert set(composite.audit_data) == {"error_rate", "requests_per_sec"}
    assert composite.composite_signals == ("error_rate", "requests_per_sec")


def test_latency_audit_within_tolerance_wins_over_a_high_latency_mean() -> None:
    audit = {"latency_p95": AuditEntry(270.0, 0.10, 0.20)}
    assert "latency_p95" not in by_metric(generate_hints(agg(lat=180), agg(lat=360), audit))


def test_a_hints_audit_data_holds_only_its_own_metric() -> None:
    audit = {"latency_p95": AuditEntry(270.0, 0.10, 0.20), "cpu_usage": AuditEntry(0.72, 0.40, 0.20)}
    cpu = by_metric(generate_hints(agg(), agg(cpu=0.85), audit))["cpu_usage"]
    assert set(cpu.audit_data) == {"cpu_usage"}
    assert (cpu.secured_threshold, cpu.exceed_ratio, cpu.tolerance) == (0.72, 0.40, 0.20)


# --- §8.2 verified examples (free plan, 5 samples, baseline 50 rps) ------------------------------------


def test_one_error_spike_raises_a_critical_persistent_breach_hint() -> None:
    result = run(err=[0.002, 0.02, 0.002, 0.002, 0.002])
    assert result.verdict == "rollback_recommended"
    assert [(h.code, h.metric, h.severity, h.confidence) for h in result.hints] == [
        ("persistentCriticalThresholdBreach", "error_rate", "critical", 0.90)
    ]


def test_one_error_spike_in_fifteen_raises_a_warning_breach_and_an_investigation_hint() -> None:
    result = run(window=15, err=[0.02] + [0.002] * 14)
    assert result.verdict == "rollback_recommended"
    assert [(h.code, h.severity, h.confidence) for h in result.hints] == [
        ("persistentCriticalThresholdBreach", "warning", 0.65),
        ("criticalVerdictRequiresInvestigation", "critical", 0.85),
    ]


def test_latency_in_two_of_five_raises_a_critical_hint_under_a_warning_verdict() -> None:
    result = run(lat=[300, 300, 120, 120, 120])
    assert result.verdict == "warning"
    assert [(h.code, h.severity, h.confidence) for h in result.hints] == [
        ("persistentMetricBreaches.latencyP95", "critical", 0.90)
    ]
    assert result.hints[0].threshold == 270.0


def test_persistent_error_and_traffic_breaches_raise_one_composite_at_095() -> None:
    result = run(err=[0.02, 0.02, 0.002, 0.002, 0.002], rps=[20, 20, 50, 50, 50])
    assert [(h.code, h.confidence) for h in result.hints] == [("persistentCriticalThresholdBreaches", 0.95)]


def test_a_clean_run_raises_no_hint() -> None:
    assert run().hints == ()


def test_latency_well_below_baseline_raises_an_improvement_hint() -> None:
    result = run(lat=[60, 60, 60, 60, 60])
    assert [(h.code, h.severity, h.confidence) for h in result.hints] == [
        ("latencyImprovedAfterDeployment", "info", 0.60)
    ]


# --- the absolute rules (no audit) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("post", "code", "severity"),
    [
        (agg(err=0.02), "highErrorRateAfterDeployment", "critical"),
        (agg(lat=389), "highLatencyDetected", "warning"),
        (agg(lat=390), "highLatencyDetected", "critical"),
        (agg(cpu=0.95), "cpuUsageSpikeDetected", "warning"),
        (agg(cpu=0.96), "cpuUsageSpikeDetected", "critical"),
        (agg(mem=0.87), "memoryUsageAboveThreshold", "warning"),
        (agg(mem=0.88), "memoryUsageAboveThreshold", "critical"),
        (agg(mem=0.72), "memoryUsageApproachingThreshold", "warning"),
        (agg(mem=0.64), "memoryUsageWithinNormalRange", "info"),
        (agg(rps=29), "trafficLowerThanBaselineAfterDeployment", "warning"),
    ],
)
def test_single_metric_rules_on_post_means(post: dict[str, float], code: str, severity: str) -> None:
    hints = generate_hints(agg(), post)
    assert [(h.code, h.severity) for h in hints] == [(code, severity)]
    assert hints[0].evidence["data_quality_score"] == 1.0


def test_traffic_drop_is_ignored_below_half_a_request_per_second_of_baseline() -> None:
    assert generate_hints(agg(rps=0.4), agg(rps=0.0)) == ()


def test_compute_saturation_is_critical_from_390_ms() -> None:
    warning = by_metric(generate_hints(agg(), agg(lat=350, cpu=0.85)))["composite"]
    critical = by_metric(generate_hints(agg(), agg(lat=400, cpu=0.85)))["composite"]
    assert (warning.code, warning.severity) == ("computeSaturationSuspected", "warning")
    assert critical.severity == "critical"


def test_errors_with_a_traffic_collapse_suggest_a_partial_outage() -> None:
    hints = generate_hints(agg(), agg(err=0.03, rps=20))
    assert codes(hints) == ["partialOutageSuspected"]
    assert hints[0].composite_signals == ("error_rate", "requests_per_sec")


def test_an_audited_metric_never_gets_an_absolute_hint() -> None:
    audit = {"memory_usage": AuditEntry(0.72, 0.0, 0.10), "cpu_usage": AuditEntry(0.72, 0.0, 0.20)}
    assert generate_hints(agg(), agg(mem=0.95, cpu=0.99), audit) == ()


def test_persistent_critical_breaches_suppress_composites_but_not_other_single_hints() -> None:
    audit = {"error_rate": AuditEntry(0.009, 0.4, 0.05), "requests_per_sec": AuditEntry(40.0, 0.4, 0.2)}
    hints = generate_hints(agg(), agg(err=0.03, lat=400, rps=20), audit)
    assert codes(hints) == ["persistentCriticalThresholdBreaches", "highLatencyDetected"]


def test_a_critical_composite_makes_the_investigation_hint_unnecessary() -> None:
    audit = {"error_rate": AuditEntry(0.009, 1 / 15, 0.05)}
    hints = generate_hints(agg(), agg(err=0.03, lat=400), audit)
    assert codes(hints) == ["persistentCriticalThresholdBreach", "serviceDegradationDetected"]


def test_a_persistent_rps_drop_alone_is_a_critical_breach_of_traffic() -> None:
    hints = generate_hints(agg(), agg(rps=30), {"requests_per_sec": AuditEntry(40.0, 0.6, 0.2)})
    assert [(h.code, h.metric, h.severity, h.threshold) for h in hints] == [
        ("persistentCriticalThresholdBreach", "requests_per_sec", "critical", 40.0)
    ]


def test_a_metric_breach_below_twice_the_tolerance_is_a_warning() -> None:
    hints = generate_hints(agg(), agg(), {"memory_usage": AuditEntry(0.72, 0.15, 0.10)})
    assert [(h.code, h.severity, h.confidence) for h in hints] == [
        ("persistentMetricBreaches.memoryUsage", "warning", 0.65)
    ]


# --- data quality in hints -----------------------------------------------------------------------------


def test_hints_without_audit_record_the_data_quality_and_flag_it_when_low() -> None:
    good = generate_hints(agg(), agg(err=0.02), data_quality_score=0.6)[0]
    poor = generate_hints(agg(), agg(err=0.02), data_quality_score=0.2)[0]
    assert good.audit_data == {"data_quality_score": 0.6}
    assert poor.audit_data == {"data_quality_score": 0.2, "low_data_quality": True}
    assert (good.confidence, poor.confidence) == (0.72, 0.54)  # 0.90 scaled by 0.8 and by 0.6


# --- every hint carries its evidence -------------------------------------------------------------------


def test_every_hint_carries_the_baseline_and_observed_means() -> None:
    hints = generate_hints(agg(lat=150), agg(lat=400, err=0.02, mem=0.9))
    degradation = by_metric(hints)["composite"]
    assert degradation.evidence["baseline"] == {"error_rate": 0.002, "latency_p95": 150.0}
    assert degradation.evidence["observed"] == {"error_rate": 0.02, "latency_p95": 400.0}
    memory = by_metric(hints)["memory_usage"]
    assert (memory.evidence["baseline"], memory.evidence["observed"]) == (0.7, 0.9)
    assert degradation.secured_threshold is None and degradation.observed_value is None


# --- defect 2: the tolerance edge ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "audit",
    [
        {"error_rate": AuditEntry(0.009, 0.05, 0.05)},
        {"requests_per_sec": AuditEntry(40.0, 0.2, 0.2)},
        {"latency_p95": AuditEntry(270.0, 0.2, 0.2)},
        {"memory_usage": AuditEntry(0.72, 0.1, 0.1)},
    ],
    ids=["error", "rps", "latency", "memory"],
)
def test_exceed_ratio_equal_to_tolerance_is_not_an_audit_failure(audit: dict[str, AuditEntry]) -> None:
    assert not next(iter(audit.values())).failed
    assert generate_hints(agg(), agg(), audit) == ()


# --- defect 3: every hint is kept ----------------------------------------------------------------------


def test_all_composite_hints_of_one_analysis_are_returned() -> None:
    hints = generate_hints(agg(), agg(err=0.03, lat=420, cpu=0.9, rps=10))
    assert codes(hints) == [
        "serviceDegradationDetected",
        "computeSaturationSuspected",
        "partialOutageSuspected",
    ]


def test_every_persistent_breach_of_one_analysis_is_returned_once() -> None:
    result = run(
        err=[0.02, 0.02, 0.02, 0.002, 0.002],
        rps=[10, 10, 10, 50, 50],
        lat=[400, 400, 400, 120, 120],
        cpu=[0.9, 0.9, 0.9, 0.3, 0.3],
        mem=[0.9, 0.9, 0.9, 0.4, 0.4],
    )
    assert codes(result.hints) == [
        "persistentCriticalThresholdBreaches",
        "persistentMetricBreaches.latencyP95",
        "persistentMetricBreaches.cpuUsage",
        "persistentMetricBreaches.memoryUsage",
    ]
    assert len(set(codes(result.hints))) == len(result.hints)
