"""The app-side metrics contract: `{"metrics": {five numbers}}`, validated with a reason per field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METRIC_NAMES = ("requests_per_sec", "latency_p95", "error_rate", "cpu_usage", "memory_usage")
_FRACTIONS = frozenset({"error_rate", "cpu_usage", "memory_usage"})


class InvalidMetrics(ValueError):
    """The app answered, but not with five valid metrics; `field` names the first offending one."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AppMetrics:
    requests_per_sec: float
    latency_p95: float
    error_rate: float
    cpu_usage: float
    memory_usage: float


def parse_app_metrics(body: Any) -> AppMetrics:
    """Validate an endpoint's JSON body; units: rps ≥ 0, latency ms ≥ 0, the rest fractions 0..1."""
    if not isinstance(body, dict):
        raise InvalidMetrics("body", "must be a JSON object")
    metrics = body.get("metrics", {})
    if not isinstance(metrics, dict):
        raise InvalidMetrics("metrics", "must be an object")
    for name in METRIC_NAMES:
        if name not in metrics:
            raise InvalidMetrics(f"metrics.{name}", "is missing")
    try:
        return metric_values(metrics)
    except InvalidMetrics as exc:
        raise InvalidMetrics(f"metrics.{exc.field}", exc.reason) from None


def metric_values(raw: Mapping[str, Any]) -> AppMetrics:
    """The five values of a mapping that has them all; `field` of an error is the metric's name."""
    values: dict[str, float] = {}
    for name in METRIC_NAMES:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidMetrics(name, "must be a finite number")
        if name in _FRACTIONS and not 0.0 <= value <= 1.0:
            raise InvalidMetrics(name, "must be a fraction between 0 and 1")
        if value < 0:
            raise InvalidMetrics(name, "must be >= 0")
        values[name] = float(value)
    return AppMetrics(**values)
