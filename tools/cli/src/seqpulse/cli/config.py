"""Where the CI gate commands get their settings: flags first, then `SEQPULSE_*`, then the CI's own variables.

Secrets (`SEQPULSE_API_KEY`, `SEQPULSE_TOKEN`) come from the environment only, never from flags, which
would show them in process lists and CI logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Environ = Mapping[str, str]
BASE_URL_VAR = "SEQPULSE_BASE_URL"
API_KEY_VAR = "SEQPULSE_API_KEY"
TOKEN_VAR = "SEQPULSE_TOKEN"  # noqa: S105  # the name of a variable, not a secret
ENV_VAR = "SEQPULSE_ENV"
METRICS_ENDPOINT_VAR = "SEQPULSE_METRICS_ENDPOINT"
TOKEN_PREFIX, API_KEY_PREFIX = "spt_", "SP_"  # public markers, told apart to catch a swap


class UsageError(Exception):
    """Missing or unusable configuration; the message names the flag or variable to fix (exit 2)."""


@dataclass(frozen=True, slots=True)
class CiRun:
    """What the CI system says about the current job: which provider, a key of the run, the branch."""

    provider: str
    run_key: str
    branch: str | None


@dataclass(frozen=True, slots=True)
class TriggerBody:
    env: str
    idempotency_key: str
    branch: str | None
    metrics_endpoint: str | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"env": self.env, "idempotency_key": self.idempotency_key}
        if self.branch:
            body["branch"] = self.branch
        if self.metrics_endpoint:
            body["metrics_endpoint"] = self.metrics_endpoint
        return body


def _get(environ: Environ, name: str) -> str | None:
    return environ.get(name, "").strip() or None


def _github(environ: Environ) -> CiRun | None:
    run_id = _get(environ, "GITHUB_RUN_ID")
    if run_id is None:
        return None
    attempt = _get(environ, "GITHUB_RUN_ATTEMPT") or "1"
    # GITHUB_HEAD_REF is set on pull_request events only, where GITHUB_REF_NAME is "<n>/merge".
    branch = _get(environ, "GITHUB_HEAD_REF") or _get(environ, "GITHUB_REF_NAME")
    return CiRun("github", f"gha-{run_id}-{attempt}", branch)


def _gitlab(environ: Environ) -> CiRun | None:
    pipeline = _get(environ, "CI_PIPELINE_ID")
    if pipeline is None:
        return None
    # The job id (the public SDK uses the pipeline's IID, the same for every job and retry) makes a
    # retried deploy job a new deployment, as a new run attempt does on GitHub.
    job = _get(environ, "CI_JOB_ID")
    return CiRun(
        "gitlab", f"gl-{pipeline}-{job}" if job else f"gl-{pipeline}", _get(environ, "CI_COMMIT_REF_NAME")
    )


def _circleci(environ: Environ) -> CiRun | None:
    workflow = _get(environ, "CIRCLE_WORKFLOW_ID")
    if workflow is None:
        return None
    build = _get(environ, "CIRCLE_BUILD_NUM") or "1"
    return CiRun("circleci", f"circle-{workflow}-{build}", _get(environ, "CIRCLE_BRANCH"))


def _jenkins(environ: Environ) -> CiRun | None:
    build = _get(environ, "BUILD_TAG") or _get(environ, "BUILD_ID")
    if build is None:
        return None
    return CiRun("jenkins", f"jenkins-{build}", _get(environ, "BRANCH_NAME"))


# In the public SDK's order. Key and branch come from the same provider, never mixed.
PROVIDERS: tuple[Callable[[Environ], CiRun | None], ...] = (_github, _gitlab, _circleci, _jenkins)


def detect_ci(environ: Environ) -> CiRun | None:
    for provider in PROVIDERS:
        found = provider(environ)
        if found is not None:
            return found
    return None


def trigger_body(
    environ: Environ,
    *,
    env: str | None,
    branch: str | None,
    idempotency_key: str | None,
    metrics_endpoint: str | None,
) -> TriggerBody:
    """The trigger request: each flag wins over its variable, which wins over the CI inference."""
    resolved_env = (env or "").strip() or _get(environ, ENV_VAR)
    if resolved_env is None:
        raise UsageError(f"the environment is required: pass --env or set {ENV_VAR}")
    ci = detect_ci(environ)
    key = (idempotency_key or "").strip()
    if not key:
        # The env is part of the inferred key: keys are per project, so a run deploying staging and
        # then prod would otherwise get the staging deployment back for prod. Outside CI the key is
        # still fixed for this invocation, so a retried request cannot create a second deployment.
        run_key = ci.run_key if ci is not None else f"cli-{uuid.uuid4().hex}"
        key = f"{run_key}-{resolved_env}"
    return TriggerBody(
        env=resolved_env,
        idempotency_key=key,
        branch=(branch or "").strip() or (ci.branch if ci is not None else None),
        metrics_endpoint=resolve_metrics_endpoint(environ, metrics_endpoint),
    )


def resolve_metrics_endpoint(environ: Environ, flag: str | None) -> str | None:
    """Optional: the gateway uses the project's active endpoint and refuses (409) a different one."""
    return (flag or "").strip() or _get(environ, METRICS_ENDPOINT_VAR)


def base_url(environ: Environ, flag: str | None) -> str:
    url = (flag or "").strip() or _get(environ, BASE_URL_VAR)
    if url is None:
        # No localhost default: in CI it would fail as "unreachable" (exit 3), which --fail-open hides.
        raise UsageError(f"the SeqPulse URL is required: set {BASE_URL_VAR} or pass --base-url")
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{BASE_URL_VAR} / --base-url must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def api_key(environ: Environ) -> str:
    key = _get(environ, API_KEY_VAR)
    if key is None:
        raise UsageError(f"{API_KEY_VAR} is not set: trigger and finish need the project's API key (SP_…)")
    if key.startswith(TOKEN_PREFIX):
        raise UsageError(
            f"{API_KEY_VAR} holds a personal access token (spt_…); it takes the project's API key (SP_…)"
        )
    return key


def read_token(environ: Environ) -> str:
    token = _get(environ, TOKEN_VAR)
    if token is None:
        raise UsageError(
            f"{TOKEN_VAR} is not set: reading the verdict needs a personal access token with the read"
            " scope (seqpulse-admin create-token --scope read)"
        )
    if token.startswith(API_KEY_PREFIX):
        raise UsageError(
            f"{TOKEN_VAR} holds a project API key (SP_…); it takes a personal access token (spt_…)"
        )
    return token


def deployment_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise UsageError(
            f"DEPLOYMENT must be the deployment id `seqpulse trigger` printed (a UUID), got {raw!r}"
        ) from None
