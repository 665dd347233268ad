"""`POST /events` without I/O: what `judge_all` writes is a valid `ProductEvent` (it is serialised without
building the model), a batch validated at once is judged as event by event, and what is refused is
refused with the field and every reason."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from seqpulse.common.messages.base import Encoded
from seqpulse.common.messages.product import KNOWN_EVENTS, MAX_PROPERTIES_BYTES, ProductEvent, pseudonymise
from seqpulse.gateway.event_intake import check_all, judge_all, validate_item
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.schemas.events import RFC3339_RULE

KEY = b"unit-analytics-key-0123456789abcdef"
NOW = datetime.now(UTC)
PREFIX = "unit"


def project(plan: str = "pro") -> ProjectRow:
    return ProjectRow(
        id=uuid.uuid4(), owner_id=uuid.uuid4(), name="p", description="", plan=plan,  # type: ignore[arg-type]
        envs=["prod"], window_sequences=None, metrics_endpoint_candidate=None, metrics_endpoint_active=None,
        endpoint_state="none", endpoint_host_lock=None, endpoint_change_count=0, endpoint_migration_count=0,
        endpoint_last_verified_at=None, endpoint_last_test_error=None, baseline_version=0,
        hmac_enabled=False, hmac_secret_enc=None, deployment_counter=0, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def random_item(rng: random.Random) -> dict[str, Any]:
    """A valid event as a sender may write it: any known or custom name, ids of any shape, offsets."""
    item: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_name": rng.choice([*KNOWN_EVENTS, "custom.report_exported", "custom.a1_b"]),
    }
    if rng.random() < 0.8:
        offset = timezone(timedelta(minutes=rng.choice([0, 0, 120, -300, 330])))
        moment = NOW - timedelta(seconds=rng.uniform(0, 29 * 86400))
        text = moment.astimezone(offset).isoformat()
        item["timestamp"] = text.replace("+00:00", "Z") if rng.random() < 0.5 else text
    if rng.random() < 0.9:
        item["user_id"] = rng.choice(["user-7", str(uuid.uuid4()).upper(), "{" + str(uuid.uuid4()) + "}"])
    if rng.random() < 0.5:
        item["plan"] = rng.choice(["free", "pro", "enterprise"])
    if rng.random() < 0.7:
        item["properties"] = {"env": "prod", "n": rng.randint(0, 9), "nested": {"ok": [1, "two", None]}}
    return item


def decoded(encoded: Encoded) -> ProductEvent:
    """What ingest reads of it: the model validated from the bytes, on the subject it was published on."""
    event = ProductEvent.from_bytes(encoded.data)
    assert encoded.subject == event.topic(PREFIX) and encoded.msg_id == event.message_id
    return event


@pytest.mark.parametrize("country", ["FR", None])
def test_what_judge_all_writes_is_a_valid_product_event_with_the_sent_values(country: str | None) -> None:
    rng = random.Random(11)
    items = [random_item(rng) for _ in range(400)]
    sender = project()
    received = datetime.now(UTC)
    checked = check_all(items, received)
    assert all(isinstance(c, dict) for c in checked)  # the whole batch in one call, no model
    accepted, rejected = judge_all(
        checked, sender, {}, key=KEY, country=country, received_at=received, prefix=PREFIX
    )
    assert rejected == [] and len(accepted) == len(items)
    for item, encoded in zip(items, accepted, strict=True):
        event = decoded(encoded)
        assert event.message_id == str(uuid.UUID(item["event_id"])) and event.event_name == item["event_name"]
        assert event.occurred_at.utcoffset() == timedelta(0) and event.received_at == received
        if "timestamp" in item:
            assert event.occurred_at == datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00"))
        else:
            assert event.occurred_at == received
        assert event.project_id == sender.id and event.plan == item.get("plan", "pro")
        assert event.country == country and event.source == "http"
        assert event.properties == item.get("properties", {})
        if "user_id" in item:
            sent = item["user_id"]
            canonical = str(uuid.UUID(sent)) if sent != "user-7" else sent
            assert event.user_key == pseudonymise(canonical, KEY)
        else:
            assert event.user_key is None


def test_a_batch_with_bad_events_is_judged_as_its_events_one_by_one() -> None:
    rng = random.Random(5)
    items: list[Any] = [random_item(rng) for _ in range(50)]
    items[3] = {**items[3], "event_name": "signup"}
    items[7] = "not an object"
    items[9] = {**items[9], "colour": "blue"}
    checked = check_all(items, NOW)
    assert checked == [validate_item(item, NOW) for item in items]
    assert [i for i, c in enumerate(checked) if not isinstance(c, dict)] == [3, 7, 9]
    assert check_all([items[0], items[1]], NOW) == [
        validate_item(items[0], NOW),
        validate_item(items[1], NOW),
    ]


# Values of each field in forms the one-call validation leaves to the model, valid or not.
AWKWARD: dict[str, list[Any]] = {
    "event_id": [
        str(uuid.UUID(int=5)).upper(),
        "{" + str(uuid.UUID(int=5)) + "}",
        uuid.UUID(int=5).hex,
        " " + str(uuid.UUID(int=5)) + " ",
        "urn:uuid:" + str(uuid.UUID(int=5)),
        "not-a-uuid",
        5,
        None,
    ],
    "event_name": [" user_login ", "user_login\n", "Signup", "custom." + "a" * 63, "custom." + "a" * 80, 5],
    "user_id": ["", " ", " bob ", "u" * 256, "u" * 257, 5, None],
    "project_id": [str(uuid.UUID(int=1)).upper(), "{" + str(uuid.UUID(int=1)) + "}", "nope", None],
    "plan": ["pro", "PRO", " pro ", None, 1],
    "timestamp": [
        " 2026-11-22T09:00:00Z ",
        "2026-11-22t09:00:00z",
        "2026-11-22 09:00:00+01:00",
        "2026-11-22T09:00:00.123456789Z",
        "2026-11-22T09:00:00",
        "2026-02-30T09:00:00Z",
        1_700_000_000,
        None,
    ],
    "properties": [{}, {"a": 1}, [], None, "x", {"a": "\x00"}, {"big": "x" * MAX_PROPERTIES_BYTES}],
    "colour": ["blue"],
}


def test_the_batch_at_once_gives_what_the_model_gives_for_each_event() -> None:
    rng = random.Random(21)
    cases = [(field, value) for field, values in AWKWARD.items() for value in values]
    for field, value in cases:
        item = {**random_item(rng), field: value}
        for items in ([item], [random_item(rng), item]):
            assert check_all(items, NOW) == [validate_item(i, NOW) for i in items], (field, value)
        absent = {k: v for k, v in random_item(rng).items() if k != field}
        assert check_all([absent], NOW) == [validate_item(absent, NOW)], field
    for _ in range(300):  # and any mix of them
        items = [random_item(rng) for _ in range(rng.randint(1, 5))]
        for _ in range(rng.randint(0, 2)):
            field, value = rng.choice(cases)
            items[rng.randrange(len(items))][field] = value
        assert check_all(items, NOW) == [validate_item(i, NOW) for i in items]


def login(**fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_name": "user_login", **fields}


def test_every_reason_of_an_event_is_told_at_once_in_words_not_patterns() -> None:
    item = {
        "event_id": "not-a-uuid",
        "event_name": "Signup",
        "timestamp": (NOW - timedelta(days=31)).isoformat(),
        "properties": {"blob": "x" * MAX_PROPERTIES_BYTES},
    }
    errors = validate_item(item, NOW)
    assert isinstance(errors, list)
    reasons = dict(errors)
    assert set(reasons) == {"event_id", "event_name", "timestamp", "properties"}
    assert "custom.<name>" in reasons["event_name"] and "^" not in reasons["event_name"]
    assert reasons["timestamp"] == "is more than 30 days old"
    assert f"at most {MAX_PROPERTIES_BYTES} bytes" in reasons["properties"]
    for bad in ("yesterday", 1_700_000_000, "2026-11-22T10:00:00", "2026-11-22", "2026-11-22T10:00:00+0100"):
        assert validate_item(login(timestamp=bad), NOW) == [("timestamp", RFC3339_RULE)]


def judged(item: dict[str, Any]) -> list[tuple[int, list[tuple[str, str]]]]:
    checked = check_all([item], NOW)
    return judge_all(checked, project(), {}, key=KEY, country=None, received_at=NOW, prefix=PREFIX).rejected


def test_the_checks_the_model_cannot_make_run_on_the_events_it_accepts() -> None:
    soon = (NOW + timedelta(minutes=4)).isoformat()
    late = (NOW + timedelta(minutes=6)).isoformat()
    old = (NOW - timedelta(days=30, seconds=1)).isoformat()
    assert judged(login(timestamp=soon)) == []
    assert judged(login(timestamp=late)) == [
        (0, [("timestamp", "is more than 5 minutes in the future (check the sender's clock)")])
    ]
    assert judged(login(timestamp=old)) == [(0, [("timestamp", "is more than 30 days old")])]
    assert judged(login(timestamp=old.replace("+00:00", "z").replace("T", "t"))) == judged(
        login(timestamp=old)
    )
    assert judged(login(timestamp="2026-02-30T10:00:00Z")) == [
        (0, [("timestamp", f"{RFC3339_RULE} (day is out of range for month)")])
    ]
    assert judged(login(properties={"nul": "a\x00b"})) == [
        (0, [("properties", "must not contain the character U+0000")])
    ]


def test_a_user_sender_sees_its_own_id_and_the_plan_of_a_project_it_can_see() -> None:
    who = Principal(user_id=uuid.uuid4(), token_id=uuid.uuid4(), is_admin=False, scopes=frozenset({"write"}))
    mine = uuid.uuid4()
    items = [
        {"event_id": str(uuid.uuid4()), "event_name": "user_login"},
        {"event_id": str(uuid.uuid4()), "event_name": "sdh_viewed", "project_id": str(mine)},
        {"event_id": str(uuid.uuid4()), "event_name": "sdh_viewed", "project_id": str(uuid.uuid4())},
        {"event_id": str(uuid.uuid4()), "event_name": "user_login", "user_id": "someone-else"},
    ]
    checked = check_all(items, NOW)
    accepted, rejected = judge_all(
        checked, who, {mine: "enterprise"}, key=KEY, country=None, received_at=NOW, prefix=PREFIX
    )
    events = [decoded(encoded) for encoded in accepted]
    assert [e.user_key for e in events] == [pseudonymise(str(who.user_id), KEY)] * 2
    assert events[1].plan == "enterprise"
    assert [(i, [f for f, _ in errs]) for i, errs in rejected] == [(2, ["project_id"]), (3, ["user_id"])]
