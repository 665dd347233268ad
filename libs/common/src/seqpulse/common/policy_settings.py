"""Per-project analysis policy settings: the gateway validates them when saved, the analyzer applies them.

Shared because both sides need the same rules; errors name the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seqpulse.common.app_metrics import METRIC_NAMES as METRICS

# The policies the analyzer serves (its registry checks it serves exactly these).
KNOWN_POLICIES: tuple[str, ...] = ("evidence-v1", "original-v2")
# What decides a project's windows when it names no policy (docs/verdicts.md says why).
DEFAULT_POLICY = "evidence-v1"

Sensitivity = Literal["low", "medium", "high"]

# (alpha for a warning, alpha for a rollback), one-sided, per metric and per window segment.
# "low" raises fewer alarms and needs more evidence; "high" the reverse. Medium is what the
# evaluation corpus measures (docs/verdicts.md).
ALPHAS: Mapping[str, tuple[float, float]] = {
    "low": (0.002, 0.0005),
    "medium": (0.01, 0.002),
    "high": (0.05, 0.01),
}


class InvalidPolicySettingsError(ValueError):
    """A project's policy settings are unusable; ``field`` names the setting, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"settings.{field}: {reason}" if field else f"settings: {reason}")
        self.field = field
        self.reason = reason


class PolicySettings(BaseModel):
    """What a project may tune; every default is what docs/verdicts.md measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensitivity: Sensitivity = "medium"
    critical_metrics: tuple[str, ...] = ("error_rate", "requests_per_sec", "latency_p95")
    # Absolute limits: breaching one is a warning even when the baseline breached it too.
    error_rate_limit: float = Field(0.01, gt=0.0, le=1.0)
    latency_p95_limit_ms: float = Field(300.0, gt=0.0)
    latency_floor_ms: float = Field(50.0, ge=0.0)
    cpu_limit: float = Field(0.80, gt=0.0, le=1.0)
    memory_limit: float = Field(0.80, gt=0.0, le=1.0)
    # Practical margins: a change smaller than these does not matter, however significant.
    error_ratio: float = Field(2.0, gt=1.0)
    error_increase_floor: float = Field(0.005, ge=0.0, lt=1.0)
    latency_warn_ratio: float = Field(1.15, gt=1.0)
    latency_rollback_ratio: float = Field(2.0, gt=1.0)
    traffic_warn_drop: float = Field(0.20, gt=0.0, lt=1.0)
    traffic_rollback_drop: float = Field(0.50, gt=0.0, le=1.0)
    cpu_min_increase: float = Field(0.10, gt=0.0, le=1.0)
    cpu_warn_ratio: float = Field(1.5, gt=1.0)
    memory_min_increase: float = Field(0.10, gt=0.0, le=1.0)
    memory_leak_horizon_minutes: float = Field(120.0, gt=0.0)
    # Persistence: a rollback needs the change in at least this share of the judged sequences.
    persistence: float = Field(0.5, gt=0.0, le=1.0)
    min_sequences: int = Field(4, ge=2)
    # "ok" needs enough data to have caught a rollback-sized regression (80% power); these say how big.
    max_detectable_error_increase: float = Field(0.05, gt=0.0, le=1.0)
    max_detectable_traffic_drop: float = Field(0.5, gt=0.0, le=1.0)
    max_detectable_latency_ratio: float = Field(2.0, gt=1.0)
    # How the app measures: its sliding window, and whether post[0] (taken at the deploy finish,
    # so its window straddles the restart) is judged.
    app_window_seconds: float = Field(60.0, gt=0.0)
    exclude_warmup: bool = True

    @field_validator("critical_metrics", mode="before")
    @classmethod
    def _known_metrics(cls, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ValueError("must be a list of metric names")
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric {unknown[0]!r}; known: {', '.join(METRICS)}")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _ordered(self) -> PolicySettings:
        if self.latency_rollback_ratio <= self.latency_warn_ratio:
            raise _Crossed("latency_rollback_ratio", "must be greater than latency_warn_ratio")
        if self.traffic_rollback_drop <= self.traffic_warn_drop:
            raise _Crossed("traffic_rollback_drop", "must be greater than traffic_warn_drop")
        if self.latency_floor_ms >= self.latency_p95_limit_ms:
            raise _Crossed("latency_floor_ms", "must be below latency_p95_limit_ms")
        return self

    @property
    def alpha_warn(self) -> float:
        return ALPHAS[self.sensitivity][0]

    @property
    def alpha_fail(self) -> float:
        return ALPHAS[self.sensitivity][1]


class _Crossed(ValueError):
    """A cross-field rule broken; carries the field to blame, since pydantic would blame none."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


_DEFAULT = PolicySettings()


def load_settings(raw: Mapping[str, Any] | None) -> PolicySettings:
    """Validate a project's settings; InvalidPolicySettingsError names the first bad field."""
    if not raw:
        return _DEFAULT
    if not isinstance(raw, Mapping):
        raise InvalidPolicySettingsError("", "must be an object")
    try:
        return PolicySettings.model_validate(dict(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        context = error.get("ctx") or {}
        cause = context.get("error")
        if isinstance(cause, _Crossed):
            raise InvalidPolicySettingsError(cause.field, str(cause)) from None
        field = ".".join(str(part) for part in error["loc"])
        reason = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown setting"
        raise InvalidPolicySettingsError(field, reason[:1].lower() + reason[1:]) from None
