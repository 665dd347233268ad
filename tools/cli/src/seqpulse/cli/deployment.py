"""A deployment as `GET /deployments/{id}` shows it, parsed into the few typed records the gate needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class UnexpectedAnswer(Exception):
    """The gateway answered 2xx with a body that is not what the API promises (wrong URL, proxy page)."""


@dataclass(frozen=True, slots=True)
class Window:
    sequences: int
    sequence_seconds: float
    collected_pre: int
    collected_post: int
    state: str  # pending | open | closed | cancelled
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # ok | warning | rollback_recommended
    confidence: float
    summary: str
    insufficient_data: bool
    policy: str


@dataclass(frozen=True, slots=True)
class Hint:
    severity: str
    code: str
    metric: str
    title: str


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    public_id: str
    state: str  # running | collecting | analyzing | analyzed | expired
    window: Window
    verdict: Verdict | None
    hints: tuple[Hint, ...]
    raw: Mapping[str, Any]  # the whole answer, for --json


def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        expected = kind.__name__ if isinstance(kind, type) else "number"
        raise UnexpectedAnswer(f"{where}.{name} is missing or not a {expected}")
    return value


def _object(body: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value: Mapping[str, Any] = _field(body, name, dict, where)
    return value


def parse_deployment(body: Mapping[str, Any]) -> Deployment:
    """The answer of `GET /deployments/{id}`; `UnexpectedAnswer` names the first field that is off."""
    w = _object(body, "window", "deployment")
    window = Window(
        sequences=_field(w, "sequences", int, "window"),
        sequence_seconds=float(_field(w, "sequence_seconds", (int, float), "window")),
        collected_pre=_field(w, "collected_pre", int, "window"),
        collected_post=_field(w, "collected_post", int, "window"),
        state=_field(w, "state", str, "window"),
        cancel_reason=w.get("cancel_reason") if isinstance(w.get("cancel_reason"), str) else None,
    )
    verdict = None
    if body.get("verdict") is not None:
        v = _object(body, "verdict", "deployment")
        verdict = Verdict(
            verdict=_field(v, "verdict", str, "verdict"),
            confidence=float(_field(v, "confidence", (int, float), "verdict")),
            summary=_field(v, "summary", str, "verdict"),
            insufficient_data=_field(v, "insufficient_data", bool, "verdict"),
            policy=_field(v, "policy", str, "verdict"),
        )
    raw_hints = body.get("hints") or []
    if not isinstance(raw_hints, list) or not all(isinstance(h, dict) for h in raw_hints):
        raise UnexpectedAnswer("deployment.hints is not a list of objects")
    hints = tuple(
        Hint(
            severity=_field(h, "severity", str, "hint"),
            code=_field(h, "code", str, "hint"),
            metric=_field(h, "metric", str, "hint"),
            title=_field(h, "title", str, "hint"),
        )
        for h in raw_hints
    )
    return Deployment(
        id=_field(body, "id", str, "deployment"),
        public_id=_field(body, "public_id", str, "deployment"),
        state=_field(body, "state", str, "deployment"),
        window=window,
        verdict=verdict,
        hints=hints,
        raw=body,
    )
