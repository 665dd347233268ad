"""Policy evidence-v1: verdicts from counts and ratios, persistence, honest "not enough data", hints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seqpulse.analyzer.model import AnalysisInput, AnalysisResult, MetricComparison, Sample
from seqpulse.analyzer.policies import POLICY_NAMES, get_policy
from seqpulse.analyzer.policies.evidence_judgement import parse_detail
from seqpulse.analyzer.policies.evidence_v1 import EvidenceV1Policy
from seqpulse.common.policy_settings import InvalidPolicySettingsError

T0 = datetime(2026, 2, 19, 12, 0, tzinfo=UTC)
FINISH = 180.0  # seconds after the pre sample: the deploy took three minutes


def sample(
    at: float | None,
    *,
    rps: float = 100.0,
    lat: float = 120.0,
    err: float = 0.001,
    cpu: float = 0.30,
    mem: float = 0.40,
    index: int | None = None,
) -> Sample:
    collected_at = None if at is None else T0 + timedelta(seconds=at)
    return Sample(collected_at, rps, lat, err, cpu, mem, index)


def posts(n: int, seq: float = 60.0, **series: list[float]) -> tuple[Sample, ...]:
    """n post samples at finish + i x seq, as the collector takes them; series override per sample."""
    return tuple(sample(FINISH + seq * i, index=i, **{k: v[i] for k, v in series.items()}) for i in range(n))


def analyze(
    post: tuple[Sample, ...],
    *,
    pre: tuple[Sample, ...] | None = None,
    window: int | None = None,
    seq: int = 60,
    settings: Mapping[str, Any] | None = None,
    analyzed_at: datetime | None = None,
) -> AnalysisResult:
    pre = (sample(0.0),) if pre is None else pre
    window = window or max(1, len(post))
    if analyzed_at is None:
        analyzed_at = T0 + timedelta(seconds=FINISH + window * seq + seq)
    data = AnalysisInput(pre, post, window, seq, analyzed_at, settings=settings or {})
    return EvidenceV1Policy().analyze(data)


def comparison(result: AnalysisResult, metric: str) -> MetricComparison:
    return next(c for c in result.comparisons if c.metric == metric)


def status(result: AnalysisResult, metric: str) -> str | None:
    return comparison(result, metric).status


def spread(values: list[float], n: int, wobble: float) -> list[float]:
    """A deterministic +-wobble pattern around each value, so level tests see realistic noise."""
    return [values[i % len(values)] * (1 + wobble * ((i * 7919) % 5 - 2) / 2) for i in range(n)]


# --- verdicts -------------------------------------------------------------------------------------


def test_healthy_busy_window_is_ok_and_says_what_it_could_have_detected() -> None:
    result = analyze(posts(10, lat=spread([120.0], 10, 0.03), rps=spread([100.0], 10, 0.03)))
    assert result.verdict == "ok"
    assert not result.insufficient_data
    assert "smallest detectable" in result.summary
    assert result.hints == ()
    assert result.confidence >= 0.8


def test_one_error_at_one_request_per_second_is_not_a_catastrophe() -> None:
    err = [0.0] * 10
    err[4] = 1 / 60  # one failed request in the sample's 60
    result = analyze(posts(10, rps=[1.0] * 10, err=err), pre=(sample(0.0, rps=1.0, err=0.0),))
    assert status(result, "error_rate") in ("pass", "inconclusive")
    assert result.verdict != "rollback_recommended"


def test_fifty_errors_in_three_thousand_requests_roll_back() -> None:
    # 50 rps x 60 s = 3000 requests per sequence; 1.7% of them fail in every sequence.
    result = analyze(posts(6, rps=[50.0] * 6, err=[50 / 3000] * 6), pre=(sample(0.0, rps=50.0, err=0.001),))
    assert result.verdict == "rollback_recommended"
    assert status(result, "error_rate") == "fail"
    assert result.summary.startswith("Rollback recommended: error rate")


def test_error_rate_is_judged_on_counts_pooled_over_sequences() -> None:
    result = analyze(posts(6, rps=[50.0] * 6, err=[0.02] * 6), pre=(sample(0.0, rps=50.0, err=0.001),))
    evidence = comparison(result, "error_rate").evidence
    # post[0] straddles the restart and is not judged: five sequences of 3000 requests remain.
    assert evidence["requests"] == pytest.approx(15000)
    assert evidence["errors"] == pytest.approx(300)


def test_latency_doubling_is_a_rollback_not_a_warning() -> None:
    result = analyze(posts(10, lat=spread([250.0], 10, 0.03)))
    assert status(result, "latency_p95") == "fail"
    assert result.verdict == "rollback_recommended"
    assert any(
        h.code == "persistentMetricBreaches.latencyP95" and h.severity == "critical" for h in result.hints
    )


def test_latency_up_by_sixty_percent_is_a_warning() -> None:
    result = analyze(posts(10, lat=spread([192.0], 10, 0.03)))
    assert status(result, "latency_p95") == "warn"
    assert result.verdict == "warning"
    assert [h.code for h in result.hints] == ["highLatencyDetected"]


def test_latency_under_the_floor_is_not_flagged_whatever_the_ratio() -> None:
    result = analyze(posts(10, lat=[40.0] * 10), pre=(sample(0.0, lat=10.0),))
    assert status(result, "latency_p95") == "pass"


def test_latency_above_the_absolute_limit_warns_even_without_a_large_ratio() -> None:
    result = analyze(posts(10, lat=spread([330.0], 10, 0.02)), pre=(sample(0.0, lat=290.0),))
    latency = comparison(result, "latency_p95")
    assert latency.status == "warn"
    assert result.verdict == "warning"


def test_traffic_halving_rolls_back() -> None:
    result = analyze(posts(10, rps=spread([40.0], 10, 0.02)))
    assert status(result, "requests_per_sec") == "fail"
    assert result.verdict == "rollback_recommended"


def test_traffic_dip_of_ten_percent_passes() -> None:
    result = analyze(posts(10, rps=spread([90.0], 10, 0.02)))
    assert status(result, "requests_per_sec") == "pass"


def test_traffic_crash_is_detected_at_low_traffic_where_the_original_looked_away() -> None:
    result = analyze(posts(15, rps=[0.0] * 15), pre=(sample(0.0, rps=0.3, err=0.0),))
    assert status(result, "requests_per_sec") == "fail"
    assert result.verdict == "rollback_recommended"


def test_errors_up_while_traffic_drops_is_a_partial_outage() -> None:
    result = analyze(posts(10, rps=spread([40.0], 10, 0.02), err=[0.08] * 10))
    assert result.verdict == "rollback_recommended"
    assert result.hints[0].code == "partialOutageSuspected"
    assert result.hints[0].composite_signals == ("error_rate", "requests_per_sec")
    assert "signals" in result.hints[0].evidence


def test_latency_and_cpu_up_together_suggest_saturation() -> None:
    result = analyze(posts(10, lat=spread([190.0], 10, 0.02), cpu=spread([0.85], 10, 0.02)))
    assert "computeSaturationSuspected" in [h.code for h in result.hints]


# --- persistence: one spike does not decide -------------------------------------------------------


def test_one_sequence_of_errors_does_not_decide() -> None:
    err = [0.001] * 10
    err[5] = 0.15
    result = analyze(posts(10, err=err))
    assert status(result, "error_rate") in ("pass", "inconclusive")
    assert result.verdict == "ok"


def test_a_burst_seen_by_two_overlapping_windows_does_not_decide() -> None:
    err = [0.001] * 10
    err[5], err[6] = 0.10, 0.06  # one 60 s burst straddling two app windows
    result = analyze(posts(10, err=err))
    assert result.verdict == "ok"


def test_one_latency_spike_neither_warns_nor_makes_the_window_undecidable() -> None:
    lat = spread([120.0], 10, 0.03)
    lat[4] = 600.0
    result = analyze(posts(10, lat=lat))
    assert status(result, "latency_p95") == "pass"
    # Two samples: a 60 s spike shows in both app windows that overlap it.
    assert "despiked=2" in next(d for d in result.details if d.startswith("latency_p95"))


def test_a_regression_starting_late_in_the_window_is_judged_on_the_second_half() -> None:
    err = [0.001] * 6 + [0.05] * 6
    result = analyze(posts(12, err=err))
    assert status(result, "error_rate") == "fail"
    assert comparison(result, "error_rate").evidence["segment"] == "late"


# --- honest uncertainty -----------------------------------------------------------------------------


def test_low_traffic_is_not_enough_data_and_states_the_smallest_detectable_changes() -> None:
    result = analyze(posts(10, rps=[0.1] * 10, err=[0.0] * 10), pre=(sample(0.0, rps=0.1, err=0.0),))
    assert result.verdict == "warning"
    assert result.insufficient_data
    assert result.summary.startswith("Not enough data to decide")
    assert "error rate +" in result.summary
    assert comparison(result, "error_rate").min_detectable is not None
    assert [h.code for h in result.hints] == ["insufficientDataForVerdict"]
    assert result.confidence <= 0.4


def test_too_few_sequences_is_never_ok() -> None:
    result = analyze(posts(3))
    assert result.verdict == "warning"
    assert result.insufficient_data
    assert "too_few_sequences" in result.summary


def test_missing_pre_samples_is_never_ok() -> None:
    result = analyze(posts(10), pre=())
    assert result.insufficient_data
    assert "missing_pre_samples" in result.data_quality.issues


def test_no_post_samples_is_not_enough_data() -> None:
    result = analyze((), window=10)
    assert result.verdict == "warning"
    assert result.insufficient_data


def test_a_clear_regression_is_reported_even_when_the_window_is_short() -> None:
    result = analyze(posts(4, err=[0.2] * 4), window=10)
    assert result.verdict == "rollback_recommended"
    assert not result.insufficient_data


def test_duplicated_timestamps_are_counted_once() -> None:
    post = posts(10, err=[0.02] * 10)
    once = analyze(post)
    twice = analyze(post + post[3:6], window=10)
    assert (
        comparison(twice, "error_rate").evidence["requests"]
        == comparison(once, "error_rate").evidence["requests"]
    )
    assert "duplicate_samples count=3" in twice.data_quality.issues


def test_future_timestamps_are_set_aside_and_block_ok() -> None:
    post = (*posts(9), sample(FINISH + 3600, index=9))
    result = analyze(post, window=10, analyzed_at=T0 + timedelta(seconds=FINISH + 660))
    assert "future_samples count=1" in result.data_quality.issues
    assert result.data_quality.usable_post_samples == 8
    assert result.insufficient_data


def test_stale_samples_block_ok() -> None:
    result = analyze(posts(10), analyzed_at=T0 + timedelta(hours=2))
    assert any(issue.startswith("stale_post_samples") for issue in result.data_quality.issues)
    assert result.insufficient_data


def test_missing_sequences_block_ok_when_too_many_are_gone() -> None:
    post = tuple(s for i, s in enumerate(posts(10)) if i % 2 == 0)
    result = analyze(post, window=10)
    assert any(issue.startswith("missing_sequences") for issue in result.data_quality.issues)
    assert result.insufficient_data


def test_the_sample_taken_at_the_deploy_finish_is_not_judged() -> None:
    rps = [5.0] + [100.0] * 9  # the new process has been up a few seconds at post[0]
    result = analyze(posts(10, rps=rps))
    assert status(result, "requests_per_sec") == "pass"
    assert result.data_quality.usable_post_samples == 9


def test_overlapping_windows_at_thirty_second_sequences_count_requests_once() -> None:
    result = analyze(posts(12, seq=30.0, rps=[100.0] * 12), seq=30)
    # post[0] and post[1] straddle the restart; the other ten add 30 s of requests each.
    assert comparison(result, "error_rate").evidence["requests"] == pytest.approx(100 * 30 * 10)


def test_a_degraded_baseline_is_said_and_judged_against_the_limit() -> None:
    result = analyze(posts(10, err=[0.05] * 10), pre=(sample(0.0, err=0.05),))
    assert result.verdict == "warning"
    assert result.summary.startswith("Baseline already degraded before the deploy (error_rate)")
    assert "baselineDegradedBeforeDeployment" in [h.code for h in result.hints]


def test_memory_rising_past_the_baseline_is_a_leak_but_warm_up_is_not() -> None:
    leak = analyze(posts(12, mem=[0.40 + 0.01 * i for i in range(12)]))
    assert "memoryLeakSuspected" in [h.code for h in leak.hints]
    warm = analyze(posts(12, mem=[0.40 - 0.15 * 0.6**i for i in range(12)]))
    assert "memoryLeakSuspected" not in [h.code for h in warm.hints]


# --- settings, details, result ----------------------------------------------------------------------


def test_a_non_critical_latency_doubling_is_only_a_warning() -> None:
    result = analyze(posts(10, lat=spread([250.0], 10, 0.03)), settings={"critical_metrics": ["error_rate"]})
    assert status(result, "latency_p95") == "fail"
    assert result.verdict == "warning"
    assert all(h.severity != "critical" for h in result.hints)


def test_invalid_settings_name_the_field() -> None:
    with pytest.raises(InvalidPolicySettingsError, match=r"settings\.latency_warn_ratio") as caught:
        analyze(posts(10), settings={"latency_warn_ratio": 0.5})
    assert caught.value.field == "latency_warn_ratio"
    assert isinstance(caught.value, ValueError)


def test_every_detail_line_parses_back() -> None:
    result = analyze(posts(10, err=[0.05] * 10), pre=())
    for line in result.details:
        parsed = parse_detail(line)
        assert parsed["subject"] in {*(c.metric for c in result.comparisons), "data_quality", "verdict"}
    error = parse_detail(result.details[0])
    assert error["fields"]["post_rate"] == "5.00%"
    assert error["status"] == "fail" and error["critical"]


def test_rollback_and_critical_hints_always_agree() -> None:
    cases = [
        posts(10),
        posts(10, err=[0.05] * 10),
        posts(10, lat=spread([180.0], 10, 0.02)),
        posts(10, rps=[0.0] * 10),
        posts(3),
    ]
    for post in cases:
        result = analyze(post, window=10)
        critical = any(h.severity == "critical" for h in result.hints)
        assert critical == (result.verdict == "rollback_recommended")


def test_hints_carry_their_evidence() -> None:
    result = analyze(posts(10, err=[0.05] * 10))
    hint = result.hints[0]
    assert hint.evidence["test"] == "count_test"
    assert hint.evidence["detail"].startswith("error_rate count_test")
    assert hint.observed_value == pytest.approx(0.05)


def test_result_is_json_ready() -> None:
    payload = json.loads(json.dumps(analyze(posts(10, err=[0.05] * 10)).to_dict()))
    assert payload["policy"] == "evidence-v1"
    error = next(c for c in payload["comparisons"] if c["metric"] == "error_rate")
    assert error["status"] == "fail" and error["test"] == "count_test"
    assert payload["data_quality"]["usable_post_samples"] == 9


def test_same_input_gives_the_same_verdict() -> None:
    post = posts(10, lat=spread([170.0], 10, 0.05), err=[0.003] * 10)
    assert analyze(post) == analyze(post)


def test_registry_serves_evidence_v1_next_to_original_v2() -> None:
    assert "evidence-v1" in POLICY_NAMES and "original-v2" in POLICY_NAMES
    assert get_policy("evidence-v1").name == "evidence-v1"
