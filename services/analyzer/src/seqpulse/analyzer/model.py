"""Inputs and outputs shared by every analysis policy: samples in, verdict, hints and evidence out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

METRICS: tuple[str, ...] = ("requests_per_sec", "latency_p95", "error_rate", "cpu_usage", "memory_usage")

# Keys every hint adds to the original's audit_data; no metric or audit key uses these names.
EVIDENCE_KEYS: frozenset[str] = frozenset({"baseline", "observed"})

_JSON_DECIMALS = 6  # enough for error rates of 1e-4 and ratios like 1/15 without float noise


def _empty_settings() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Sample:
    collected_at: datetime | None
    requests_per_sec: float
    latency_p95: float
    error_rate: float
    cpu_usage: float
    memory_usage: float
    sequence_index: int | None = None

    def value(self, metric: str) -> float:
        if metric not in METRICS:
            raise KeyError(metric)
        return float(getattr(self, metric))


@dataclass(frozen=True, slots=True)
class AnalysisInput:
    pre: tuple[Sample, ...]
    post: tuple[Sample, ...]
    window_sequences: int
    sequence_seconds: int
    # The caller's clock, so that "stale" and "in the future" are reproducible and testable.
    analyzed_at: datetime
    settings: Mapping[str, Any] = field(default_factory=_empty_settings)

    def __post_init__(self) -> None:
        if self.window_sequences < 1:
            raise ValueError(f"window_sequences must be >= 1, got {self.window_sequences}")
        if self.sequence_seconds < 1:
            raise ValueError(f"sequence_seconds must be >= 1, got {self.sequence_seconds}")


@dataclass(frozen=True, slots=True)
class DataQuality:
    score: float
    issues: tuple[str, ...]
    blocks_ok: bool
    # Optional, for policies that judge a subset of the samples (None: not reported).
    usable_post_samples: int | None = None
    expected_post_samples: int | None = None


@dataclass(frozen=True, slots=True)
class Hint:
    code: str
    metric: str
    severity: str
    title: str
    diagnosis: str
    suggested_actions: tuple[str, ...]
    observed_value: float | None
    threshold: float | None
    secured_threshold: float | None
    exceed_ratio: float | None
    tolerance: float | None
    confidence: float
    evidence: Mapping[str, Any]
    composite_signals: tuple[str, ...] = ()

    @property
    def audit_data(self) -> dict[str, Any]:
        """The original's audit_data: the evidence without the baseline/observed means."""
        return {key: value for key, value in self.evidence.items() if key not in EVIDENCE_KEYS}


@dataclass(frozen=True, slots=True)
class MetricComparison:
    metric: str
    baseline: float | None
    observed: float | None
    threshold: float | None
    exceed_ratio: float | None
    tolerance: float | None
    failed: bool
    critical: bool
    # Optional evidence of statistical policies; original-v2 leaves them unset.
    status: str | None = None  # pass | warn | fail | inconclusive | skipped
    test: str | None = None
    change: float | None = None  # ratio (traffic, latency) or difference (error rate, CPU, memory)
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    min_detectable: float | None = None  # smallest change detectable with 80% power, same unit as change
    evidence: Mapping[str, Any] = field(default_factory=_empty_settings)


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    policy: str
    verdict: str
    confidence: float
    summary: str
    details: tuple[str, ...]
    hints: tuple[Hint, ...]
    data_quality: DataQuality
    comparisons: tuple[MetricComparison, ...]
    insufficient_data: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: tuples become lists, floats are rounded, non-finite floats become None."""
        return {
            "policy": self.policy,
            "verdict": self.verdict,
            "confidence": _jsonable(self.confidence),
            "summary": self.summary,
            "details": list(self.details),
            "hints": [_jsonable(_fields(hint)) for hint in self.hints],
            "data_quality": _jsonable(_fields(self.data_quality)),
            "comparisons": [_jsonable(_fields(comparison)) for comparison in self.comparisons],
            "insufficient_data": self.insufficient_data,
        }


class Policy(Protocol):
    name: str

    def analyze(self, data: AnalysisInput) -> AnalysisResult: ...


def _fields(obj: Hint | DataQuality | MetricComparison) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return round(value, _JSON_DECIMALS) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON-ready: {type(value).__name__}")
