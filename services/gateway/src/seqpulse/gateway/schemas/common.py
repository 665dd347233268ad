"""Pieces shared by the request and response models: base configs, names, the problem body."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Env names travel in URLs, logs and metric labels downstream: keep them short and plain.
EnvName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
]


class StrictRequest(BaseModel):
    """Dashboard/API requests: an unknown field is an error, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LenientRequest(BaseModel):
    """CI requests: extra fields are ignored, because clients in the wild send what they send."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FieldError(BaseModel):
    field: str
    reason: str


class ProblemResponse(BaseModel):
    """RFC 9457 problem details, plus a stable `code` and per-field `errors`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] = []
    error_id: str | None = None
