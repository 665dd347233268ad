"""Policy evidence-v1: counts for errors and traffic, ratios for latency, honest about too little data.

Each metric gets a one-sided test against a practical margin, on the whole window and on its second
half; a rollback also needs persistence and a critical metric. "ok" needs enough data to have caught
a rollback-sized regression; otherwise the verdict is a warning marked insufficient_data.
docs/verdicts.md explains every rule and shows what it achieves on a held-out corpus.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from seqpulse.analyzer.model import AnalysisInput, AnalysisResult
from seqpulse.analyzer.policies.evidence_errors import judge_errors
from seqpulse.analyzer.policies.evidence_hints import build_hints
from seqpulse.analyzer.policies.evidence_judgement import FAIL, INCONCLUSIVE, WARN, Judgement, format_detail
from seqpulse.analyzer.policies.evidence_leak import Leak, detect_leak
from seqpulse.analyzer.policies.evidence_levels import judge_latency, judge_usage
from seqpulse.analyzer.policies.evidence_traffic import judge_traffic
from seqpulse.analyzer.policies.evidence_window import Window, build_window
from seqpulse.common.policy_settings import PolicySettings, load_settings

NAME = "evidence-v1"
OK, WARNING, ROLLBACK = "ok", "warning", "rollback_recommended"
INSUFFICIENT_CONFIDENCE = 0.4  # "we cannot tell" is a statement about the data, not about the app


class EvidenceV1Policy:
    """Pure: same input, same verdict; no clock, no I/O. Settings come from AnalysisInput.settings."""

    name: str = NAME

    def analyze(self, data: AnalysisInput) -> AnalysisResult:
        settings = load_settings(data.settings)
        window = build_window(data, settings)
        critical = set(settings.critical_metrics)
        judgements: dict[str, Judgement] = {
            "error_rate": judge_errors(window, settings, "error_rate" in critical),
            "requests_per_sec": judge_traffic(window, settings, "requests_per_sec" in critical),
            "latency_p95": judge_latency(window, settings, "latency_p95" in critical),
            "cpu_usage": judge_usage(window, settings, "cpu_usage", "cpu_usage" in critical),
            "memory_usage": judge_usage(window, settings, "memory_usage", "memory_usage" in critical),
        }
        leak = detect_leak(window, settings)
        if leak is not None and leak.found:
            judgements["memory_usage"] = _with_leak(judgements["memory_usage"], leak)
        return _decide(judgements, leak, window, settings)


def _with_leak(memory: Judgement, leak: Leak) -> Judgement:
    status = FAIL if memory.comparison.critical else WARN
    if memory.status == FAIL:
        status = FAIL
    comparison = replace(memory.comparison, status=status, failed=True)
    extra = {"slope_per_minute": leak.slope_per_minute, "minutes_to_limit": leak.minutes_to_limit}
    return replace(
        memory,
        comparison=comparison,
        flags=memory.flags | {"leak"},
        p_value=min(memory.p_value, leak.p_value) if memory.status in (WARN, FAIL) else leak.p_value,
        summary=(
            f"memory rising {leak.slope_per_minute * 100:+.2f}pp/min, "
            f"limit in ~{leak.minutes_to_limit:.0f} min"
        ),
        extra={**memory.extra, **extra},
    )


def _decide(
    judgements: dict[str, Judgement], leak: Leak | None, window: Window, s: PolicySettings
) -> AnalysisResult:
    quality = window.quality
    decisive = [j for j in judgements.values() if j.status == FAIL and j.comparison.critical]
    flagged = [j for j in judgements.values() if j.status in (WARN, FAIL)]
    undetectable = [
        j.metric for j in judgements.values() if j.comparison.critical and j.status == INCONCLUSIVE
    ]
    reasons = [issue.split(" ")[0] for issue in window.blocking] + [f"{m}_undetectable" for m in undetectable]
    degraded = [j.metric for j in judgements.values() if "degraded_baseline" in j.flags]
    insufficient: dict[str, Any] | None = None
    if decisive:
        verdict, summary = ROLLBACK, "Rollback recommended: " + "; ".join(j.summary for j in decisive)
        evidence = 1.0 - max(j.p_value for j in decisive)
    elif flagged:
        verdict, summary = WARNING, "Warning: " + "; ".join(j.summary for j in flagged)
        evidence = 1.0 - min(j.p_value for j in flagged)
    elif reasons:
        verdict = WARNING
        summary = (
            f"Not enough data to decide ({', '.join(reasons)}); smallest detectable: {_mdes(judgements)}"
        )
        evidence = INSUFFICIENT_CONFIDENCE
        insufficient = {"reasons": reasons, "min_detectable": _mde_map(judgements), "quality": quality.score}
    else:
        verdict = OK
        summary = f"No regression detected; smallest detectable: {_mdes(judgements)}"
        powers = [j.power for j in judgements.values() if j.comparison.critical and j.power is not None]
        evidence = min(powers, default=0.8)
    if degraded:
        summary = f"Baseline already degraded before the deploy ({', '.join(degraded)}). {summary}"
        evidence *= 0.8
    confidence = round(max(0.2, min(0.99, max(0.2, evidence) * (0.5 + 0.5 * quality.score))), 2)
    if insufficient is not None:
        confidence = min(confidence, INSUFFICIENT_CONFIDENCE)
    details = [j.detail() for j in judgements.values()]
    if leak is not None:
        details.append(leak.detail)
    details.extend(_quality_details(window))
    details.append(_verdict_detail(verdict, insufficient is not None, decisive, reasons, s))
    hints = build_hints(
        judgements, leak, rollback=verdict == ROLLBACK, insufficient=insufficient, quality=quality.score
    )
    return AnalysisResult(
        policy=NAME,
        verdict=verdict,
        confidence=confidence,
        summary=summary,
        details=tuple(details),
        hints=hints,
        data_quality=quality,
        comparisons=tuple(j.comparison for j in judgements.values()),
        insufficient_data=insufficient is not None,
    )


def _mde_map(judgements: dict[str, Judgement]) -> dict[str, float | None]:
    return {m: j.comparison.min_detectable for m, j in judgements.items()}


def _mdes(judgements: dict[str, Judgement]) -> str:
    """The smallest change each user-facing test could have caught (80% power), in its own unit."""

    def text(metric: str, fmt: str, scale: float) -> str:
        value = judgements[metric].comparison.min_detectable
        if value is None or not math.isfinite(value):
            return f"{_LABELS[metric]} not measurable"
        return f"{_LABELS[metric]} {fmt.format(value * scale)}"

    return ", ".join(
        (
            text("error_rate", "+{:.2f}pp", 100),
            text("requests_per_sec", "{:.0f}%", 100),
            text("latency_p95", "x{:.2f}", 1),
        )
    )


_LABELS = {"error_rate": "error rate", "requests_per_sec": "traffic", "latency_p95": "latency p95"}


def _quality_details(window: Window) -> list[str]:
    q = window.quality
    judged = f"{q.usable_post_samples}/{q.expected_post_samples}"
    lines = [
        format_detail(
            "data_quality",
            "score",
            (("score", f"{q.score:.2f}"), ("judged", judged), ("warmup", str(window.warmup))),
        )
    ]
    for issue in q.issues:
        name, *fields = issue.split(" ")
        tokens = tuple((key, value) for key, _, value in (f.partition("=") for f in fields))
        lines.append(format_detail("data_quality", name, tokens))
    return lines


def _verdict_detail(
    verdict: str, insufficient: bool, decisive: list[Judgement], reasons: list[str], s: PolicySettings
) -> str:
    tokens = [
        ("policy", NAME),
        ("sensitivity", s.sensitivity),
        ("alpha_warn", f"{s.alpha_warn:g}"),
        ("alpha_fail", f"{s.alpha_fail:g}"),
        ("comparison", "pre_post"),
    ]
    if decisive:
        tokens.append(("decided_by", ",".join(j.metric for j in decisive)))
    if insufficient:
        tokens.append(("reasons", ",".join(reasons)))
    return format_detail("verdict", "insufficient_data" if insufficient else verdict, tuple(tokens))
