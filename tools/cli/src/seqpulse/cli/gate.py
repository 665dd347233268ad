"""The gate's decisions, pure: verdict → exit status, the progress line, the final report and JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seqpulse.cli.deployment import Deployment, Hint

EXIT_OK = 0
EXIT_USAGE = 2  # configuration or usage: argparse's own status for bad flags
EXIT_UNREACHABLE = 3  # SeqPulse unreachable, or no verdict before --timeout
EXIT_WARNING = 10
EXIT_ROLLBACK = 20
EXIT_INSUFFICIENT = 30
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
TOP_HINTS = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the wait ended: `name` is the verdict, `insufficient_data`, `expired`, `unreachable` or
    `timed_out`; `exit_code` already accounts for --allow-warning and --fail-open."""

    name: str
    exit_code: int
    message: str
    failed_open: bool = False


def verdict_exit_code(verdict: str, insufficient_data: bool, *, allow_warning: bool) -> int:
    """20 for a rollback, then 30 when the policy could not decide (before 10), 10 or 0 for a warning."""
    if verdict == "rollback_recommended":
        return EXIT_ROLLBACK
    if insufficient_data:
        return EXIT_INSUFFICIENT
    if verdict == "warning":
        return EXIT_OK if allow_warning else EXIT_WARNING
    return EXIT_OK


def decided(deployment: Deployment, *, allow_warning: bool) -> Outcome | None:
    """The outcome once the deployment has one: a verdict, or an expiry that means none will come."""
    verdict = deployment.verdict
    if verdict is not None:
        name = verdict.verdict
        if verdict.insufficient_data and verdict.verdict != "rollback_recommended":
            name = "insufficient_data"
        code = verdict_exit_code(verdict.verdict, verdict.insufficient_data, allow_warning=allow_warning)
        return Outcome(name, code, verdict.summary)
    if deployment.state == "expired":
        message = "the deployment expired before it was finished: no verdict will come"
        return Outcome("expired", EXIT_INSUFFICIENT, message)
    return None


def not_reached(name: str, message: str, *, fail_open: bool) -> Outcome:
    """`unreachable` or `timed_out`: exit 3, or 0 with --fail-open (which the report then says)."""
    if fail_open:
        return Outcome(name, EXIT_OK, message, failed_open=True)
    return Outcome(name, EXIT_UNREACHABLE, message)


def run_exit_code(command_code: int, gate_code: int) -> int:
    """`seqpulse run`: the gate's status, but a failed deploy command never ends in 0."""
    return gate_code if gate_code != EXIT_OK else command_code


def seconds_left(deployment: Deployment, elapsed: float = 0.0) -> float:
    """Sequences still to collect × their spacing, minus the time since the last change was seen."""
    window = deployment.window
    return max(0.0, max(0, window.sequences - window.collected_post) * window.sequence_seconds - elapsed)


def progress_text(deployment: Deployment, elapsed: float = 0.0) -> str:
    """The progress line while waiting; with `elapsed` 0 it changes only when the deployment does."""
    window = deployment.window
    if deployment.state == "running":
        return f"waiting for the deploy to finish (baseline samples: {window.collected_pre})"
    if window.state == "cancelled":
        return f"collection cancelled ({window.cancel_reason or 'no reason given'}), analyzing"
    if window.state == "closed" or deployment.state == "analyzing":
        return "window closed, analyzing"
    left = math.ceil(seconds_left(deployment, elapsed))
    return f"sequence {window.collected_post} of {window.sequences}, ~{left}s left"


def deployment_url(base_url: str, deployment_id: str) -> str:
    return f"{base_url.rstrip('/')}/deployments/{deployment_id}"


def top_hints(hints: tuple[Hint, ...], limit: int = TOP_HINTS) -> list[Hint]:
    """The most severe first; the API's order (stable) breaks ties."""
    return sorted(hints, key=lambda h: SEVERITY_RANK.get(h.severity, len(SEVERITY_RANK)))[:limit]


def report_lines(
    outcome: Outcome, deployment: Deployment | None, url: str | None, exit_code: int | None = None
) -> list[str]:
    """The human report: outcome and exit status (`exit_code` if the process's differs), summary, top
    hints, the link."""
    status = outcome.exit_code if exit_code is None else exit_code
    lines = [f"SeqPulse: {outcome.name} (exit {status})"]
    verdict = deployment.verdict if deployment else None
    if verdict is not None:
        lines[0] = (
            f"SeqPulse verdict: {verdict.verdict}"
            f"{' (not enough data to decide)' if verdict.insufficient_data else ''}"
            f", confidence {verdict.confidence:.2f}, policy {verdict.policy} (exit {status})"
        )
    lines.append(f"  {outcome.message}")
    if outcome.failed_open:
        lines.append("  --fail-open: SeqPulse gave no verdict, so this gate passes (exit 0 instead of 3)")
    if deployment is not None:
        for hint in top_hints(deployment.hints):
            lines.append(f"  - {hint.severity:<8} {hint.code} ({hint.metric}): {hint.title}")
        extra = len(deployment.hints) - TOP_HINTS
        if extra > 0:
            lines.append(f"  … and {extra} more hint{'s' if extra > 1 else ''}")
    if url is not None:
        lines.append(f"  {url}")
    return lines


def json_result(
    outcome: Outcome,
    deployment: Deployment | None,
    deployment_id: str | None,
    url: str | None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    """`--json`: one object with the outcome, the exit status, and the deployment as the API shows it."""
    raw = deployment.raw if deployment else {}
    return {
        "deployment_id": deployment_id,
        "public_id": deployment.public_id if deployment else None,
        "url": url,
        "outcome": outcome.name,
        "exit_code": outcome.exit_code if exit_code is None else exit_code,
        "message": outcome.message,
        "failed_open": outcome.failed_open,
        "state": deployment.state if deployment else None,
        "window": raw.get("window"),
        "verdict": raw.get("verdict"),
        "hints": raw.get("hints", []),
    }
