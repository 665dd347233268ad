"""Policy original-v2: verdicts, data quality, confidence and detail strings of the original engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seqpulse.analyzer.model import AnalysisInput, AnalysisResult, MetricComparison, Sample
from seqpulse.analyzer.policies import (
    DEFAULT_POLICY,
    POLICY_NAMES,
    UnknownPolicyError,
    get_policy,
)
from seqpulse.analyzer.policies.original_v2 import (
    OriginalV2Policy,
    adjust_confidence,
    evaluate_data_quality,
    format_detail,
    parse_detail,
)

T0 = datetime(2026, 2, 19, 12, 0, tzinfo=UTC)


def sample(
    at: float | None,
    *,
    rps: float = 100.0,
    lat: float = 120.0,
    err: float = 0.002,
    cpu: float = 0.30,
    mem: float = 0.40,
) -> Sample:
    """A sample `at` seconds after T0 (None: no timestamp); healthy unless told otherwise."""
    collected_at = None if at is None else T0 + timedelta(seconds=at)
    return Sample(collected_at, rps, lat, err, cpu, mem)


def posts(n: int, **series: list[float]) -> tuple[Sample, ...]:
    """n post samples one minute apart after the pre sample at T0; keyword series override per sample."""
    return tuple(sample(60.0 * (i + 1), **{k: v[i] for k, v in series.items()}) for i in range(n))


def analyze(
    pre: tuple[Sample, ...],
    post: tuple[Sample, ...],
    *,
    window: int = 5,
    seconds: int = 60,
    analyzed_at: datetime | None = None,
) -> AnalysisResult:
    if analyzed_at is None:
        times = [s.collected_at for s in post if s.collected_at is not None]
        analyzed_at = max(times, default=T0) + timedelta(seconds=5)
    data = AnalysisInput(
        pre, post, window_sequences=window, sequence_seconds=seconds, analyzed_at=analyzed_at
    )
    return OriginalV2Policy().analyze(data)


def comparison(result: AnalysisResult, metric: str) -> MetricComparison:
    return next(c for c in result.comparisons if c.metric == metric)


def failed(result: AnalysisResult) -> set[str]:
    return {c.metric for c in result.comparisons if c.failed}


PRE = (sample(0.0),)


# --- the original's analysis tests ---------------------------------------------------------------------


def test_latency_error_and_cpu_breaches_recommend_rollback_with_a_flag_for_each() -> None:
    pre = (sample(0.0, lat=100, err=0.001, cpu=0.3, mem=0.4, rps=1.5),)
    post = posts(
        10,
        lat=[350, 330, 280, 290, 260, 250, 240, 230, 220, 210],
        err=[0.02, 0.015] + [0.002] * 8,
        cpu=[0.9, 0.85, 0.75, 0.74, 0.73, 0.72, 0.71, 0.70, 0.70, 0.70],
        mem=[0.7] * 10,
        rps=[1.4, 1.3, 1.25, 1.3, 1.4, 1.3, 1.4, 1.3, 1.4, 1.3],
    )
    result = analyze(pre, post, window=15)
    assert result.verdict == "rollback_recommended"
    assert result.summary == "Critical threshold violations detected"
    for metric in ("latency_p95", "error_rate", "cpu_usage"):
        assert any(d.startswith(f"{metric} exceed_ratio") for d in result.details)


def test_persistent_traffic_drop_recommends_rollback_with_a_drop_ratio_flag() -> None:
    post = posts(
        5,
        rps=[70, 70, 70, 70, 90],
        lat=[140, 145, 140, 145, 140],
        err=[0.004, 0.0042, 0.004, 0.0042, 0.004],
        cpu=[0.35, 0.36, 0.35, 0.36, 0.35],
        mem=[0.45, 0.46, 0.45, 0.46, 0.45],
    )
    result = analyze((sample(0.0, rps=100),), post)
    assert result.verdict == "rollback_recommended"
    assert "requests_per_sec drop_ratio 80% > 20% (drop_threshold 20%)" in result.details
    assert failed(result) == {"requests_per_sec"}


def test_traffic_is_not_judged_when_pre_traffic_is_below_half_a_request_per_second() -> None:
    pre = (sample(0.0, lat=80, err=0.001, cpu=0.2, mem=0.3, rps=0.0),)
    post = posts(2, rps=[0.01, 0.009], lat=[180, 190], err=[0.006, 0.007], cpu=[0.30, 0.32], mem=[0.50, 0.52])
    result = analyze(pre, post)
    assert result.verdict == "warning"
    assert result.summary == "Data quality insufficient to confirm deployment health"
    assert not any("drop_ratio" in d for d in result.details)
    rps = comparison(result, "requests_per_sec")
    assert (rps.failed, rps.critical, rps.threshold, rps.exceed_ratio) == (False, False, None, None)


def test_two_non_critical_failures_give_a_warning_about_multiple_regressions() -> None:
    post = posts(
        5,
        lat=[300, 305, 310, 315, 320],
        cpu=[0.74, 0.75, 0.76, 0.77, 0.78],
        err=[0.004] * 5,
        mem=[0.50] * 5,
        rps=[95, 94, 93, 94, 95],
    )
    result = analyze((sample(0.0, lat=100, rps=100),), post)
    assert result.verdict == "warning"
    assert result.summary == "Multiple non-critical regressions detected"
    assert result.confidence == 0.68
    assert any(d.startswith("latency_p95 exceed_ratio") for d in result.details)
    assert any(d.startswith("cpu_usage exceed_ratio") for d in result.details)
    assert not any(d.startswith(("error_rate", "requests_per_sec")) for d in result.details)


def test_three_healthy_post_samples_block_the_ok_verdict() -> None:
    result = analyze((sample(0.0, rps=80),), posts(3, rps=[82, 82, 82]))
    assert result.verdict == "warning"
    assert result.summary == "Data quality insufficient to confirm deployment health"
    assert "ok_verdict_blocked_by_data_quality" in result.details
    assert any(d.startswith("data_quality_issue min_post_samples") for d in result.details)


def test_pre_baseline_is_the_mean_of_all_pre_samples() -> None:
    pre = (
        sample(0.0, lat=100, err=0.002, cpu=0.3, mem=0.4, rps=120),
        sample(10.0, lat=200, err=0.004, cpu=0.5, mem=0.6, rps=80),
    )
    result = analyze(pre, posts(1))
    baselines = {c.metric: c.baseline for c in result.comparisons}
    assert baselines == pytest.approx(
        {
            "latency_p95": 150.0,
            "error_rate": 0.003,
            "cpu_usage": 0.4,
            "memory_usage": 0.5,
            "requests_per_sec": 100.0,
        }
    )


def test_two_error_spikes_in_five_samples_fail_error_rate_as_critical_with_a_critical_hint() -> None:
    pre = (sample(0.0, rps=1.5),)
    result = analyze(pre, posts(5, err=[0.02, 0.015, 0.002, 0.002, 0.002], rps=[1.5] * 5))
    assert result.verdict == "rollback_recommended"
    assert "error_rate" in failed(result)
    assert comparison(result, "error_rate").critical
    assert any(h.severity == "critical" for h in result.hints)


def test_no_post_samples_give_an_insufficient_data_warning_without_hints() -> None:
    result = analyze(PRE, ())
    assert result.insufficient_data
    assert result.verdict == "warning"
    assert result.summary == "Insufficient metrics to assess deployment health"
    assert result.hints == ()
    assert failed(result) == set()
    assert result.details == ("data_quality_score 0.60", "data_quality_issue min_post_samples 0/5")
    assert result.confidence == 0.32  # base 0.40 adjusted for a score of 0.60


def test_no_pre_samples_give_an_insufficient_data_warning_scored_080() -> None:
    result = analyze((), posts(5))
    assert result.insufficient_data
    assert result.verdict == "warning"
    assert result.data_quality.score == 0.80
    assert result.data_quality.issues == ("missing_pre_samples",)
    assert result.confidence == 0.36
    assert result.hints == ()


def test_two_post_samples_lower_the_score_with_a_min_post_samples_issue() -> None:
    quality = analyze(PRE, posts(2)).data_quality
    assert quality.score < 1.0
    assert any(issue.startswith("min_post_samples") for issue in quality.issues)


def test_post_sample_five_minutes_before_the_pre_sample_is_incoherent() -> None:
    quality = analyze((sample(300.0),), (sample(0.0),)).data_quality
    assert quality.score < 1.0
    assert "incoherent_timestamps post_before_pre" in quality.issues


def test_a_four_minute_hole_between_post_samples_is_a_sequence_gap() -> None:
    post = tuple(sample(at) for at in (0, 60, 300, 360, 420))
    quality = analyze(PRE, post).data_quality
    assert quality.score < 1.0
    assert "sequence_gaps count=1" in quality.issues


def test_quality_score_and_issues_are_reported_in_the_details() -> None:
    result = analyze((sample(0.0, rps=120),), tuple(sample(at, rps=70) for at in (0, 60, 240)))
    assert any(d.startswith("data_quality_score ") for d in result.details)
    assert any(d.startswith("data_quality_issue ") for d in result.details)


# --- §7.3 worked examples ------------------------------------------------------------------------------


def test_one_error_spike_in_five_samples_recommends_rollback() -> None:
    result = analyze(PRE, posts(5, err=[0.002, 0.0095, 0.002, 0.002, 0.002]))
    assert result.verdict == "rollback_recommended"
    assert comparison(result, "error_rate").exceed_ratio == 0.2


def test_one_error_spike_in_fifteen_samples_recommends_rollback() -> None:
    result = analyze(PRE, posts(15, err=[0.02] + [0.002] * 14), window=15)
    assert result.verdict == "rollback_recommended"
    assert comparison(result, "error_rate").exceed_ratio == pytest.approx(1 / 15)


def test_one_memory_sample_above_secured_in_five_fails_memory() -> None:
    result = analyze(PRE, posts(5, mem=[0.4, 0.73, 0.4, 0.4, 0.4]))
    assert failed(result) == {"memory_usage"}
    assert result.verdict == "warning"
    assert result.summary == "Multiple non-critical threshold violations detected"  # sic, for one failure
    assert result.confidence == 0.70


@pytest.mark.parametrize(
    ("metric", "bad"), [("lat", 271.0), ("cpu", 0.73), ("rps", 79.0)], ids=["latency", "cpu", "rps"]
)
def test_latency_cpu_and_traffic_tolerate_one_bad_sample_in_five_but_not_two(metric: str, bad: float) -> None:
    good = {"lat": 120.0, "cpu": 0.3, "rps": 100.0}[metric]
    one = analyze(PRE, posts(5, **{metric: [bad, good, good, good, good]}))
    two = analyze(PRE, posts(5, **{metric: [bad, bad, good, good, good]}))
    assert (one.verdict, failed(one)) == ("ok", set())
    assert len(failed(two)) == 1
    assert two.verdict == ("rollback_recommended" if metric == "rps" else "warning")


def test_samples_exactly_at_the_secured_threshold_do_not_count() -> None:
    result = analyze(
        PRE, posts(5, lat=[270] * 5, err=[0.009] * 5, cpu=[0.72] * 5, mem=[0.72] * 5, rps=[80] * 5)
    )
    assert result.verdict == "ok"
    assert all(c.exceed_ratio == 0.0 for c in result.comparisons)


def test_secured_thresholds_are_ninety_percent_of_industrial_and_eighty_percent_of_pre_traffic() -> None:
    result = analyze((sample(0.0, rps=120),), posts(5, rps=[120] * 5))
    thresholds = {c.metric: c.threshold for c in result.comparisons}
    assert thresholds == {
        "latency_p95": 270.0,
        "error_rate": 0.009,
        "cpu_usage": 0.72,
        "memory_usage": 0.72,
        "requests_per_sec": 96.0,
    }
    tolerances = {c.metric: c.tolerance for c in result.comparisons}
    assert tolerances == {
        "latency_p95": 0.2,
        "error_rate": 0.05,
        "cpu_usage": 0.2,
        "memory_usage": 0.1,
        "requests_per_sec": 0.2,
    }


def test_a_clean_run_is_ok_with_full_confidence() -> None:
    result = analyze(PRE, posts(5))
    assert (result.verdict, result.summary, result.confidence) == (
        "ok",
        "No significant issues detected",
        0.90,
    )
    assert result.details == ("data_quality_score 1.00",)


# --- §7.4 data-quality examples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("post_times", "score", "verdict"),
    [
        ((60, 120, 180), 0.84, "warning"),
        ((60, 120, 180, 240), 0.92, "warning"),  # above 0.90, still blocked by the min_post_samples issue
        ((60, 120, 180, 240, 360), 0.94, "ok"),  # one gap costs 0.0625 and does not block ok
        ((60, 120, 240, 300, 420), 0.88, "warning"),  # two gaps fall under 0.90
    ],
    ids=["three-samples", "four-samples", "one-gap", "two-gaps"],
)
def test_data_quality_examples(post_times: tuple[int, ...], score: float, verdict: str) -> None:
    result = analyze(PRE, tuple(sample(at) for at in post_times))
    assert result.data_quality.score == score
    assert result.verdict == verdict


@pytest.mark.parametrize(
    ("count", "score"), [(0, 0.60), (1, 0.68), (2, 0.76), (3, 0.84), (4, 0.92), (5, 1.0)]
)
def test_missing_post_samples_cost_eight_hundredths_each(count: int, score: float) -> None:
    assert analyze(PRE, posts(count)).data_quality.score == score


def test_a_post_sample_without_timestamp_costs_025_and_blocks_ok() -> None:
    result = analyze(PRE, (*posts(4), sample(None)))
    assert result.data_quality.issues == ("missing_post_timestamps",)
    assert result.data_quality.score == 0.75
    assert result.verdict == "warning"


def test_post_metrics_older_than_ten_minutes_at_analysis_time_are_stale() -> None:
    result = analyze(PRE, posts(5), analyzed_at=T0 + timedelta(seconds=300 + 660))
    assert result.data_quality.issues == ("stale_post_metrics age_seconds=660",)
    assert result.data_quality.score == 0.75
    assert result.verdict == "warning"


def test_staleness_allows_ten_sequences_when_sequences_are_longer_than_a_minute() -> None:
    post = tuple(sample(120.0 * (i + 1)) for i in range(5))
    fresh = analyze(PRE, post, seconds=120, analyzed_at=T0 + timedelta(seconds=600 + 1100))
    stale = analyze(PRE, post, seconds=120, analyzed_at=T0 + timedelta(seconds=600 + 1300))
    assert fresh.data_quality.issues == ()
    assert stale.data_quality.issues == ("stale_post_metrics age_seconds=1300",)


def test_post_metrics_from_after_the_analysis_time_are_in_the_future() -> None:
    result = analyze(PRE, posts(5), analyzed_at=T0 + timedelta(seconds=300 - 31))
    assert result.data_quality.issues == ("incoherent_timestamps post_in_future",)
    assert result.data_quality.score == 0.80


def test_gap_threshold_is_one_point_eight_sequences() -> None:
    within = tuple(sample(at) for at in (120, 240, 455, 575, 695))  # 215 s < 216 s
    beyond = tuple(sample(at) for at in (120, 240, 457, 577, 697))  # 217 s > 216 s
    assert analyze(PRE, within, seconds=120).data_quality.issues == ()
    assert analyze(PRE, beyond, seconds=120).data_quality.issues == ("sequence_gaps count=1",)


def test_gap_penalty_is_capped_at_025() -> None:
    post = tuple(sample(200.0 * (i + 1)) for i in range(6))
    quality = analyze(PRE, post, window=6).data_quality
    assert quality.issues == ("sequence_gaps count=5",)
    assert quality.score == 0.75


def test_a_three_sequence_window_needs_only_three_post_samples() -> None:
    result = analyze(PRE, posts(3), window=3)
    assert result.data_quality.issues == ()
    assert result.verdict == "ok"
    assert analyze(PRE, posts(2), window=3).data_quality.issues == ("min_post_samples 2/3",)


# --- §7.5 confidence examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "score", "expected"),
    [
        (0.9, 1.0, 0.90),
        (0.9, 0.9, 0.85),
        (0.55, 0.84, 0.51),
        (0.4, 0.6, 0.32),
        (0.4, 0.4, 0.28),
        (0.85, 0.5, 0.55),
        (0.4, 0.0, 0.20),
    ],
)
def test_confidence_examples(base: float, score: float, expected: float) -> None:
    assert adjust_confidence(base, score) == expected


def test_confidence_is_capped_at_045_below_a_quality_of_04() -> None:
    assert adjust_confidence(0.9, 0.39) == 0.45


# --- defect 1: one parseable detail format -------------------------------------------------------------


def test_details_list_flags_then_score_then_issues_then_the_ok_block() -> None:
    broken = analyze(PRE, posts(3, lat=[300, 310, 120], err=[0.02, 0.002, 0.002], rps=[60, 60, 100]))
    assert broken.details == (
        "latency_p95 exceed_ratio 66.7% > 20% (secured 270)",
        "error_rate exceed_ratio 33.3% > 5% (secured 0.009)",
        "requests_per_sec drop_ratio 66.7% > 20% (drop_threshold 20%)",
        "data_quality_score 0.84",
        "data_quality_issue min_post_samples 3/5",
    )
    blocked = analyze(PRE, posts(4, cpu=[0.3, 0.3, 0.3, 0.3]))
    assert blocked.details[-1] == "ok_verdict_blocked_by_data_quality"


def test_every_detail_round_trips_through_parse_and_format() -> None:
    results = [
        analyze(PRE, posts(15, err=[0.02] + [0.002] * 14, mem=[0.9] * 15), window=15),
        analyze(PRE, posts(3, lat=[300, 310, 120], rps=[60, 60, 100], cpu=[0.8, 0.9, 0.3])),
        analyze(PRE, (sample(None), *posts(2)), analyzed_at=T0 + timedelta(hours=2)),
    ]
    details = [d for r in results for d in r.details]
    assert len(details) > 10
    for detail in details:
        assert format_detail(parse_detail(detail)) == detail


def test_parsed_flags_carry_the_comparison_numbers() -> None:
    result = analyze(PRE, posts(5, lat=[300, 300, 120, 120, 120], rps=[50, 50, 50, 100, 100]))
    parsed = {p["metric"]: p for p in map(parse_detail, result.details) if "metric" in p}
    assert parsed["latency_p95"] == {
        "kind": "exceed_ratio",
        "metric": "latency_p95",
        "exceed_ratio": pytest.approx(0.4),
        "tolerance": pytest.approx(0.2),
        "secured_threshold": 270.0,
    }
    assert parsed["requests_per_sec"] == {
        "kind": "drop_ratio",
        "metric": "requests_per_sec",
        "exceed_ratio": pytest.approx(0.6),
        "tolerance": pytest.approx(0.2),
        "drop_threshold": pytest.approx(0.2),
    }
    assert parse_detail("data_quality_score 0.84") == {"kind": "data_quality_score", "score": 0.84}
    assert parse_detail("data_quality_issue sequence_gaps count=2") == {
        "kind": "data_quality_issue",
        "issue": "sequence_gaps count=2",
    }


@pytest.mark.parametrize(
    "detail",
    [
        "latency_p95 unstable in 40% of samples (limit 20%)",
        "latency_p95 > 300ms",
        "data_quality_score high",
        "",
    ],
)
def test_other_detail_wordings_are_rejected(detail: str) -> None:
    with pytest.raises(ValueError, match="unrecognised"):
        parse_detail(detail)


# --- defect 2: the tolerance edge ----------------------------------------------------------------------


def test_exceed_ratio_equal_to_tolerance_fails_nothing_and_raises_no_hint() -> None:
    latency = analyze(PRE, posts(5, lat=[300, 120, 120, 120, 120]))
    assert comparison(latency, "latency_p95").exceed_ratio == comparison(latency, "latency_p95").tolerance
    assert (latency.verdict, latency.hints) == ("ok", ())
    error = analyze(PRE, posts(20, err=[0.02] + [0.002] * 19), window=20)
    assert comparison(error, "error_rate").exceed_ratio == comparison(error, "error_rate").tolerance
    assert (error.verdict, error.hints) == ("ok", ())


# --- defect 4: the analysis time is an input -----------------------------------------------------------


def test_old_samples_analysed_at_their_own_time_are_not_stale() -> None:
    then = datetime(2020, 1, 1, tzinfo=UTC)
    pre = (Sample(then, 100, 120, 0.002, 0.3, 0.4),)
    post = tuple(Sample(then + timedelta(minutes=i + 1), 100, 120, 0.002, 0.3, 0.4) for i in range(5))
    data = AnalysisInput(pre, post, 5, 60, analyzed_at=then + timedelta(minutes=6))
    result = OriginalV2Policy().analyze(data)
    assert (result.verdict, result.data_quality.issues) == ("ok", ())
    assert evaluate_data_quality(data) == result.data_quality


def test_naive_timestamps_are_read_as_utc() -> None:
    naive = tuple(Sample(datetime(2026, 2, 19, 12, i + 1), 100, 120, 0.002, 0.3, 0.4) for i in range(5))
    data = AnalysisInput(PRE, naive, 5, 60, analyzed_at=datetime(2026, 2, 19, 12, 6))
    assert evaluate_data_quality(data).issues == ()


# --- result, model and registry ------------------------------------------------------------------------


def test_result_to_dict_is_json_ready_and_rounded() -> None:
    result = analyze(PRE, posts(15, err=[0.02] + [0.002] * 14), window=15)
    payload: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    assert payload["policy"] == "original-v2"
    assert payload["verdict"] == "rollback_recommended"
    error = next(c for c in payload["comparisons"] if c["metric"] == "error_rate")
    assert error["exceed_ratio"] == 0.066667
    assert [h["code"] for h in payload["hints"]] == [
        "persistentCriticalThresholdBreach",
        "criticalVerdictRequiresInvestigation",
    ]
    assert payload["hints"][1]["composite_signals"] == ["error_rate"]


def test_analysis_input_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="window_sequences"):
        AnalysisInput(PRE, (), window_sequences=0, sequence_seconds=60, analyzed_at=T0)
    with pytest.raises(ValueError, match="sequence_seconds"):
        AnalysisInput(PRE, (), window_sequences=5, sequence_seconds=0, analyzed_at=T0)


def test_registry_serves_original_v2_by_name_and_evidence_v1_by_default() -> None:
    assert DEFAULT_POLICY == "evidence-v1"
    assert "original-v2" in POLICY_NAMES
    policy = get_policy("original-v2")
    assert policy.name == "original-v2"
    assert (
        policy.analyze(AnalysisInput(PRE, posts(5), 5, 60, T0 + timedelta(minutes=6))).policy == "original-v2"
    )


def test_unknown_policy_name_is_rejected_with_the_known_names() -> None:
    with pytest.raises(UnknownPolicyError, match="original-v2") as caught:
        get_policy("percentile-first")
    assert isinstance(caught.value, ValueError)
    assert "percentile-first" in str(caught.value)
