"""Turns a closed window into exactly one verdict, however often the message is delivered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from seqpulse.analyzer import metrics
from seqpulse.analyzer.model import AnalysisInput, AnalysisResult
from seqpulse.analyzer.policies import DEFAULT_POLICY, get_policy
from seqpulse.analyzer.repository import AnalyzerRepository
from seqpulse.common.bus import Delivery
from seqpulse.common.errors import PermanentError, RetryableError
from seqpulse.common.logging import get_logger
from seqpulse.common.messages import WindowClosed

log = get_logger(__name__)


class WindowHandlers:
    def __init__(
        self, repo: AnalyzerRepository, wake_relay: Callable[[], None], policy: str = DEFAULT_POLICY
    ) -> None:
        self.repo = repo
        self.wake_relay = wake_relay
        self.policy = get_policy(policy)

    async def on_window_closed(self, event: WindowClosed, _delivery: Delivery) -> None:
        started = time.perf_counter()
        outcome = "duplicate"
        async with self.repo.pool.acquire() as conn, conn.transaction():
            if await self.repo.latest_verdict(event.deployment_id, conn) is not None:
                log.info("verdict_exists", deployment_id=str(event.deployment_id))
            else:
                deployment = await self.repo.deployment(event.deployment_id, conn)
                if deployment is None:
                    raise PermanentError(f"deployment {event.deployment_id} does not exist")
                if deployment["state"] != "finished":
                    # The gateway commits `finished` before announcing it: anything else is a race.
                    raise RetryableError(f"deployment {event.deployment_id} is {deployment['state']}")
                pre, post = await self.repo.samples(event.deployment_id, conn)
                data = AnalysisInput(
                    pre=pre,
                    post=post,
                    window_sequences=deployment["window_sequences"],
                    sequence_seconds=max(1, round(deployment["sequence_seconds"])),
                    # The close time, not the clock: a redelivery or replay analyses the same input.
                    analyzed_at=event.closed_at,
                )
                result = self.policy.analyze(data)
                if event.cancel_reason:
                    result = with_collection_note(result, event.cancel_reason)
                verdict_id = await self.repo.store(
                    event.deployment_id, event.project_id, 1, result, "window_closed", None, conn
                )
                outcome = result.verdict if verdict_id else "duplicate"
                metrics.VERDICTS.labels(result.verdict, str(verdict_id is not None).lower()).inc()
                if verdict_id is not None:
                    for hint in result.hints:
                        metrics.HINTS.labels(hint.severity).inc()
                    critical = any(h.severity == "critical" for h in result.hints)
                    consistent = critical == (result.verdict == "rollback_recommended")
                    metrics.CONSISTENCY.labels(
                        result.verdict, "consistent" if consistent else "inconsistent"
                    ).inc()
                    log.info(
                        "verdict_created",
                        deployment_id=str(event.deployment_id),
                        verdict=result.verdict,
                        confidence=result.confidence,
                        policy=result.policy,
                        hints=len(result.hints),
                    )
        metrics.ANALYSIS_SECONDS.labels(outcome).observe(time.perf_counter() - started)
        self.wake_relay()


def with_collection_note(result: AnalysisResult, reason: str) -> AnalysisResult:
    """Say in the verdict why samples are missing: collection was stopped, not merely unlucky."""
    return replace(
        result,
        summary=f"Collection stopped early ({reason}). {result.summary}",
        details=(*result.details, f"collection_cancelled {reason}"),
    )
