"""`POST /events` event by event, without I/O: parse, validate, bind to the sender, build the event."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import NamedTuple

import orjson
from pydantic import ValidationError

from seqpulse.common.messages.product import Plan, ProductEvent, pseudonymise
from seqpulse.gateway.problems import Problem, bad_request
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.schemas.events import MAX_BATCH, EventRequest

Errors = list[tuple[str, str]]
# Who sends: a project (API key) or a user (token or session).
Sender = ProjectRow | Principal


def parse_items(raw: bytes) -> tuple[list[object], bool]:
    """The events of the body and whether it was a batch; 400/413/422 for a body that holds none."""
    if not raw.strip():
        raise bad_request("body", 'an event object or {"events": [...]} is required')
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("body", f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise bad_request("body", 'must be a JSON object: one event, or {"events": [...]}')
    if "events" not in data:
        return [data], False
    if extra := sorted(set(data) - {"events"}):
        raise bad_request("body", f"a batch holds only `events` (unexpected: {', '.join(extra)})")
    items = data["events"]
    if not isinstance(items, list):
        raise bad_request("events", "must be an array of event objects")
    if not items:
        raise Problem(
            422,
            "events: must hold at least one event",
            code="validation_failed",
            errors=[("events", "is empty")],
        )
    if len(items) > MAX_BATCH:
        reason = f"must hold at most {MAX_BATCH} events (got {len(items)}); split the batch"
        raise Problem(413, f"events: {reason}", code="too_many_events", errors=[("events", reason)])
    return items, True


def validate_item(item: object) -> EventRequest | Errors:
    if not isinstance(item, dict):
        return [("event", "must be a JSON object")]
    try:
        return EventRequest.model_validate(item)
    except ValidationError as exc:
        return [
            (".".join(str(part) for part in error["loc"]) or "event", error["msg"])
            for error in exc.errors(include_url=False, include_input=False)
        ]


# An application sends the same few thousand user ids over and over: their canonical spelling and pseudonym
# are remembered (per process, bounded) instead of worked out, an exception and an HMAC, for each event.
USER_IDS_REMEMBERED = 65_536


@functools.lru_cache(maxsize=USER_IDS_REMEMBERED)
def canonical_user_id(sent: str) -> str:
    """A UUID however written (case, braces) is one user: one spelling, hence one pseudonym."""
    try:
        return str(uuid.UUID(sent))
    except ValueError:
        return sent


@functools.lru_cache(maxsize=USER_IDS_REMEMBERED)
def user_key_of(user_id: str, key: bytes) -> str:
    return pseudonymise(user_id, key)


def bind(
    event: EventRequest, sender: Sender, plans: dict[uuid.UUID, Plan]
) -> tuple[str | None, uuid.UUID | None, Plan | None] | Errors:
    """(user id, project id, plan) the event is recorded under, or why the sender may not send it."""
    sent_user = canonical_user_id(event.user_id) if event.user_id is not None else None
    if isinstance(sender, ProjectRow):
        if event.project_id is not None and event.project_id != sender.id:
            return [("project_id", "must be the API key's project, or omitted")]
        return sent_user, sender.id, event.plan or sender.plan
    who = sender
    errors: Errors = []
    user_id = sent_user or str(who.user_id)
    if user_id != str(who.user_id) and not who.sees_everything:
        errors.append(
            ("user_id", "must be your own user id, or omitted, when sending with a user's credentials")
        )
    plan = event.plan
    if event.project_id is not None:
        if event.project_id not in plans:
            errors.append(("project_id", "no such project among the ones you can see"))
        plan = plan or plans.get(event.project_id)
    return errors or (user_id, event.project_id, plan)


def build(
    event: EventRequest,
    bound: tuple[str | None, uuid.UUID | None, Plan | None],
    *,
    key: bytes,
    country: str | None,
    received_at: datetime,
) -> ProductEvent:
    """The event to publish. Every field comes from a value already checked against the same rules as
    `ProductEvent`'s (the request model's validators, the pseudonym, the GeoIP code, the sender's plan),
    so it is assembled without validating again: that took a third of the gateway's time per event.
    tests/unit/gateway/test_event_intake.py checks that what it builds passes `ProductEvent`'s validation."""
    user_id, project_id, plan = bound
    return ProductEvent.model_construct(
        message_id=str(event.event_id),  # the sender's id: the key in the table, and of the frame
        event_name=event.event_name,
        occurred_at=event.timestamp or received_at,
        received_at=received_at,
        user_key=user_key_of(user_id, key) if user_id is not None else None,
        project_id=project_id,
        plan=plan,
        country=country,
        properties=event.properties,
        source="http",
    )


class Judged(NamedTuple):
    """The events to publish, and the index and reasons of each refused one."""

    accepted: list[ProductEvent]
    rejected: list[tuple[int, Errors]]


def judge_all(
    checked: list[EventRequest | Errors],
    sender: Sender,
    plans: dict[uuid.UUID, Plan],
    *,
    key: bytes,
    country: str | None,
    received_at: datetime,
) -> Judged:
    """Each validated event bound and built, or refused; a repeated `event_id` is refused after its first."""
    judged = Judged([], [])
    first_index: dict[uuid.UUID, int] = {}

    def judge(index: int, event: EventRequest) -> ProductEvent | Errors:
        bound = bind(event, sender, plans)
        if isinstance(bound, list):
            return bound
        if event.event_id in first_index:
            return [("event_id", f"repeats the event_id of event {first_index[event.event_id]}")]
        first_index[event.event_id] = index
        return build(event, bound, key=key, country=country, received_at=received_at)

    for index, item in enumerate(checked):
        outcome = judge(index, item) if isinstance(item, EventRequest) else item
        if isinstance(outcome, ProductEvent):
            judged.accepted.append(outcome)
        else:
            judged.rejected.append((index, outcome))
    return judged
