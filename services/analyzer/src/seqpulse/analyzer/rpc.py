"""Synchronous requests over core NATS: replay one deployment, back-test a policy over a project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from nats.aio.msg import Msg
from pydantic import BaseModel, ValidationError

from seqpulse.analyzer.handlers import policy_for, prepare, record, run_policy
from seqpulse.analyzer.policies import UnknownPolicyError, get_policy
from seqpulse.analyzer.repository import AnalyzerRepository
from seqpulse.common.logging import get_logger
from seqpulse.common.messages import BacktestRequested, ReanalysisRequested

log = get_logger(__name__)


class RequestFailed(Exception):
    """Answered to the requester as `{"error": {"status", "detail"}}`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class AnalysisRequests:
    def __init__(self, repo: AnalyzerRepository, wake_relay: Callable[[], None], default_policy: str) -> None:
        self.repo = repo
        self.wake_relay = wake_relay
        self.default_policy = default_policy

    async def reanalyze(self, request: ReanalysisRequested) -> dict[str, Any]:
        """Store a new verdict version from the stored samples; announce it only if the verdict changed."""
        async with self.repo.pool.acquire() as conn, conn.transaction():
            done = await self.repo.verdict_by_request(request.request_id, conn)
            if done is not None:
                return {
                    "version": done["version"],
                    "verdict": done["verdict"],
                    "policy": done["policy"],
                    "replayed": True,
                }
            prepared = await prepare(self.repo, request.deployment_id, conn)
            if prepared is None:
                raise RequestFailed(404, "Deployment not found")
            if prepared.deployment["state"] != "finished" or prepared.deployment["window_state"] in (
                None,
                "open",
            ):
                raise RequestFailed(409, "The deployment's observation window is not closed yet")
            policy = _policy(request.policy) if request.policy else policy_for(prepared, self.default_policy)
            latest = await self.repo.latest_verdict(request.deployment_id, conn)
            previous = latest["verdict"] if latest else None
            result = run_policy(policy, prepared)
            changed = previous != result.verdict
            version = (latest["version"] if latest else 0) + 1
            stored = await self.repo.store(
                request.deployment_id,
                prepared.deployment["project_id"],
                version,
                result,
                "reanalyze",
                previous,
                conn,
                request_id=request.request_id,
                announce=changed,
            )
            if stored is None:
                raise RequestFailed(409, "A concurrent replay stored this version first; try again")
            record(result, created=True)
        if changed:
            self.wake_relay()
        log.info(
            "deployment_reanalyzed",
            deployment_id=str(request.deployment_id),
            version=version,
            verdict=result.verdict,
            previous=previous,
            policy=result.policy,
        )
        return {"version": version, "previous_verdict": previous, "changed": changed, **result.to_dict()}

    async def backtest(self, request: BacktestRequested) -> dict[str, Any]:
        """What `policy` would have said about the project's analysed deployments; stores nothing."""
        policy = _policy(request.policy)
        rows: list[dict[str, Any]] = []
        async with self.repo.pool.acquire() as conn:
            for current in await self.repo.analysed_deployments(request.project_id, request.limit, conn):
                prepared = await prepare(self.repo, current["deployment_id"], conn)
                if prepared is None:
                    continue
                result = run_policy(policy, prepared)
                rows.append(
                    {
                        "deployment_id": str(current["deployment_id"]),
                        "public_id": f"dpl_{current['deployment_number']}",
                        "current": {
                            "verdict": current["verdict"],
                            "policy": current["policy"],
                            "version": current["version"],
                        },
                        "proposed": {
                            "verdict": result.verdict,
                            "confidence": result.confidence,
                            "summary": result.summary,
                            "insufficient_data": result.insufficient_data,
                        },
                        "changed": result.verdict != current["verdict"],
                    }
                )
        changed = [r for r in rows if r["changed"]]
        return {
            "policy": policy.name,
            "deployments": len(rows),
            "changed": len(changed),
            "unchanged": len(rows) - len(changed),
            "results": rows,
        }


def _policy(name: str) -> Any:
    try:
        return get_policy(name)
    except UnknownPolicyError as exc:
        raise RequestFailed(422, str(exc)) from None


async def respond(msg: Msg, model: type[BaseModel], handler: Callable[[Any], Any]) -> None:
    """Decode, run, and answer `{"result": …}` or `{"error": {"status", "detail"}}`; never raise."""
    try:
        request = model.model_validate_json(msg.data)
        body: dict[str, Any] = {"result": await handler(request)}
    except ValidationError as exc:
        body = {"error": {"status": 422, "detail": str(exc)}}
    except RequestFailed as exc:
        body = {"error": {"status": exc.status, "detail": exc.detail}}
    except Exception:  # a responder reports failure to its caller instead of dying
        log.exception("analysis_request_failed", subject=msg.subject)
        body = {"error": {"status": 500, "detail": "the analyzer failed to process the request"}}
    await msg.respond(orjson.dumps(body, default=str))
