"""Policy original-v2: the original SeqPulse v2 verdict, data-quality score and details, minus defects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import fmean
from types import MappingProxyType
from typing import Any, NamedTuple

from seqpulse.analyzer.model import (
    METRICS,
    AnalysisInput,
    AnalysisResult,
    DataQuality,
    MetricComparison,
    Sample,
)
from seqpulse.analyzer.policies.original_v2_hints import MIN_TRAFFIC_THRESHOLD, generate_hints, scaled
from seqpulse.analyzer.sdh import AuditEntry

NAME = "original-v2"

SECURED_THRESHOLD_FACTOR = 0.9
THRESHOLD_METRICS = ("latency_p95", "error_rate", "cpu_usage", "memory_usage")
SECURED_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {metric: scaled(metric, SECURED_THRESHOLD_FACTOR) for metric in THRESHOLD_METRICS}
)
# Max share of post samples allowed above the secured threshold before the metric fails.
TOLERANCES: Mapping[str, float] = MappingProxyType(
    {"latency_p95": 0.20, "error_rate": 0.05, "cpu_usage": 0.20, "memory_usage": 0.10}
)
RPS_DROP_THRESHOLD = 0.20  # a post sample "drops" when it is more than 20 % under the PRE mean
RPS_PERSISTENCE_TOLERANCE = 0.20

MIN_POST_SAMPLES = 5  # capped by the window: a 3-sequence window cannot deliver 5 samples
MAX_POST_FRESHNESS_SECONDS = 600
STALE_AFTER_SEQUENCES = 10
SEQUENCE_GAP_FACTOR = 1.8
MAX_CLOCK_SKEW_SECONDS = 30
MIN_DATA_QUALITY_FOR_OK = 0.9
OK_BLOCKING_ISSUE_PREFIXES = (
    "min_post_samples",
    "missing_pre_samples",
    "missing_post_timestamps",
    "incoherent_timestamps",
    "stale_post_metrics",
)

OK, WARNING, ROLLBACK = "ok", "warning", "rollback_recommended"
SUMMARY_OK = "No significant issues detected"
SUMMARY_OK_BLOCKED = "Data quality insufficient to confirm deployment health"
SUMMARY_CRITICAL = "Critical threshold violations detected"
# Sic: the original says "Multiple" for exactly one failure, and clients match on the string.
SUMMARY_ONE_NON_CRITICAL = "Multiple non-critical threshold violations detected"
SUMMARY_NON_CRITICAL = "Multiple non-critical regressions detected"
SUMMARY_INSUFFICIENT = "Insufficient metrics to assess deployment health"
OK_BLOCKED_DETAIL = "ok_verdict_blocked_by_data_quality"


class Decision(NamedTuple):
    verdict: str
    base_confidence: float
    summary: str


def min_post_samples(window_sequences: int) -> int:
    return max(1, min(MIN_POST_SAMPLES, window_sequences))


def stale_after_seconds(sequence_seconds: int) -> int:
    return max(MAX_POST_FRESHNESS_SECONDS, STALE_AFTER_SEQUENCES * sequence_seconds)


def evaluate_data_quality(data: AnalysisInput) -> DataQuality:
    """§7.4: start at 1.0 and subtract a penalty per issue; "now" is data.analyzed_at, never the clock."""
    score, issues = 1.0, []
    minimum = min_post_samples(data.window_sequences)
    count = len(data.post)
    if count < minimum:
        score -= min(0.4, 0.4 * (minimum - count) / minimum)
        issues.append(f"min_post_samples {count}/{minimum}")
    if not data.pre:
        score -= 0.2
        issues.append("missing_pre_samples")
    pre_times = _timestamps(data.pre)
    post_times = _timestamps(data.post)
    if len(post_times) != count:
        score -= 0.25
        issues.append("missing_post_timestamps")
    skew = timedelta(seconds=MAX_CLOCK_SKEW_SECONDS)
    if pre_times and post_times and post_times[0] < pre_times[0] - skew:
        score -= 0.25
        issues.append("incoherent_timestamps post_before_pre")
    if post_times:
        now = _as_utc(data.analyzed_at)
        age = (now - post_times[-1]).total_seconds()
        stale_after = stale_after_seconds(data.sequence_seconds)
        if age > stale_after:
            score -= min(0.25, 0.25 * min(1.0, age / stale_after))
            issues.append(f"stale_post_metrics age_seconds={int(age)}")
        if post_times[-1] > now + skew:
            score -= 0.2
            issues.append("incoherent_timestamps post_in_future")
        gap_seconds = data.sequence_seconds * SEQUENCE_GAP_FACTOR
        gaps = sum(1 for a, b in pairwise(post_times) if (b - a).total_seconds() > gap_seconds)
        if gaps:
            score -= min(0.25, 0.25 * min(1.0, gaps / max(minimum - 1, 1)))
            issues.append(f"sequence_gaps count={gaps}")
    score = round(max(0.0, min(1.0, score)), 2)
    blocks_ok = score < MIN_DATA_QUALITY_FOR_OK or any(
        issue.startswith(OK_BLOCKING_ISSUE_PREFIXES) for issue in issues
    )
    return DataQuality(score=score, issues=tuple(issues), blocks_ok=blocks_ok)


def adjust_confidence(base: float, data_quality_score: float) -> float:
    """§7.5: scale by quality, cap low-quality verdicts, keep within [0.20, 0.95]."""
    adjusted = base * (0.5 + 0.5 * data_quality_score)
    if data_quality_score < 0.4:
        adjusted = min(adjusted, 0.45)
    elif data_quality_score < 0.6:
        adjusted = min(adjusted, 0.55)
    return round(max(0.2, min(0.95, adjusted)), 2)


def phase_means(samples: Iterable[Sample]) -> dict[str, float]:
    rows = tuple(samples)
    return {metric: fmean(s.value(metric) for s in rows) for metric in METRICS}


def compare_metrics(
    post: tuple[Sample, ...], pre_agg: Mapping[str, float], post_agg: Mapping[str, float]
) -> tuple[MetricComparison, ...]:
    """§7.3 steps 3-7: the share of post samples beyond each secured threshold, against its tolerance."""

    def judged(
        metric: str, threshold: float, beyond: int, tolerance: float, critical: bool
    ) -> MetricComparison:
        ratio = beyond / len(post)
        return MetricComparison(
            metric,
            pre_agg[metric],
            post_agg[metric],
            threshold,
            ratio,
            tolerance,
            ratio > tolerance,
            critical,
        )

    comparisons = [
        judged(
            metric,
            SECURED_THRESHOLDS[metric],
            sum(1 for s in post if s.value(metric) > SECURED_THRESHOLDS[metric]),
            TOLERANCES[metric],
            critical=metric == "error_rate",
        )
        for metric in THRESHOLD_METRICS
    ]
    baseline = pre_agg["requests_per_sec"]
    if baseline >= MIN_TRAFFIC_THRESHOLD:
        drops = sum(1 for s in post if (baseline - s.requests_per_sec) / baseline > RPS_DROP_THRESHOLD)
        threshold = baseline * (1 - RPS_DROP_THRESHOLD)
        comparisons.append(judged("requests_per_sec", threshold, drops, RPS_PERSISTENCE_TOLERANCE, True))
    else:
        # Too little PRE traffic to call a drop: rps is reported but neither judged nor critical.
        observed = post_agg["requests_per_sec"]
        comparisons.append(
            MetricComparison("requests_per_sec", baseline, observed, None, None, None, False, False)
        )
    return tuple(comparisons)


def decide_verdict(comparisons: Iterable[MetricComparison], quality: DataQuality) -> Decision:
    """§7.6: any critical failure rolls back; otherwise count non-critical failures."""
    failed = [c for c in comparisons if c.failed]
    if not failed:
        if quality.blocks_ok:
            return Decision(WARNING, 0.55, SUMMARY_OK_BLOCKED)
        return Decision(OK, 0.90, SUMMARY_OK)
    if any(c.critical for c in failed):
        return Decision(ROLLBACK, 0.85, SUMMARY_CRITICAL)
    if len(failed) == 1:
        return Decision(WARNING, 0.70, SUMMARY_ONE_NON_CRITICAL)
    return Decision(WARNING, 0.68, SUMMARY_NON_CRITICAL)


class OriginalV2Policy:
    """The original engine as a pure function of its input; it has fixed thresholds and ignores settings."""

    name: str = NAME

    def analyze(self, data: AnalysisInput) -> AnalysisResult:
        quality = evaluate_data_quality(data)
        if not data.pre or not data.post:
            return AnalysisResult(
                policy=self.name,
                verdict=WARNING,
                confidence=adjust_confidence(0.40, quality.score),
                summary=SUMMARY_INSUFFICIENT,
                details=quality_details(quality),
                hints=(),
                data_quality=quality,
                comparisons=(),
                insufficient_data=True,
            )
        pre_agg, post_agg = phase_means(data.pre), phase_means(data.post)
        comparisons = compare_metrics(data.post, pre_agg, post_agg)
        decision = decide_verdict(comparisons, quality)
        flags = tuple(format_flag(c) for c in comparisons if c.failed)
        blocked = (OK_BLOCKED_DETAIL,) if decision.summary == SUMMARY_OK_BLOCKED else ()
        audit = {
            c.metric: AuditEntry(c.threshold, c.exceed_ratio, c.tolerance)
            for c in comparisons
            if c.threshold is not None and c.exceed_ratio is not None and c.tolerance is not None
        }
        return AnalysisResult(
            policy=self.name,
            verdict=decision.verdict,
            confidence=adjust_confidence(decision.base_confidence, quality.score),
            summary=decision.summary,
            details=flags + quality_details(quality) + blocked,
            hints=generate_hints(pre_agg, post_agg, audit, quality.score),
            data_quality=quality,
            comparisons=comparisons,
            insufficient_data=False,
        )


def format_flag(comparison: MetricComparison) -> str:
    """The detail line of a failed metric, in the one format the original's tests and i18n parser read."""
    if comparison.exceed_ratio is None or comparison.tolerance is None or comparison.threshold is None:
        raise ValueError(f"{comparison.metric} was not judged, so it has no flag")
    if comparison.metric == "requests_per_sec":
        fields: dict[str, Any] = {"kind": "drop_ratio", "drop_threshold": RPS_DROP_THRESHOLD}
    else:
        fields = {"kind": "exceed_ratio", "secured_threshold": comparison.threshold}
    fields.update(
        metric=comparison.metric, exceed_ratio=comparison.exceed_ratio, tolerance=comparison.tolerance
    )
    return format_detail(fields)


def quality_details(quality: DataQuality) -> tuple[str, ...]:
    issues = (format_detail({"kind": "data_quality_issue", "issue": issue}) for issue in quality.issues)
    return (format_detail({"kind": "data_quality_score", "score": quality.score}), *issues)


_NUMBER = r"\d+(?:\.\d+)?"
_EXCEED = re.compile(
    rf"(?P<metric>[a-z0-9_]+) exceed_ratio (?P<ratio>{_NUMBER})% > (?P<tol>{_NUMBER})% "
    r"\(secured (?P<secured>[0-9.e+-]+)\)"
)
_DROP = re.compile(
    rf"requests_per_sec drop_ratio (?P<ratio>{_NUMBER})% > (?P<tol>{_NUMBER})% "
    rf"\(drop_threshold (?P<drop>{_NUMBER})%\)"
)
_SCORE = re.compile(rf"data_quality_score (?P<score>{_NUMBER})")


def parse_detail(detail: str) -> dict[str, Any]:
    """Read one detail line back into its fields; ratios come back as fractions. ValueError if unknown."""
    if detail == OK_BLOCKED_DETAIL:
        return {"kind": OK_BLOCKED_DETAIL}
    if detail.startswith("data_quality_issue "):
        return {"kind": "data_quality_issue", "issue": detail.removeprefix("data_quality_issue ")}
    if match := _SCORE.fullmatch(detail):
        return {"kind": "data_quality_score", "score": float(match["score"])}
    if match := _DROP.fullmatch(detail):
        return {
            "kind": "drop_ratio",
            "metric": "requests_per_sec",
            "exceed_ratio": float(match["ratio"]) / 100,
            "tolerance": float(match["tol"]) / 100,
            "drop_threshold": float(match["drop"]) / 100,
        }
    if match := _EXCEED.fullmatch(detail):
        return {
            "kind": "exceed_ratio",
            "metric": match["metric"],
            "exceed_ratio": float(match["ratio"]) / 100,
            "tolerance": float(match["tol"]) / 100,
            "secured_threshold": float(match["secured"]),
        }
    raise ValueError(f"unrecognised verdict detail: {detail!r}")


def format_detail(fields: Mapping[str, Any]) -> str:
    """The inverse of parse_detail."""
    kind = fields["kind"]
    if kind == OK_BLOCKED_DETAIL:
        return OK_BLOCKED_DETAIL
    if kind == "data_quality_issue":
        return f"data_quality_issue {fields['issue']}"
    if kind == "data_quality_score":
        return f"data_quality_score {fields['score']:.2f}"
    ratios = f"{_percent(fields['exceed_ratio'])}% > {_percent(fields['tolerance'])}%"
    if kind == "drop_ratio":
        return f"requests_per_sec drop_ratio {ratios} (drop_threshold {_percent(fields['drop_threshold'])}%)"
    if kind == "exceed_ratio":
        return f"{fields['metric']} exceed_ratio {ratios} (secured {fields['secured_threshold']:.3g})"
    raise ValueError(f"unknown detail kind: {kind!r}")


def _percent(ratio: float) -> str:
    # One decimal at most: 1/15 reads 6.7 %, and 20.1 % never prints as "20% > 20%".
    return f"{round(ratio * 100, 1):g}"


def _timestamps(samples: Iterable[Sample]) -> list[datetime]:
    return sorted(_as_utc(s.collected_at) for s in samples if s.collected_at is not None)


def _as_utc(value: datetime) -> datetime:
    # Naive times are UTC, as the original assumed for database timestamps.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
