"""The gateway over HTTP: the CI API (`X-API-Key`) and the deployment read (`Bearer` token), with retries.

Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter until the
caller's deadline, then reported as `Unreachable` (exit 3). Any other 4xx is `ApiError` (exit 2): a
request SeqPulse refuses will be refused again, and `--fail-open` must not hide it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import orjson

from seqpulse.cli.deployment import Deployment, UnexpectedAnswer, parse_deployment

USER_AGENT = "seqpulse-cli/0.1"
RETRIED_STATUSES = frozenset({408, 429})
ATTEMPT_TIMEOUT_SECONDS = 15.0
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.25, 5.0
Sleep = Callable[[float], Awaitable[None]]


class Unreachable(Exception):
    """No usable answer before the deadline: the network, a 5xx, or time ran out (exit 3)."""


class DeadlinePassed(Unreachable):
    """Time ran out, nothing failed: the deadline had passed before the call could try, or its first
    attempt was still waiting for an answer when the deadline came."""


class ApiError(Exception):
    """A 4xx (or a 2xx that is not the API's answer): a problem to fix in the configuration (exit 2)."""

    def __init__(self, status: int, detail: str, code: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status
        self.detail = detail
        self.code = code


def problem_detail(status: int, body: bytes) -> tuple[str, str | None]:
    """The human text of an error answer: problem+json `detail` and its field errors, else the body."""
    try:
        problem = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text[:300] or f"no detail (HTTP {status})"), None
    if not isinstance(problem, dict):
        return str(problem)[:300], None
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    errors = problem.get("errors")
    if isinstance(errors, list):
        fields = [f"{e.get('field')}: {e.get('reason')}" for e in errors if isinstance(e, dict)]
        if fields and not all(f in detail for f in fields):
            detail = f"{detail} ({'; '.join(fields)})"
    code = problem.get("code")
    return detail, code if isinstance(code, str) else None


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return rng.uniform(ceiling / 2, ceiling)


class Client:
    """One gateway; every call takes an absolute `deadline` (a `time.monotonic()` value) for its retries."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.api_key = api_key
        self.token = token
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def trigger(self, body: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        return await self._call("POST", "/deployments/trigger", self._key_headers(), body, deadline)

    async def finish(
        self, deployment_id: str, result: str, metrics_endpoint: str | None, deadline: float
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"deployment_id": deployment_id, "result": result}
        if metrics_endpoint:
            body["metrics_endpoint"] = metrics_endpoint
        return await self._call("POST", "/deployments/finish", self._key_headers(), body, deadline)

    async def deployment(self, deployment_id: str, deadline: float) -> Deployment:
        body = await self._call("GET", f"/deployments/{deployment_id}", self._token_headers(), None, deadline)
        try:
            return parse_deployment(body)
        except UnexpectedAnswer as exc:
            raise ApiError(0, f"unexpected answer from {self.base_url}: {exc}") from None

    async def check_token(self, deadline: float) -> None:
        """Fails with 401/403 now, before anything is deployed, if the token cannot read deployments."""
        await self._call("GET", "/deployments?limit=1", self._token_headers(), None, deadline)

    def _key_headers(self) -> dict[str, str]:
        assert self.api_key is not None, "the command resolves SEQPULSE_API_KEY first"
        return {"X-API-Key": self.api_key}

    def _token_headers(self) -> dict[str, str]:
        assert self.token is not None, "the command resolves SEQPULSE_TOKEN first"
        return {"Authorization": f"Bearer {self.token}"}

    async def _call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: Mapping[str, Any] | None,
        deadline: float,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            attempt += 1
            left = deadline - time.monotonic()
            if left <= 0:
                if attempt == 1:
                    raise DeadlinePassed(f"{method} {url}: no time left to ask")
                raise Unreachable(f"{method} {url}: no answer within the time allowed")
            retry_after: float | None = None
            try:
                status, payload, retry_after = await self._once(method, url, headers, body, left)
            except TimeoutError:
                if attempt == 1 and left < ATTEMPT_TIMEOUT_SECONDS:
                    # Cut short by the caller's deadline, not by the attempt's own timeout.
                    raise DeadlinePassed(f"{method} {url}: no answer before the deadline") from None
                reason = "TimeoutError"
            except aiohttp.ClientError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if 200 <= status < 300:
                    return self._json(url, status, payload)
                if status < 500 and status not in RETRIED_STATUSES:
                    detail, code = problem_detail(status, payload)
                    if 300 <= status < 400:
                        detail = f"redirected ({detail}); set the SeqPulse URL to where it redirects"
                    raise ApiError(status, detail, code)
                reason = f"HTTP {status}: {problem_detail(status, payload)[0]}"
            delay = retry_after if retry_after is not None else backoff_seconds(attempt, self._rng)
            left = deadline - time.monotonic()
            if delay >= left:
                raise Unreachable(f"{method} {url}: {reason} (gave up after {attempt} attempts)")
            await self._sleep(delay)

    async def _once(
        self, method: str, url: str, headers: dict[str, str], body: Mapping[str, Any] | None, left: float
    ) -> tuple[int, bytes, float | None]:
        timeout = aiohttp.ClientTimeout(total=min(ATTEMPT_TIMEOUT_SECONDS, left))
        data = orjson.dumps(body) if body is not None else None
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        # Redirects are not followed: a POST turned into a GET would lose the request.
        async with self.http.request(
            method, url, data=data, headers=all_headers, timeout=timeout, allow_redirects=False
        ) as response:
            payload = await response.read()
            if 300 <= response.status < 400:
                payload = response.headers.get("Location", "no Location").encode()
            return response.status, payload, _retry_after(response.headers.get("Retry-After"))

    def _json(self, url: str, status: int, payload: bytes) -> dict[str, Any]:
        try:
            parsed = orjson.loads(payload)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ApiError(status, f"{url} did not answer with a JSON object: is the SeqPulse URL right?")
        return parsed


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare for 429/503 here, the backoff is a fine substitute
