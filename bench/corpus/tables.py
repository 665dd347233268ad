"""Rates with 95% Wilson intervals, and plain-text tables for the evaluation report."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from seqpulse.analyzer.stats import wilson

OK, WARNING, ROLLBACK, INSUFFICIENT = "ok", "warning", "rollback", "insufficient"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One policy's answer on one scenario."""

    policy: str
    verdict: str  # ok | warning | rollback | insufficient (a warning marked insufficient_data)
    confidence: float
    seconds: float
    hint_metrics: frozenset[str]


@dataclass(frozen=True, slots=True)
class Rate:
    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.hits, self.n)

    def text(self) -> str:
        if not self.n:
            return "n/a"
        low, high = self.interval
        return f"{self.value * 100:5.1f}% [{low * 100:.1f}-{high * 100:.1f}] ({self.hits}/{self.n})"

    def short(self) -> str:
        return "n/a" if not self.n else f"{self.value * 100:.0f}%"

    def as_json(self) -> dict[str, float | int | None]:
        low, high = self.interval
        value = self.value
        return {
            "rate": None if math.isnan(value) else round(value, 4),
            "low95": round(low, 4),
            "high95": round(high, 4),
            "hits": self.hits,
            "n": self.n,
        }


def rate(outcomes: Iterable[Outcome], hit: Callable[[Outcome], bool]) -> Rate:
    rows = list(outcomes)
    return Rate(sum(1 for o in rows if hit(o)), len(rows))


def quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)
    out = [f"\n{title}", "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)
