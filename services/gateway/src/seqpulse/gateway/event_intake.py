"""`POST /events` without I/O: parse, validate (the batch at once), check what needs the clock, bind to the
sender, and serialise the event to publish.

A batch is validated as plain dicts against `EventFields`, `EventRequest`'s rules declared for
pydantic-core alone, with the event id in its canonical spelling only: a thousand models per request (and
their UUIDs written back as text) were the largest part of the gateway's work per event. Whenever a batch
has anything `EventFields` refuses, each of its events is validated by `EventRequest` itself, so what is
refused, and why, is the model's; tests/unit/gateway/test_event_intake.py checks that both ways agree."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, NamedTuple, NotRequired

from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from seqpulse.common.messages.base import Encoded
from seqpulse.common.messages.product import (
    EVENT_NAME_PATTERN,
    MAX_AGE,
    MAX_FUTURE_SKEW,
    Plan,
    ProductEvent,
    as_utc,
    check_properties,
    pseudonymise,
)
from seqpulse.gateway.problems import Problem, bad_request
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.routes import json_object
from seqpulse.gateway.schemas.events import (
    MAX_BATCH,
    PATTERN_RULES,
    RFC3339_PATTERN,
    RFC3339_RULE,
    EventRequest,
)

Errors = list[tuple[str, str]]
# Who sends: a project (API key) or a user (token or session).
Sender = ProjectRow | Principal
# How str(uuid.UUID(...)) writes an id: for these, the text is the id.
CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class EventFields(TypedDict):
    """A valid event of a request: `EventRequest`'s fields and rules, its event id as canonical text. A
    field the sender left out is absent (the model's default is what `.get` gives)."""

    __pydantic_config__ = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[misc]

    event_id: Annotated[str, StringConstraints(strip_whitespace=False, pattern=CANONICAL_UUID)]  # as UUIDs
    event_name: Annotated[str, StringConstraints(max_length=80, pattern=EVENT_NAME_PATTERN)]
    user_id: NotRequired[Annotated[str, StringConstraints(min_length=1, max_length=256)] | None]
    project_id: NotRequired[uuid.UUID | None]
    plan: NotRequired[Plan | None]
    timestamp: NotRequired[Annotated[str, StringConstraints(pattern=RFC3339_PATTERN)] | None]
    properties: NotRequired[dict[str, Any]]


def fields_of(event: EventRequest) -> EventFields:
    """A valid model's fields in `EventFields`' form (those the sender gave)."""
    fields: dict[str, Any] = event.model_dump(exclude_unset=True)
    fields["event_id"] = str(event.event_id)
    return fields  # type: ignore[return-value]  # the model's fields, with the id as text


def parse_items(raw: bytes) -> tuple[list[object], bool]:
    """The events of the body and whether it was a batch; 400/413/422 for a body that holds none."""
    data = json_object(
        raw,
        missing='an event object or {"events": [...]} is required',
        wrong='must be a JSON object: one event, or {"events": [...]}',
    )
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


_EVENTS: TypeAdapter[list[EventFields]] = TypeAdapter(list[EventFields])


def check_all(items: Sequence[object], now: datetime) -> list[EventFields | Errors]:
    """Each event validated: the whole list in one pydantic-core call when every event is valid with its
    id written canonically (the usual case), event by event through `EventRequest` otherwise, to tell each
    bad one's reasons."""
    try:
        return list(_EVENTS.validate_python(items))
    except ValidationError:
        return [validate_item(item, now) for item in items]


def validate_item(item: object, now: datetime) -> EventFields | Errors:
    """The event, or every reason to refuse it: the model's, and for the fields the model found no fault
    with, the checks that come after it (`later_errors`), so a sender learns them all at once."""
    if not isinstance(item, dict):
        return [("event", "must be a JSON object")]
    try:
        return fields_of(EventRequest.model_validate(item))
    except ValidationError as exc:
        errors = [_reason(error) for error in exc.errors(include_url=False, include_input=False)]
    faulty = {field for field, _ in errors}
    timestamp = item.get("timestamp") if "timestamp" not in faulty else None
    properties = item.get("properties") if "properties" not in faulty else None
    _, later = later_errors(
        timestamp.strip() if isinstance(timestamp, str) else None,
        properties if isinstance(properties, dict) else None,
        now,
    )
    return errors + later


def _reason(error: Any) -> tuple[str, str]:
    field = ".".join(str(part) for part in error["loc"]) or "event"
    if field in PATTERN_RULES and error["type"] in ("string_pattern_mismatch", "string_type"):
        return field, PATTERN_RULES[field]
    return field, error["msg"]


def later_errors(
    timestamp: str | None, properties: dict[str, Any] | None, now: datetime
) -> tuple[datetime | None, Errors]:
    """What the model cannot check without calling Python: the time (in UTC) within 30 days before and
    5 minutes after `now`, and the properties' serialised size and characters."""
    errors: Errors = []
    when = None
    if timestamp is not None:
        try:
            # The pattern has made it RFC 3339; upper case turns its `t` and `z` into what Python reads.
            when = as_utc(datetime.fromisoformat(timestamp.upper()))
        except ValueError as exc:  # e.g. 2026-02-30
            errors.append(("timestamp", f"{RFC3339_RULE} ({exc})"))
        else:
            if when > now + MAX_FUTURE_SKEW:
                reason = "is more than 5 minutes in the future (check the sender's clock)"
                errors.append(("timestamp", reason))
            elif when < now - MAX_AGE:
                errors.append(("timestamp", f"is more than {MAX_AGE.days} days old"))
    if properties:
        try:
            check_properties(properties)
        except ValueError as exc:
            errors.append(("properties", str(exc)))
    return when, errors


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
    event: EventFields, sender: Sender, plans: dict[uuid.UUID, Plan]
) -> tuple[str | None, uuid.UUID | None, Plan | None] | Errors:
    """(user id, project id, plan) the event is recorded under, or why the sender may not send it."""
    sent = event.get("user_id")
    sent_user = canonical_user_id(sent) if sent is not None else None
    project_id = event.get("project_id")
    plan = event.get("plan")
    if isinstance(sender, ProjectRow):
        if project_id is not None and project_id != sender.id:
            return [("project_id", "must be the API key's project, or omitted")]
        return sent_user, sender.id, plan or sender.plan
    who = sender
    errors: Errors = []
    user_id = sent_user or str(who.user_id)
    if user_id != str(who.user_id) and not who.sees_everything:
        errors.append(
            ("user_id", "must be your own user id, or omitted, when sending with a user's credentials")
        )
    if project_id is not None:
        if project_id not in plans:
            errors.append(("project_id", "no such project among the ones you can see"))
        plan = plan or plans.get(project_id)
    return errors or (user_id, project_id, plan)


def build(
    event: EventFields,
    bound: tuple[str | None, uuid.UUID | None, Plan | None],
    *,
    key: bytes,
    country: str | None,
    occurred_at: datetime,
    received_at: datetime,
    prefix: str,
    project_text: dict[uuid.UUID, str],
) -> Encoded:
    """The event to publish, serialised. Every field comes from a value already checked against the same
    rules as `ProductEvent`'s (the request's rules, `later_errors`, the pseudonym, the GeoIP code, the
    sender's plan), so it is written without building the model: that took a third of the gateway's time
    per event. tests/unit/gateway/test_event_intake.py checks that what it writes is a valid
    `ProductEvent`. `project_text`: the request's project ids as text, each written once."""
    user_id, project_id, plan = bound
    text = None
    if project_id is not None:
        text = project_text.get(project_id)
        if text is None:
            text = project_text[project_id] = str(project_id)
    return ProductEvent.encode(
        prefix,
        message_id=event["event_id"],  # the sender's id: the key in the table, and of the frame
        event_name=event["event_name"],
        occurred_at=occurred_at,
        received_at=received_at,
        user_key=user_key_of(user_id, key) if user_id is not None else None,
        project_id=text,
        plan=plan,
        country=country,
        properties=event.get("properties") or {},
        source="http",
    )


class Judged(NamedTuple):
    """The events to publish, and the index and reasons of each refused one."""

    accepted: list[Encoded]
    rejected: list[tuple[int, Errors]]


def judge_all(
    checked: list[EventFields | Errors],
    sender: Sender,
    plans: dict[uuid.UUID, Plan],
    *,
    key: bytes,
    country: str | None,
    received_at: datetime,
    prefix: str,
) -> Judged:
    """Each validated event checked against the clock, bound and built, or refused; a repeated `event_id`
    is refused after its first."""
    judged = Judged([], [])
    first_index: dict[str, int] = {}
    project_text: dict[uuid.UUID, str] = {}

    def judge(index: int, event: EventFields) -> Encoded | Errors:
        when, errors = later_errors(event.get("timestamp"), event.get("properties"), received_at)
        if errors:
            return errors
        bound = bind(event, sender, plans)
        if isinstance(bound, list):
            return bound
        event_id = event["event_id"]
        if event_id in first_index:
            return [("event_id", f"repeats the event_id of event {first_index[event_id]}")]
        first_index[event_id] = index
        return build(
            event,
            bound,
            key=key,
            country=country,
            occurred_at=when or received_at,
            received_at=received_at,
            prefix=prefix,
            project_text=project_text,
        )

    for index, item in enumerate(checked):
        outcome = judge(index, item) if isinstance(item, dict) else item
        if isinstance(outcome, Encoded):
            judged.accepted.append(outcome)
        else:
            judged.rejected.append((index, outcome))
    return judged
