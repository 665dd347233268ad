"""Product analytics events: the model every producer publishes on `seqpulse.events.v1.<event_name>`.

Producers are the gateway (`POST /events`, and its own instrumentation) and any internal service of the
company publishing straight onto NATS. The ingest service stores them. No field may hold an IP address
or a raw user id: `country` is resolved and the user id pseudonymised (`pseudonymise`) before publishing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import orjson
from pydantic import Field, field_validator, model_validator

from seqpulse.common.messages.base import Encoded, Message, subject_for

# The nine events of design-notes/founder-observability.md, with the properties each documents.
KNOWN_EVENTS: dict[str, dict[str, str]] = {
    "user_signup": {"method": "how the account was created: 'password' or 'admin'"},
    "user_login": {"method": "'password'"},
    "project_created": {"plan": "the project's plan", "envs": "number of environments"},
    "deployment_triggered": {"env": "the environment", "deployment_id": "the deployment's UUID"},
    "deployment_finished": {
        "env": "the environment",
        "deployment_id": "the deployment's UUID",
        "pipeline_result": "'success' or 'failed'",
    },
    "analysis_completed": {
        "deployment_id": "the deployment's UUID",
        "verdict": "'ok', 'warning', 'rollback_recommended' or 'not_enough_data'",
        "duration_ms": "window close to verdict, in milliseconds",
    },
    "verdict_viewed": {"deployment_id": "the deployment's UUID", "verdict": "the verdict shown"},
    "sdh_viewed": {"severity": "the severity filter, if any", "hints": "number of hints shown"},
    "settings_updated": {"area": "what changed: 'project', 'policy', 'endpoint', 'hmac', 'api_key', 'token'"},
}
# Any other name must carry this prefix, so a typo of a known name is an error rather than a new event.
# The validators below use `fullmatch`: with `match`, Python's `$` also matches before a final newline, and
# `"custom.ok\n"` would be a name. (pydantic-core's own regex engine reads the patterns strictly.)
CUSTOM_PREFIX = "custom."
_CUSTOM_NAME = re.compile(r"^custom\.[a-z][a-z0-9_]{0,62}$")
# The same rule as one pattern, for models that let pydantic-core check it (it runs no Python per value).
EVENT_NAME_PATTERN = "^(?:" + "|".join(map(re.escape, KNOWN_EVENTS)) + r"|custom\.[a-z][a-z0-9_]{0,62})$"
EVENT_NAME_RULE = (
    f"must be one of the known events ({', '.join(sorted(KNOWN_EVENTS))}) "
    f"or '{CUSTOM_PREFIX}<name>' with lower-case letters, digits and '_'"
)
MAX_PROPERTIES_BYTES = 4096
# An event may be late (offline clients, retries) but not from the future beyond clock skew.
MAX_FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=30)
Plan = Literal["free", "pro", "enterprise"]
COUNTRY_PATTERN = r"^[A-Z]{2}$"
USER_KEY_PATTERN = r"^[0-9a-f]{32}$"
_COUNTRY = re.compile(COUNTRY_PATTERN)
_USER_KEY = re.compile(USER_KEY_PATTERN)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC, with `datetime.UTC` itself as its tzinfo: comparisons and days between such times
    skip the tzinfo calls that pydantic's parsed offsets cost (a microsecond each, several per event)."""
    if value.tzinfo is UTC:
        return value
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("must carry a time zone (UTC recommended, e.g. 2026-11-22T10:00:00Z)")
    return value.replace(tzinfo=UTC) if not offset else value.astimezone(UTC)


def pseudonymise(user_id: str, key: bytes) -> str:
    """A keyed hash of a user id (HMAC-SHA256, 128 bits): stable per user, meaningless without the key."""
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()[:32]


def check_event_name(name: str) -> str:
    if name in KNOWN_EVENTS or _CUSTOM_NAME.fullmatch(name):
        return name
    raise ValueError(EVENT_NAME_RULE)


def check_country(value: str) -> str:
    if _COUNTRY.fullmatch(value):
        return value
    raise ValueError("must be an ISO 3166-1 alpha-2 code like 'FR'")


def check_user_key(value: str) -> str:
    if _USER_KEY.fullmatch(value):
        return value
    raise ValueError("must be a pseudonymised user id (32 lower-case hex characters)")


def check_properties(value: dict[str, Any]) -> dict[str, Any]:
    encode_properties(value)
    return value


def encode_properties(value: dict[str, Any]) -> bytes:
    """The properties' JSON, once they are checked: plain JSON, at most MAX_PROPERTIES_BYTES, no U+0000.
    Raises ValueError naming the fault."""
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        # pydantic turns only a ValueError into a validation error; orjson's TypeError would be a crash.
        raise ValueError(f"must be plain JSON ({exc})") from exc
    if len(encoded) > MAX_PROPERTIES_BYTES:
        raise ValueError(
            f"must serialise to at most {MAX_PROPERTIES_BYTES} bytes of JSON (got {len(encoded)})"
        )
    # orjson writes U+0000 as \u0000, so the walk is only needed when that text appears at all.
    if b"\\u0000" in encoded and _has_nul(value):
        # Postgres cannot store U+0000 in jsonb: such an event would be accepted and never stored.
        raise ValueError("must not contain the character U+0000")
    return encoded


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class ProductEvent(Message):
    """One product event. `message_id` is the producer's event id: a redelivery is stored once."""

    AREA: ClassVar[str] = "events"
    EVENT: ClassVar[str] = "product"

    event_name: str
    # When it happened (UTC), as told by the producer; `received_at` is when SeqPulse accepted it.
    occurred_at: datetime
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    user_key: str | None = None
    project_id: uuid.UUID | None = None
    plan: Plan | None = None
    country: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    source: Literal["http", "internal"] = "internal"

    @field_validator("event_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_event_name(value)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_properties(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        return None if value is None else check_country(value)

    @field_validator("user_key")
    @classmethod
    def _user_key(cls, value: str | None) -> str | None:
        return None if value is None else check_user_key(value)

    @field_validator("occurred_at", "received_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return as_utc(value)

    @model_validator(mode="after")
    def _not_from_the_future(self) -> ProductEvent:
        if self.occurred_at > self.received_at + MAX_FUTURE_SKEW:
            raise ValueError("occurred_at is more than 5 minutes after the time it was received")
        return self

    def topic(self, prefix: str) -> str:
        """`<prefix>.events.v1.<event_name>`: consumers can filter on the name."""
        return subject_for(prefix, self.AREA, self.VERSION, self.event_name)

    @classmethod
    def encode(
        cls,
        prefix: str,
        *,
        message_id: str,
        event_name: str,
        occurred_at: datetime,
        received_at: datetime,
        user_key: str | None,
        project_id: uuid.UUID | str | None,
        plan: Plan | None,
        country: str | None,
        properties: dict[str, Any] | orjson.Fragment,
        source: Literal["http", "internal"],
    ) -> Encoded:
        """The event's JSON from values its producer has already checked against this model's rules,
        without building the model: `POST /events` does so a thousand times a request, and building and
        serialising the model cost more than the rest of its work. Every field must be given (no default
        is filled in); tests/unit/common/test_product_event_encode.py checks that what it writes decodes
        to the same event. orjson writes the times in RFC 3339 and the UUID as text."""
        data = orjson.dumps(
            {
                "message_id": message_id,
                "occurred_at": occurred_at,
                "event_name": event_name,
                "received_at": received_at,
                "user_key": user_key,
                # str(): the driver's UUID type is not the standard library's, which orjson writes itself.
                # A producer writing many events of one project may give its text, written once.
                "project_id": str(project_id) if project_id is not None else None,
                "plan": plan,
                "country": country,
                "properties": properties,
                "source": source,
            }
        )
        return Encoded(subject_for(prefix, cls.AREA, cls.VERSION, event_name), message_id, data)

    # What the events of one request and name share, written once in their frame (frames.py's shared form);
    # `encode_own` writes the rest of each.
    SHARED_FIELDS: ClassVar[tuple[str, ...]] = (
        "event_name",
        "received_at",
        "project_id",
        "country",
        "source",
    )

    @classmethod
    def encode_shared(
        cls,
        prefix: str,
        *,
        event_name: str,
        received_at: datetime,
        project_id: uuid.UUID | str | None,
        country: str | None,
        source: Literal["http", "internal"],
    ) -> tuple[str, bytes]:
        """The subject of events of this name, and the JSON of the fields (`SHARED_FIELDS`) they all have,
        from values checked as `encode`'s are."""
        data = orjson.dumps(
            {
                "event_name": event_name,
                "received_at": received_at,
                "project_id": str(project_id) if project_id is not None else None,
                "country": country,
                "source": source,
            }
        )
        return subject_for(prefix, cls.AREA, cls.VERSION, event_name), data

    @staticmethod
    def encode_own(
        subject: str,
        *,
        message_id: str,
        occurred_at: datetime,
        user_key: str | None,
        plan: Plan | None,
        properties: dict[str, Any] | orjson.Fragment,
    ) -> Encoded:
        """An event of a frame in the shared form, on `subject` (`encode_shared`'s): its fields but the
        shared ones, from values checked as `encode`'s are."""
        data = orjson.dumps(
            {
                "message_id": message_id,
                "occurred_at": occurred_at,
                "user_key": user_key,
                "plan": plan,
                "properties": properties,
            }
        )
        return Encoded(subject, message_id, data)
