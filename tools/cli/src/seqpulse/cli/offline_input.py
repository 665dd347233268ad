"""The input of `seqpulse analyze`: recorded samples as JSON, validated with errors that name the field.

One analysis is `{"id"?, "pre": [sample], "post": [sample], "analyzed_at"?, "window_sequences"?,
"sequence_seconds"?, "policy"?, "settings"?}`; a sample is `{"timestamp", "requests_per_sec",
"latency_p95", "error_rate", "cpu_usage", "memory_usage"}`. The file holds one analysis or a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seqpulse.analyzer.model import AnalysisInput, Sample
from seqpulse.analyzer.policies import POLICY_NAMES
from seqpulse.common.app_metrics import METRIC_NAMES, InvalidMetrics, metric_values
from seqpulse.common.policy_settings import InvalidPolicySettingsError, load_settings

ANALYSIS_FIELDS = frozenset(
    {"id", "pre", "post", "analyzed_at", "window_sequences", "sequence_seconds", "policy", "settings"}
)
SAMPLE_FIELDS = frozenset({"timestamp", *METRIC_NAMES})
DEFAULT_SEQUENCE_SECONDS = 60


class InputError(ValueError):
    """Unusable input; the message starts with the path of the offending field."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OfflineAnalysis:
    id: Any
    policy: str
    data: AnalysisInput


def parse_document(document: Any, default_policy: str) -> list[OfflineAnalysis]:
    """Every analysis in the document, all validated before any is run."""
    if isinstance(document, list):
        if not document:
            raise InputError("input", "is an empty list")
        return [parse_analysis(item, f"input[{i}]", default_policy) for i, item in enumerate(document)]
    return [parse_analysis(document, "input", default_policy)]


def parse_analysis(raw: Any, path: str, default_policy: str) -> OfflineAnalysis:
    if not isinstance(raw, Mapping):
        raise InputError(path, "must be an object")
    unknown = sorted(set(raw) - ANALYSIS_FIELDS)
    if unknown:
        raise InputError(f"{path}.{unknown[0]}", "unknown field")
    identifier = raw.get("id")
    if identifier is not None and (isinstance(identifier, bool) or not isinstance(identifier, str | int)):
        raise InputError(f"{path}.id", "must be a string or an integer")
    pre = _samples(raw, "pre", path)
    post = _samples(raw, "post", path)
    seconds = _positive_int(raw, "sequence_seconds", path, DEFAULT_SEQUENCE_SECONDS)
    window = _positive_int(raw, "window_sequences", path, max(1, len(post)))
    policy = raw.get("policy", default_policy)
    if policy not in POLICY_NAMES:
        raise InputError(f"{path}.policy", f"unknown policy {policy!r}; known: {', '.join(POLICY_NAMES)}")
    settings = raw.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise InputError(f"{path}.settings", "must be an object")
    try:
        load_settings(settings)
    except InvalidPolicySettingsError as exc:
        raise InputError(f"{path}.settings.{exc.field}".rstrip("."), exc.reason) from None
    if "analyzed_at" in raw:
        analyzed_at = _timestamp(raw["analyzed_at"], f"{path}.analyzed_at")
    else:
        # Like the service, which analyses when the window closes: one sequence after the last sample.
        last = max((s.collected_at for s in (*post, *pre) if s.collected_at), default=None)
        if last is None:
            raise InputError(path, "needs at least one sample, or analyzed_at")
        analyzed_at = last + timedelta(seconds=seconds)
    data = AnalysisInput(tuple(pre), tuple(post), window, seconds, analyzed_at, settings=dict(settings))
    return OfflineAnalysis(identifier, str(policy), data)


def _samples(raw: Mapping[str, Any], key: str, path: str) -> list[Sample]:
    if key not in raw:
        raise InputError(f"{path}.{key}", "is required (a list of samples, possibly empty)")
    items = raw[key]
    if not isinstance(items, list):
        raise InputError(f"{path}.{key}", "must be a list of samples")
    return [_sample(item, f"{path}.{key}[{i}]") for i, item in enumerate(items)]


def _sample(raw: Any, path: str) -> Sample:
    if not isinstance(raw, Mapping):
        raise InputError(path, "must be an object")
    unknown = sorted(set(raw) - SAMPLE_FIELDS)
    if unknown:
        raise InputError(f"{path}.{unknown[0]}", "unknown field")
    missing = sorted(SAMPLE_FIELDS - set(raw))
    if missing:
        raise InputError(f"{path}.{missing[0]}", "is required")
    try:
        m = metric_values(raw)
    except InvalidMetrics as exc:
        raise InputError(f"{path}.{exc.field}", exc.reason) from None
    return Sample(
        _timestamp(raw["timestamp"], f"{path}.timestamp"),
        m.requests_per_sec,
        m.latency_p95,
        m.error_rate,
        m.cpu_usage,
        m.memory_usage,
    )


def _timestamp(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(path, "must be an ISO 8601 timestamp string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(path, f"not an ISO 8601 timestamp: {value!r}") from None
    # Without an offset the time is UTC, as in the service's database.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _positive_int(raw: Mapping[str, Any], key: str, path: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{path}.{key}", "must be an integer >= 1")
    return value
