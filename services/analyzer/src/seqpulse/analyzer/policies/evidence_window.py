"""evidence-v1: which samples are evidence, how much each counts, and what is wrong with the rest.

Every sample is the app's own figure over its sliding window (60 s by default). A sample therefore
holds rps × window requests, and two samples closer than the window share requests: each counts
only the seconds since the previous one, so overlapping windows are never counted twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from seqpulse.analyzer.model import AnalysisInput, DataQuality, Sample
from seqpulse.common.policy_settings import PolicySettings

CLOCK_SKEW_SECONDS = 30.0
STALE_AFTER_SEQUENCES = 5
STALE_AFTER_MIN_SECONDS = 300.0
GAP_FACTOR = 1.8
MIN_COVERAGE_FOR_OK = 0.8
# Issues after which a window can still show a regression but can no longer vouch for "ok".
OK_BLOCKING = (
    "missing_pre_samples",
    "future_samples",
    "post_before_pre",
    "stale_post_samples",
    "missing_sequences",
    "too_few_sequences",
)


@dataclass(frozen=True, slots=True)
class Point:
    """One sample as evidence: the seconds of requests it adds and its time in the window."""

    sample: Sample
    seconds: float
    minutes: float  # since the first judged sample (0 when timestamps are missing: index order)
    requests: float  # rps x seconds: the requests this sample adds
    errors: float  # error rate x requests


@dataclass(frozen=True, slots=True)
class Window:
    pre: tuple[Point, ...]
    post: tuple[Point, ...]  # judged post samples, in time order
    warmup: int  # post samples left out because their window straddles the restart
    app_window: float
    span: int  # how many consecutive samples one app window of trouble (a 60 s burst) can touch
    quality: DataQuality
    blocking: tuple[str, ...]  # the issues that forbid "ok", for the summary

    @property
    def pre_seconds(self) -> float:
        return sum(p.seconds for p in self.pre)

    def effective(self, points: tuple[Point, ...]) -> float:
        """How many independent app windows these points amount to (overlap counted once)."""
        return max(1.0, sum(p.seconds for p in points) / self.app_window)


def as_utc(value: datetime) -> datetime:
    # Naive times are UTC, as the database and the CLI's ISO input without offset mean.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_window(data: AnalysisInput, settings: PolicySettings) -> Window:
    """Sort, deduplicate and screen the samples; score the data quality."""
    seq_s, app_window = float(data.sequence_seconds), settings.app_window_seconds
    now = as_utc(data.analyzed_at)
    issues: list[str] = []
    penalty = 0.0

    pre = sorted(data.pre, key=_sort_key)
    pre_points = _points(pre, app_window, app_window)
    if not pre:
        issues.append("missing_pre_samples")
        penalty += 0.30
    latest_pre = max((as_utc(s.collected_at) for s in pre if s.collected_at), default=None)

    post, dropped = _dedupe(sorted(data.post, key=_sort_key))
    if dropped:
        issues.append(f"duplicate_samples count={dropped}")
        penalty += min(0.15, 0.05 * dropped)
    untimed = sum(1 for s in post if s.collected_at is None)
    if untimed:
        issues.append(f"missing_post_timestamps count={untimed}")
        penalty += 0.20
    future = [
        s
        for s in post
        if s.collected_at and (as_utc(s.collected_at) - now).total_seconds() > CLOCK_SKEW_SECONDS
    ]
    if future:
        issues.append(f"future_samples count={len(future)}")
        penalty += 0.20
    early = [
        s
        for s in post
        if s.collected_at
        and latest_pre is not None
        and (latest_pre - as_utc(s.collected_at)).total_seconds() > CLOCK_SKEW_SECONDS
    ]
    if early:
        issues.append(f"post_before_pre count={len(early)}")
        penalty += 0.20
    excluded = {id(s) for s in (*future, *early)}
    kept = [s for s in post if id(s) not in excluded]

    timed = [as_utc(s.collected_at) for s in kept if s.collected_at]
    if timed:
        age = (now - timed[-1]).total_seconds()
        if age > max(STALE_AFTER_MIN_SECONDS, STALE_AFTER_SEQUENCES * seq_s):
            issues.append(f"stale_post_samples age_seconds={int(age)}")
            penalty += 0.25
        gaps = sum(1 for a, b in pairwise(timed) if (b - a).total_seconds() > GAP_FACTOR * seq_s)
        if gaps:
            issues.append(f"sequence_gaps count={gaps}")
            penalty += min(0.15, 0.05 * gaps)

    offsets = _offsets(kept, seq_s)
    warm = [
        s for s, off in zip(kept, offsets, strict=True) if settings.exclude_warmup and off < app_window - 1
    ]
    warm_ids = {id(s) for s in warm}
    judged = [s for s in kept if id(s) not in warm_ids]
    expected_warm = (
        min(data.window_sequences, math.ceil(app_window / seq_s)) if settings.exclude_warmup else 0
    )
    expected = max(1, data.window_sequences - expected_warm)
    post_points = _points(judged, seq_s, app_window, previous=_last_time(warm), has_previous=bool(warm))
    if len(judged) < expected:
        issues.append(f"missing_sequences count={expected - len(judged)} judged={len(judged)}/{expected}")
        penalty += 0.4 * (expected - len(judged)) / expected
    if len(judged) < settings.min_sequences:
        issues.append(f"too_few_sequences judged={len(judged)} min={settings.min_sequences}")

    score = round(max(0.0, min(1.0, 1.0 - penalty)), 2)
    blocking = tuple(
        issue
        for issue in issues
        if issue.startswith(OK_BLOCKING)
        and not (issue.startswith("missing_sequences") and len(judged) >= MIN_COVERAGE_FOR_OK * expected)
    )
    quality = DataQuality(
        score=score,
        issues=tuple(issues),
        blocks_ok=bool(blocking),
        usable_post_samples=len(judged),
        expected_post_samples=expected,
    )
    # A burst as long as the app window shows in every sample whose window overlaps most of it:
    # 2 samples 60 s apart, 3 samples 30 s apart (two more see a sliver), 1 sample 120 s apart.
    span = max(1, math.ceil(app_window / seq_s - 1e-9)) + (1 if seq_s < 2 * app_window else 0)
    return Window(tuple(pre_points), tuple(post_points), len(warm), app_window, span, quality, blocking)


def _sort_key(sample: Sample) -> tuple[int, float, int]:
    # Timestamped samples in time order; untimed ones after them, in sequence (then given) order.
    if sample.collected_at is not None:
        return (0, as_utc(sample.collected_at).timestamp(), 0)
    return (1, 0.0, sample.sequence_index if sample.sequence_index is not None else 0)


def _dedupe(samples: list[Sample]) -> tuple[list[Sample], int]:
    """Keep the first sample per timestamp (or per sequence index when untimed)."""
    seen: set[object] = set()
    kept: list[Sample] = []
    for sample in samples:
        key: object = sample.collected_at and as_utc(sample.collected_at)
        if key is None:
            key = ("index", sample.sequence_index) if sample.sequence_index is not None else id(sample)
        if key in seen:
            continue
        seen.add(key)
        kept.append(sample)
    return kept, len(samples) - len(kept)


def _offsets(post: list[Sample], seq_s: float) -> list[float]:
    """Seconds from the deploy finish: the collector takes post[i] at finish + i × sequence."""
    first = post[0].collected_at if post else None
    offsets = []
    for position, sample in enumerate(post):
        if sample.sequence_index is not None:
            offsets.append(sample.sequence_index * seq_s)
        elif sample.collected_at is not None and first is not None:
            offsets.append((as_utc(sample.collected_at) - as_utc(first)).total_seconds())
        else:
            offsets.append(position * seq_s)
    return offsets


def _last_time(samples: list[Sample]) -> datetime | None:
    times = [as_utc(s.collected_at) for s in samples if s.collected_at]
    return times[-1] if times else None


def _points(
    samples: list[Sample],
    spacing: float,
    app_window: float,
    previous: datetime | None = None,
    has_previous: bool = False,
) -> list[Point]:
    """Each sample's new seconds: a whole app window for the first, then the time since the previous
    sample (the schedule's spacing when untimed), never more than the window itself."""
    points: list[Point] = []
    start = next((as_utc(s.collected_at) for s in samples if s.collected_at), None)
    for position, sample in enumerate(samples):
        at = as_utc(sample.collected_at) if sample.collected_at else None
        if at is not None and previous is not None:
            seconds = min(app_window, max(0.0, (at - previous).total_seconds()))
        elif has_previous:
            seconds = min(app_window, spacing)
        else:
            seconds = app_window
        if at is not None and start is not None:
            minutes = (at - start).total_seconds() / 60.0
        else:
            minutes = position * spacing / 60.0
        requests = sample.requests_per_sec * seconds
        points.append(Point(sample, seconds, minutes, requests, sample.error_rate * requests))
        has_previous = True
        previous = at if at is not None else previous
    return points
