"""evidence-v1: one metric's judgement, the window segments it is judged on, and the detail line format.

Detail lines have one grammar, so the UI and scripts can read them back (`parse_detail`):

    <subject> <test> key=value key=value ... [-> <status>[(critical)]]

`subject` is a metric name, `data_quality` or `verdict`; no key or value contains a space.
Example: `error_rate count_test post=12/3000 post_rate=0.40% baseline=3/3000 baseline_rate=0.10%
ratio=4.00 threshold=max(2x,+0.50pp) p=0.0012 persistent=4/5 mde=+0.62pp -> fail(critical)`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from seqpulse.analyzer.model import MetricComparison
from seqpulse.analyzer.policies.evidence_window import Point

PASS, WARN, FAIL, INCONCLUSIVE, SKIPPED = "pass", "warn", "fail", "inconclusive", "skipped"
STATUS_RANK: Mapping[str, int] = MappingProxyType({SKIPPED: 0, PASS: 0, INCONCLUSIVE: 1, WARN: 2, FAIL: 3})
LATE_SEGMENT_MIN = 6  # below this many judged sequences a "second half" is too short to judge alone
POWER = 0.8


@dataclass(frozen=True, slots=True)
class Judgement:
    """A metric's comparison plus what the verdict, the summary and the hints need from it."""

    comparison: MetricComparison
    tokens: tuple[tuple[str, str], ...]
    test: str
    summary: str = ""  # a short phrase for the verdict summary, e.g. "error rate 2.1% vs 0.1% before"
    flags: frozenset[str] = frozenset()  # degraded_baseline, absolute, relative, leak, improved, ...
    p_value: float = 1.0  # of the finding that set the status (1.0 when nothing was found)
    power: float | None = None  # chance of catching a rollback-sized change, for "ok" confidence
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.comparison.status or PASS

    @property
    def metric(self) -> str:
        return self.comparison.metric

    def detail(self) -> str:
        return format_detail(
            self.metric, self.test, self.tokens, self.status, critical=self.comparison.critical
        )


def segments(points: tuple[Point, ...]) -> tuple[tuple[str, tuple[Point, ...]], ...]:
    """The whole window, and its second half once it is long enough: a regression can start late.

    Each segment is tested at alpha / (number of segments), so looking twice costs no false alarms.
    """
    if len(points) >= LATE_SEGMENT_MIN:
        return (("all", points), ("late", points[len(points) // 2 :]))
    return (("all", points),)


PRIOR_DF = 4.0  # weight, in sequences' worth of degrees of freedom, of the typical spread


def needed(share: float, count: int, span: int) -> int:
    """How many sequences must show a change for it to persist: more than one burst can touch."""
    return max(span + 1, math.ceil(share * count - 1e-9))


def moderated(variance: float, effective: float, prior_sd: float) -> tuple[float, float]:
    """A spread estimated from few sequences, shrunk towards a typical one, and its degrees of freedom.

    Four judged sequences give a t test with 3 df, whose 99% quantile (4.5) makes any verdict
    "undetectable"; a prior worth PRIOR_DF df at a typical spread (a moderated t, as in limma) keeps
    short windows usable while a really noisy app still widens its own interval.
    """
    own = max(0.0, math.floor(effective + 1e-6) - 1.0)
    pooled = (PRIOR_DF * prior_sd**2 + own * variance) / (PRIOR_DF + own)
    return pooled, PRIOR_DF + own


def degrees(effective: float, fitted: int = 1) -> float:
    """Whole degrees of freedom (rounded down: conservative, and t quantiles stay cacheable)."""
    return max(1.0, float(math.floor(effective + 1e-6) - fitted))


def power_of(mde: float | None, target: float, spread: float) -> float | None:
    """Rough chance of catching an effect of size `target` given the effect detectable at 80% (`mde`),
    on a scale where the test statistic moves linearly (log ratio, or rate); `spread` is the
    scale's standard error."""
    if mde is None or spread <= 0 or not math.isfinite(spread):
        return None
    z80 = 0.8416212335729143
    z = (target - mde) / spread + z80
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def pct(value: float, digits: int = 2) -> str:
    return f"{value * 100:.{digits}f}%"


def pp(value: float) -> str:
    return f"{value * 100:+.2f}pp"


def num(value: float, digits: int = 2) -> str:
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def p_text(p: float) -> str:
    return f"{p:.2g}" if p < 0.001 else f"{p:.4f}"


def format_detail(
    subject: str,
    kind: str,
    tokens: tuple[tuple[str, str], ...] = (),
    status: str | None = None,
    *,
    critical: bool = False,
) -> str:
    for key, value in tokens:
        if " " in key or " " in value or "=" in key:
            raise ValueError(f"detail token {key}={value!r} would not parse back")
    line = " ".join([subject, kind, *(f"{key}={value}" for key, value in tokens)])
    if status is not None:
        line += f" -> {status}{'(critical)' if critical else ''}"
    return line


_DETAIL = re.compile(
    r"(?P<subject>[a-z_0-9]+) (?P<kind>[a-z_0-9]+)(?P<tokens>(?: [^ =]+=[^ ]*)*)"
    r"(?: -> (?P<status>[a-z_]+)(?P<critical>\(critical\))?)?"
)


def parse_detail(line: str) -> dict[str, Any]:
    """Read a detail line back: subject, kind, status, critical and the key=value fields as strings."""
    match = _DETAIL.fullmatch(line)
    if match is None:
        raise ValueError(f"unrecognised detail line: {line!r}")
    fields = dict(token.split("=", 1) for token in match["tokens"].split())
    return {
        "subject": match["subject"],
        "kind": match["kind"],
        "status": match["status"],
        "critical": bool(match["critical"]),
        "fields": fields,
    }


@dataclass(frozen=True, slots=True)
class SegmentResult:
    status: str
    p: float
    name: str
    persistent: int
    count: int
    scale: float  # what the metric needs again: error dispersion, traffic standard error


def pick(results: list[SegmentResult]) -> SegmentResult:
    """The strongest finding across segments; the whole window when nothing was found."""
    best = max(results, key=lambda r: (STATUS_RANK[r.status], -r.p))
    return best if best.status != PASS else results[0]


def unjudged(
    metric: str, baseline: float | None, critical: bool, reason: str, status: str = INCONCLUSIVE
) -> Judgement:
    comparison = MetricComparison(
        metric, baseline, None, None, None, None, False, critical, status=status, test="none"
    )
    return Judgement(comparison, (("reason", reason),), "none", f"{metric} not judged ({reason})")
