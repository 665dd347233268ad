"""Injectable regressions: what each kind does to the real traffic, and how a request selects one."""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RegressionKind(StrEnum):
    ERRORS = "errors"
    LATENCY = "latency"
    TRAFFIC_DROP = "traffic_drop"
    CPU = "cpu"
    MEMORY = "memory"


@dataclass(frozen=True, slots=True)
class MagnitudeSpec:
    default: float
    maximum: float
    meaning: str


# Every magnitude is >= 0; the maxima keep a typo from hanging or exhausting the process.
SPECS: dict[RegressionKind, MagnitudeSpec] = {
    RegressionKind.ERRORS: MagnitudeSpec(0.3, 1.0, "fraction of /api/work requests answered with 500"),
    RegressionKind.LATENCY: MagnitudeSpec(400.0, 30_000.0, "milliseconds added to each request"),
    RegressionKind.TRAFFIC_DROP: MagnitudeSpec(0.2, 1.0, "fraction of the configured rate still sent"),
    RegressionKind.CPU: MagnitudeSpec(40.0, 1_000.0, "milliseconds of CPU burnt by each request"),
    RegressionKind.MEMORY: MagnitudeSpec(0.6, 1.0, "fraction of the memory limit held as ballast"),
}


class InvalidFieldError(ValueError):
    """A field of an admin request body is unusable; ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_regression(body: Any) -> tuple[RegressionKind, float]:
    """Validate a ``{"kind": ..., "magnitude": ...}`` body, filling the kind's default magnitude."""
    if not isinstance(body, dict):
        raise InvalidFieldError("body", "must be a JSON object")
    unknown = sorted(set(body) - {"kind", "magnitude"})
    if unknown:
        raise InvalidFieldError(unknown[0], "unknown field")
    raw_kind = body.get("kind")
    if raw_kind is None:
        raise InvalidFieldError("kind", "is required")
    try:
        kind = RegressionKind(raw_kind)
    except ValueError:
        allowed = ", ".join(k.value for k in RegressionKind)
        raise InvalidFieldError("kind", f"must be one of {allowed}") from None
    spec = SPECS[kind]
    raw_magnitude = body.get("magnitude")
    if raw_magnitude is None:
        return kind, spec.default
    # bool is an int subclass; `true` as a magnitude is a mistake, not 1.0.
    if isinstance(raw_magnitude, bool) or not isinstance(raw_magnitude, int | float):
        raise InvalidFieldError("magnitude", "must be a number")
    magnitude = float(raw_magnitude)
    if not math.isfinite(magnitude) or not 0.0 <= magnitude <= spec.maximum:
        raise InvalidFieldError(
            "magnitude", f"must be between 0 and {spec.maximum:g} for {kind.value} ({spec.meaning})"
        )
    return kind, magnitude


def burn_cpu(seconds: float) -> None:
    """Spin on real hashing until this thread has used ``seconds`` of CPU."""
    deadline = time.thread_time() + seconds
    block = b"seqpulse" * 512
    while time.thread_time() < deadline:
        block = hashlib.sha256(block).digest() * 128


class Regressions:
    """The active regressions, at most one per kind, and the memory ballast they hold."""

    def __init__(self, memory_limit_bytes: int, *, rng: random.Random | None = None) -> None:
        self._memory_limit_bytes = memory_limit_bytes
        self._active: dict[RegressionKind, float] = {}
        self._ballast = b""
        self._rng = rng or random.Random()

    def set(self, kind: RegressionKind, magnitude: float) -> None:
        self._active[kind] = magnitude
        if kind is RegressionKind.MEMORY:
            self._ballast = b""  # release the old ballast before allocating the new one
            # A non-zero fill writes every page, so the ballast shows up in RSS rather than staying
            # lazily mapped.
            self._ballast = b"\x5a" * int(magnitude * self._memory_limit_bytes)

    def clear(self, kind: RegressionKind | None = None) -> None:
        if kind is None:
            self._active.clear()
        else:
            self._active.pop(kind, None)
        if RegressionKind.MEMORY not in self._active:
            self._ballast = b""

    def snapshot(self) -> dict[str, float]:
        return {kind.value: magnitude for kind, magnitude in self._active.items()}

    @property
    def ballast_bytes(self) -> int:
        return len(self._ballast)

    def should_fail(self) -> bool:
        fraction = self._active.get(RegressionKind.ERRORS, 0.0)
        return fraction > 0 and self._rng.random() < fraction

    @property
    def added_latency_seconds(self) -> float:
        return self._active.get(RegressionKind.LATENCY, 0.0) / 1000.0

    @property
    def cpu_burn_seconds(self) -> float:
        return self._active.get(RegressionKind.CPU, 0.0) / 1000.0

    @property
    def traffic_fraction(self) -> float:
        return self._active.get(RegressionKind.TRAFFIC_DROP, 1.0)
