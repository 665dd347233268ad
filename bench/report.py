"""Figures out: percentiles, ratios, a short human table and the one `RESULT ` JSON line."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

RESULT_PREFIX = "RESULT "


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99 and max of a sample."""
    return {
        "n": float(len(values)),
        "mean": sum(values) / len(values) if values else math.nan,
        "p50": quantile(values, 0.50),
        "p95": quantile(values, 0.95),
        "p99": quantile(values, 0.99),
        "max": max(values) if values else math.nan,
    }


def ratio(ours: float, baseline: float) -> float:
    """ours / baseline; NaN when the baseline is zero or missing."""
    if not baseline or math.isnan(baseline):
        return math.nan
    return ours / baseline


def rounded(value: Any, digits: int = 6) -> Any:
    """Round floats (recursively) for the RESULT line; NaN and infinities become null."""
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item, digits) for item in value]
    return value


def fmt(value: float, unit: str = "", digits: int = 3) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def emit(bench: str, figures: dict[str, Any]) -> None:
    """The machine-readable line `run_all` collects: `RESULT {"bench": ..., ...}`."""
    print(RESULT_PREFIX + json.dumps({"bench": bench, **rounded(figures)}, sort_keys=True), flush=True)
