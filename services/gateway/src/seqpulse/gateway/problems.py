"""HTTP problems (RFC 9457 `application/problem+json`): what a handler raises to answer a 4xx."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web

from seqpulse.common.errors import SeqPulseError

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Generic codes keep `about:blank`; a domain code gets a stable URI clients may switch on.
GENERIC_CODES = frozenset(
    {
        "validation_failed",
        "bad_request",
        "not_found",
        "unauthorized",
        "forbidden",
        "method_not_allowed",
        "payload_too_large",
        "rate_limited",
        "internal_error",
        "unavailable",
    }
)


class Problem(SeqPulseError):
    """An error answer: status, the human `detail`, a stable `code`, and per-field `errors`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str,
        errors: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> web.Response:
        return problem_response(
            self.status,
            self.detail,
            code=self.code,
            errors=self.errors,
            headers=self.headers,
            extra=self.extra,
        )


def problem_type(code: str) -> str:
    return (
        "about:blank" if code in GENERIC_CODES else f"urn:seqpulse:problem:{code.lower().replace('_', '-')}"
    )


def problem_response(
    status: int,
    detail: str,
    *,
    code: str,
    errors: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> web.Response:
    body = {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [{"field": field, "reason": reason} for field, reason in errors],
        **(extra or {}),
    }
    return web.Response(
        status=status, body=orjson.dumps(body), content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )


def bad_request(field: str, reason: str, *, code: str = "bad_request", status: int = 400) -> Problem:
    """Bad input on one field: the detail repeats the field so a human reading only `detail` knows."""
    return Problem(status, f"{field}: {reason}", code=code, errors=[(field, reason)])


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", code="not_found")


def unauthorized(
    detail: str, *, field: str | None = None, reason: str | None = None, scheme: str | None = "Bearer"
) -> Problem:
    headers = {"WWW-Authenticate": scheme} if scheme else None
    errors = [(field, reason or detail)] if field else []
    return Problem(401, detail, code="unauthorized", errors=errors, headers=headers)
