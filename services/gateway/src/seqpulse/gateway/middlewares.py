"""Request middlewares: tracing and metrics (outermost), problem+json errors, the body-size limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp.web_urldispatcher import SystemRoute
from opentelemetry import context as otel_context
from opentelemetry import trace
from pydantic import ValidationError

from seqpulse.common.errors import ValidationFailed
from seqpulse.common.logging import get_logger
from seqpulse.common.telemetry.tracing import context_from_headers, tracer
from seqpulse.gateway.api_stats import API_STATS
from seqpulse.gateway.metrics import HTTP_DURATION, HTTP_REQUESTS
from seqpulse.gateway.problems import Problem, problem_response

log = get_logger(__name__)
_tracer = tracer("seqpulse.gateway.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNMATCHED = "<unmatched>"
# Status codes aiohttp raises itself, mapped to our stable codes.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


def route_template(request: web.Request) -> str:
    """`/projects/{project_id}`: bounded cardinality for labels and span names; unknown paths collapse."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or isinstance(route, SystemRoute):
        return UNMATCHED
    return resource.canonical


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = route_template(request)
    token = otel_context.attach(context_from_headers(request.headers))
    started = time.perf_counter()
    status = 500
    streaming = False
    try:
        with _tracer.start_as_current_span(
            f"{request.method} {path}",
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": path},
        ) as span:
            response = await handler(request)
            status = response.status
            streaming = response.content_type == "text/event-stream"
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR)
            return response
    finally:
        otel_context.detach(token)
        if path != "/metrics":
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(request.method, path, str(status)).inc()
            HTTP_DURATION.labels(request.method, path).observe(elapsed)
            stats = request.app.get(API_STATS)
            # Static files and long-lived event streams say nothing about the API's latency.
            if stats is not None and not path.startswith("/static") and not streaming:
                stats.record(f"{request.method} {path}", status, elapsed)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error becomes problem+json. One of the two places allowed to catch broadly."""
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response()
    except ValidationFailed as exc:
        return problem_response(
            exc.status, f"{exc.field}: {exc.reason}", code=exc.code, errors=[(exc.field, exc.reason)]
        )
    except ValidationError as exc:
        return validation_problem(exc).response()
    except web.HTTPRequestEntityTooLarge:
        return problem_response(
            413,
            "Request body too large",
            code="payload_too_large",
            errors=[("body", "exceeds the size limit")],
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal_error")
        detail = exc.reason if exc.status != 404 else "No such route"
        return problem_response(exc.status, detail, code=code, headers=_allow_header(exc))
    except Exception:  # the HTTP error boundary: log it, never leak a stack trace
        error_id = uuid.uuid4().hex
        log.exception(
            "http_unhandled_error", error_id=error_id, method=request.method, route=route_template(request)
        )
        return problem_response(
            500,
            "Internal error; quote the error_id when reporting it.",
            code="internal_error",
            extra={"error_id": error_id},
        )


def _allow_header(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


def validation_problem(exc: ValidationError) -> Problem:
    """One `errors` entry per offending field, with its dotted path and pydantic's reason."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        errors.append((field, error["msg"]))
    detail = "; ".join(f"{field}: {reason}" for field, reason in errors)
    return Problem(422, f"Invalid input: {detail}", code="validation_failed", errors=errors)


def body_limit(max_bytes: int) -> Middleware:
    """Refuse a declared oversize body before reading it; chunked bodies hit `client_max_size` instead."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > max_bytes:
            raise Problem(
                413,
                f"Request body too large (limit {max_bytes} bytes)",
                code="payload_too_large",
                errors=[("body", f"must be at most {max_bytes} bytes")],
            )
        return await handler(request)

    return middleware
