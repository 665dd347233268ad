"""Turns a closed window into exactly one verdict, however often the message is delivered."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from seqpulse.analyzer import metrics
from seqpulse.analyzer.model import AnalysisInput, AnalysisResult, Policy
from seqpulse.analyzer.policies import DEFAULT_POLICY, get_policy
from seqpulse.analyzer.repository import AnalyzerRepository
from seqpulse.common.bus import Delivery
from seqpulse.common.db.pool import Conn
from seqpulse.common.errors import PermanentError, RetryableError
from seqpulse.common.logging import get_logger
from seqpulse.common.messages import WindowClosed

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything a policy needs about one deployment, read in the caller's transaction."""

    deployment: asyncpg.Record
    data: AnalysisInput
    cancel_reason: str | None


async def prepare(
    repo: AnalyzerRepository, deployment_id: uuid.UUID, conn: Conn, closed_at: datetime | None = None
) -> Prepared | None:
    deployment = await repo.deployment(deployment_id, conn)
    if deployment is None:
        return None
    pre, post = await repo.samples(deployment_id, conn)
    analyzed_at = closed_at or deployment["closed_at"] or deployment["finished_at"]
    data = AnalysisInput(
        pre=pre,
        post=post,
        window_sequences=deployment["window_sequences"],
        sequence_seconds=max(1, round(deployment["sequence_seconds"])),
        # The close time, not the clock: a redelivery or a replay analyses the same input.
        analyzed_at=analyzed_at,
        settings=deployment["policy_settings"] or {},
    )
    return Prepared(deployment, data, deployment["cancel_reason"])


def run_policy(policy: Policy, prepared: Prepared) -> AnalysisResult:
    try:
        result = policy.analyze(prepared.data)
    except ValueError as exc:
        # Settings are validated when saved; if a policy still refuses them, use its defaults, say so.
        result = policy.analyze(replace(prepared.data, settings={}))
        result = replace(result, details=(*result.details, f"policy_settings_ignored {exc}"))
    if prepared.cancel_reason:
        result = with_collection_note(result, prepared.cancel_reason)
    return result


def with_collection_note(result: AnalysisResult, reason: str) -> AnalysisResult:
    """Say in the verdict why samples are missing: collection was stopped, not merely unlucky."""
    return replace(
        result,
        summary=f"Collection stopped early ({reason}). {result.summary}",
        details=(*result.details, f"collection_cancelled {reason}"),
    )


def policy_for(prepared: Prepared, default: str) -> Policy:
    return get_policy(prepared.deployment["analysis_policy"] or default)


class WindowHandlers:
    def __init__(
        self, repo: AnalyzerRepository, wake_relay: Callable[[], None], policy: str = DEFAULT_POLICY
    ) -> None:
        self.repo = repo
        self.wake_relay = wake_relay
        self.default_policy = get_policy(policy).name

    async def on_window_closed(self, event: WindowClosed, _delivery: Delivery) -> None:
        started = time.perf_counter()
        outcome = "duplicate"
        async with self.repo.pool.acquire() as conn, conn.transaction():
            if await self.repo.latest_verdict(event.deployment_id, conn) is not None:
                log.info("verdict_exists", deployment_id=str(event.deployment_id))
            else:
                prepared = await prepare(self.repo, event.deployment_id, conn, event.closed_at)
                if prepared is None:
                    raise PermanentError(f"deployment {event.deployment_id} does not exist")
                if prepared.deployment["state"] != "finished":
                    # The gateway commits `finished` before announcing it: anything else is a race.
                    raise RetryableError(
                        f"deployment {event.deployment_id} is {prepared.deployment['state']}"
                    )
                result = run_policy(policy_for(prepared, self.default_policy), prepared)
                verdict_id = await self.repo.store(
                    event.deployment_id, event.project_id, 1, result, "window_closed", None, conn
                )
                outcome = result.verdict if verdict_id else "duplicate"
                record(result, created=verdict_id is not None)
                if verdict_id is not None:
                    # Only here: a deployment's first verdict. Replays store later versions, not this event.
                    await self.repo.announce_analysis_completed(
                        prepared.deployment, result.verdict, event.closed_at, conn
                    )
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


def record(result: AnalysisResult, *, created: bool) -> None:
    metrics.VERDICTS.labels(result.verdict, str(created).lower()).inc()
    if not created:
        return
    for hint in result.hints:
        metrics.HINTS.labels(hint.severity).inc()
    critical = any(h.severity == "critical" for h in result.hints)
    consistent = critical == (result.verdict == "rollback_recommended")
    metrics.CONSISTENCY.labels(result.verdict, "consistent" if consistent else "inconsistent").inc()
