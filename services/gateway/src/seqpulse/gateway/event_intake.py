"""`POST /events` without I/O: parse, validate (the batch at once), check what needs the clock, bind to the
sender, and serialise the event to publish.

A batch is validated as plain dicts against `EventFields`, `EventRequest`'s rules declared for
pydantic-core alone, with the event id in its canonical spelling only: a thousand models per request (and
their UUIDs written back as text) were the largest part of the gateway's work per event. Whenever a batch
has anything `EventFields` refuses, each of its events is validated by `EventRequest` itself, so what is
refused, and why, is the model's; tests/unit/gateway/test_event_intake.py checks that both ways agree.

Before that, `checked_events` tries a faster way for the usual body, `{"events": [...]}` with 1 to
`MAX_BATCH` events that are all plainly valid: msgspec reads the bytes straight into `_Event` structs,
checking JSON, types, literals and lengths in C, and what it leaves (the patterns, and that no text has
whitespace at either end) is checked in a few passes over the whole batch or once per distinct value.
Parsing with orjson and then validating the dicts took about twice as long. The fast way accepts only a
subset of what `EventFields` accepts, read to the same values: texts the models would strip, ids not in
canonical spelling, integers beyond 64 bits (orjson reads them as floats, msgspec as integers), properties
nested deeper than `PROPERTY_DEPTH`, and anything else unusual make it give up, and the body is then
parsed and validated as above. So every refusal, its reason and its status code still come from orjson
and the models; the fast way only saves time on bodies they would accept as they are."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, NotRequired, TypeAlias

import msgspec
import orjson
from msgspec import UNSET, UnsetType
from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from seqpulse.common.messages.base import Encoded
from seqpulse.common.messages.product import (
    EVENT_NAME_PATTERN,
    KNOWN_EVENTS,
    MAX_AGE,
    MAX_FUTURE_SKEW,
    Plan,
    ProductEvent,
    as_utc,
    encode_properties,
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


def checked_events(raw: bytes, now: datetime) -> tuple[list[EventFields | Errors], bool]:
    """The events of the body, each valid or with every reason to refuse it, and whether the body was a
    batch: read the fast way (`plain_batch`) when it vouches for every event, parsed and checked by
    `parse_items` and `check_all` otherwise (and then with their answers: 400, 413, 422)."""
    plain = plain_batch(raw)
    if plain is not None:
        return plain, True
    items, batched = parse_items(raw)
    return check_all(items, now), batched


def _exact(pattern: str) -> re.Pattern[str]:
    """`^…$` for Python's `re` as the whole text: its `$` also matches before a final newline."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"not anchored: {pattern}")
    return re.compile(rf"\A{pattern[1:-1]}\Z")


EXACT_EVENT_NAME = _exact(EVENT_NAME_PATTERN)
EXACT_UUID = _exact(CANONICAL_UUID)
# The timestamp's rule with ASCII digits only (Python's `\d`, as the Rust regex's, takes any digit of
# Unicode): what gives the fast way's shapes of a timestamp below.
EXACT_RFC3339 = _exact(RFC3339_PATTERN.replace(r"\d", "[0-9]"))
# A property nested deeper than this (an object or array in one, and so on) is read the slow way. The
# bound also keeps msgspec's recursion shallow: it stops at Python's recursion limit, orjson at 1024
# levels. msgspec builds its reader of the union below level by level: each one more doubles the time it
# takes at import (a millisecond at 6).
PROPERTY_DEPTH = 6
# msgspec reads an integer beyond 64 bits as an int, orjson as a float: such a property, as one in the
# top half of the unsigned range (which orjson reads as an int but msgspec's bounds cannot express), is
# left to the slow way.
_Scalar = str | Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)] | float | bool | None


def _json_value(depth: int) -> Any:
    value: Any = _Scalar
    for _ in range(depth):
        value = _Scalar | list[value] | dict[str, value]
    return value


if TYPE_CHECKING:
    _Property: TypeAlias = Any
else:
    _Property = _json_value(PROPERTY_DEPTH)


class _Event(msgspec.Struct, forbid_unknown_fields=True, gc=False):  # gc: an event holds no cycle
    """`EventFields` as msgspec can check it in C: the types, the plan, the lengths. The rest (patterns,
    whitespace at either end of a text, the project's UUID) is checked by `_plain_events`. A field the
    sender left out is UNSET."""

    event_id: str
    event_name: Annotated[str, msgspec.Meta(max_length=80)]
    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | UnsetType | None = UNSET
    project_id: str | UnsetType | None = UNSET
    plan: Plan | UnsetType | None = UNSET
    timestamp: str | UnsetType | None = UNSET
    properties: dict[str, _Property] | UnsetType = UNSET


class _Batch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: Annotated[list[_Event], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]


_BATCH = msgspec.json.Decoder(_Batch)
# Texts already found free of whitespace at either end and, for names, matching the pattern: a batch
# repeats a few names, property keys and users. Bounded: beyond this many, the memory starts over.
VOUCHED_LIMIT = 65_536
_NAMES: set[str] = set(KNOWN_EVENTS)
_USER_IDS: set[str] = set()
_PROPERTY_KEYS: set[str] = set()


def _vouch(vouched: set[str], text: str) -> None:
    if len(vouched) >= VOUCHED_LIMIT:
        vouched.clear()
    vouched.add(text)


def plain_batch(raw: bytes) -> list[EventFields | Errors] | None:
    """The events of `{"events": [...]}`, each as `check_all` gives it, when every one of them is valid
    as sent: nothing to strip, ids written canonically, properties msgspec reads as orjson does. None for
    any other body, valid or not, for `parse_items` and `check_all` to answer.

    msgspec refuses what orjson refuses (NaN and Infinity, numbers beyond a float's range, lone surrogates,
    bytes that are not UTF-8, a BOM, anything after the value) and reads a repeated key as orjson does
    (its last value); tests/unit/gateway/test_event_intake.py checks each on JSON texts."""
    if raw.find(b'"events"', 0, 64) < 0:  # one event, most likely: not worth msgspec's error
        return None
    try:
        return _plain_events(_BATCH.decode(raw).events)
    except (msgspec.MsgspecError, ValueError):  # ValueError: e.g. a text not UTF-8
        return None


def _plain_events(events: list[_Event]) -> list[EventFields | Errors] | None:
    """The events as `EventFields`, or None at the first one the model might read otherwise."""
    names, user_ids, keys = _NAMES, _USER_IDS, _PROPERTY_KEYS
    projects: dict[str, uuid.UUID] = {}
    event_ids: list[str] = []
    timestamps: list[str] = []
    checked: list[EventFields | Errors] = []
    for event in events:
        name = event.event_name
        if name not in names:
            if not EXACT_EVENT_NAME.match(name):
                return None
            _vouch(names, name)
        event_ids.append(event.event_id)
        # (mypy takes EventFields' `__pydantic_config__` for a key it lacks)
        fields: EventFields = {"event_id": event.event_id, "event_name": name}  # type: ignore[typeddict-item]
        # The model strips every text it reads as `str`, of white space as Rust's `trim` knows it, all of
        # which `str.strip` strips too (the tests check): a text that would lose anything is the model's.
        if (user_id := event.user_id) is not UNSET:
            if user_id is not None and user_id not in user_ids:
                if user_id.strip() != user_id:
                    return None
                _vouch(user_ids, user_id)
            fields["user_id"] = user_id
        if (project_id := event.project_id) is not UNSET:
            if project_id is not None:
                project = projects.get(project_id)
                if project is None:
                    if not EXACT_UUID.match(project_id):
                        return None
                    project = projects[project_id] = uuid.UUID(project_id)
                fields["project_id"] = project
            else:
                fields["project_id"] = None
        if (plan := event.plan) is not UNSET:
            fields["plan"] = plan
        if (timestamp := event.timestamp) is not UNSET:
            if timestamp is not None:
                timestamps.append(timestamp)
            fields["timestamp"] = timestamp
        if (properties := event.properties) is not UNSET:
            if not keys.issuperset(properties):
                for key in properties:
                    if key.strip() != key:  # the keys of `dict[str, Any]` are stripped too
                        return None
                    _vouch(keys, key)
            fields["properties"] = properties
        checked.append(fields)
    if not (_all_canonical(event_ids) and _all_rfc3339(timestamps)):
        return None
    return checked


# Texts checked together by their shape: each byte of their UTF-8 mapped to its class (one C pass over
# the batch), then compared, instead of a regex per event (a third of a microsecond each).
_UUID_CLASSES = bytes(
    ord("h") if chr(byte) in "0123456789abcdef" else byte if chr(byte) in "-," else ord("?")
    for byte in range(256)
)
_UUID_SHAPE = b"hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh,"
_DIGIT_CLASSES = bytes(
    ord("9") if chr(byte) in "0123456789" else byte if byte < 128 else ord("?") for byte in range(256)
)
# The shapes of a timestamp `RFC3339_PATTERN` accepts (digits written 9): those of these candidates its
# exact copy matches, so a rule made narrower narrows them too (tests/unit/gateway checks that they are
# the 120 of today's rule, and that the model accepts each).
RFC3339_SHAPES = frozenset(
    shape.encode()
    for separator in "Tt _"
    for fraction in ("", *("." + "9" * digits for digits in range(1, 13)))
    for zone in ("Z", "z", "+99:99", "-99:99", "+9999", "")
    if EXACT_RFC3339.match(shape := f"9999-99-99{separator}99:99:99{fraction}{zone}")
)


def _all_canonical(event_ids: list[str]) -> bool:
    """Whether every id is a UUID as `str(uuid.UUID(...))` writes it. Joined with commas: the commas of the
    shape are where the separators must be, so each id is 36 bytes of that shape (a comma in an id would
    add one)."""
    joined = (",".join(event_ids) + ",").encode()
    return joined.translate(_UUID_CLASSES) == _UUID_SHAPE * len(event_ids)


def _all_rfc3339(timestamps: list[str]) -> bool:
    """Whether every timestamp matches `EXACT_RFC3339` (a newline in one would make one more)."""
    if not timestamps:
        return True
    shapes = "\n".join(timestamps).encode().translate(_DIGIT_CLASSES).split(b"\n")
    return len(shapes) == len(timestamps) and RFC3339_SHAPES.issuperset(shapes)


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
    _, _, later = later_errors(
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
) -> tuple[datetime | None, bytes | None, Errors]:
    """What the model cannot check without calling Python: the time (in UTC) within 30 days before and
    5 minutes after `now`, and the properties' serialised size and characters. Returns the time, the
    properties' JSON that was checked (None if there are none, or they fail), which the published event
    then carries as it is, and the reasons to refuse the event."""
    errors: Errors = []
    when = None
    encoded = None
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
            encoded = encode_properties(properties)
        except ValueError as exc:
            errors.append(("properties", str(exc)))
    return when, encoded, errors


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


class SharedFields:
    """The fields an API key's events of one request and name all have (their name, time of receipt,
    project, country and source), written once per frame (frames.py's shared form): by subject, their
    JSON, and each name's subject."""

    def __init__(self, *, prefix: str, received_at: datetime, project_id: uuid.UUID, country: str | None):
        self.prefix = prefix
        self.received_at = received_at
        self.project_text = str(project_id)
        self.country = country
        self.by_subject: dict[str, bytes] = {}
        self._subjects: dict[str, str] = {}

    def subject(self, event_name: str) -> str:
        subject = self._subjects.get(event_name)
        if subject is None:
            subject, data = ProductEvent.encode_shared(
                self.prefix,
                event_name=event_name,
                received_at=self.received_at,
                project_id=self.project_text,
                country=self.country,
                source="http",
            )
            self._subjects[event_name] = subject
            self.by_subject[subject] = data
        return subject


def build(
    event: EventFields,
    bound: tuple[str | None, uuid.UUID | None, Plan | None],
    *,
    key: bytes,
    country: str | None,
    occurred_at: datetime,
    received_at: datetime,
    properties: bytes | None,
    prefix: str,
    project_text: dict[uuid.UUID, str],
    shared: SharedFields | None,
) -> Encoded:
    """The event to publish, serialised. Every field comes from a value already checked against the same
    rules as `ProductEvent`'s (the request's rules, `later_errors`, the pseudonym, the GeoIP code, the
    sender's plan), so it is written without building the model: that took a third of the gateway's time
    per event. tests/unit/gateway/test_event_intake.py checks that what it writes is a valid
    `ProductEvent`. `properties`: their JSON as `later_errors` checked it (None: `{}`), not serialised
    again. `project_text`: the request's project ids as text, each written once. `shared`: for an API
    key's events, the fields they share, which the event's JSON then leaves out."""
    user_id, project_id, plan = bound
    user_key = user_key_of(user_id, key) if user_id is not None else None
    sent: dict[str, Any] | orjson.Fragment = orjson.Fragment(properties) if properties is not None else {}
    if shared is not None:
        return ProductEvent.encode_own(
            shared.subject(event["event_name"]),
            message_id=event["event_id"],  # the sender's id: the key in the table, and of the frame
            occurred_at=occurred_at,
            user_key=user_key,
            plan=plan,
            properties=sent,
        )
    text = None
    if project_id is not None:
        text = project_text.get(project_id)
        if text is None:
            text = project_text[project_id] = str(project_id)
    return ProductEvent.encode(
        prefix,
        message_id=event["event_id"],
        event_name=event["event_name"],
        occurred_at=occurred_at,
        received_at=received_at,
        user_key=user_key,
        project_id=text,
        plan=plan,
        country=country,
        properties=sent,
        source="http",
    )


class Judged(NamedTuple):
    """The events to publish, the index and reasons of each refused one, and by subject the JSON of the
    fields the events on it share and leave out (an API key's: frames.py's shared form)."""

    accepted: list[Encoded]
    rejected: list[tuple[int, Errors]]
    shared: dict[str, bytes]


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
    # An API key's events all have its project: what they share is written once per frame.
    shared = (
        SharedFields(prefix=prefix, received_at=received_at, project_id=sender.id, country=country)
        if isinstance(sender, ProjectRow)
        else None
    )
    judged = Judged([], [], shared.by_subject if shared is not None else {})
    first_index: dict[str, int] = {}
    project_text: dict[uuid.UUID, str] = {}

    def judge(index: int, event: EventFields) -> Encoded | Errors:
        when, properties, errors = later_errors(event.get("timestamp"), event.get("properties"), received_at)
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
            properties=properties,
            prefix=prefix,
            project_text=project_text,
            shared=shared,
        )

    for index, item in enumerate(checked):
        outcome = judge(index, item) if isinstance(item, dict) else item
        if isinstance(outcome, Encoded):
            judged.accepted.append(outcome)
        else:
            judged.rejected.append((index, outcome))
    return judged
