"""`POST /events` event by event without I/O: what `judge_all` builds is a valid `ProductEvent` (it is
assembled without validating again), and what it refuses is refused with the field and the reason."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from seqpulse.common.messages.product import KNOWN_EVENTS, ProductEvent, pseudonymise
from seqpulse.gateway.event_intake import judge_all, validate_item
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.schemas.events import EventRequest

KEY = b"unit-analytics-key-0123456789abcdef"
NOW = datetime.now(UTC)


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


@pytest.mark.parametrize("country", ["FR", None])
def test_what_judge_all_builds_passes_product_event_validation_unchanged(country: str | None) -> None:
    rng = random.Random(11)
    items = [random_item(rng) for _ in range(400)]
    sender = project()
    checked = [validate_item(item) for item in items]
    assert all(isinstance(c, EventRequest) for c in checked)
    received = datetime.now(UTC)
    accepted, rejected = judge_all(checked, sender, {}, key=KEY, country=country, received_at=received)
    assert rejected == [] and len(accepted) == len(items)
    for item, event in zip(items, accepted, strict=True):
        validated = ProductEvent.model_validate(event.model_dump())
        assert validated == event
        assert event.to_bytes() == validated.to_bytes()
        assert event.occurred_at.tzinfo is UTC and event.occurred_at.utcoffset() == timedelta(0)
        if "timestamp" in item:
            assert event.occurred_at == datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00"))
        else:
            assert event.occurred_at == received
        assert event.project_id == sender.id and event.plan == item.get("plan", "pro")
        if "user_id" in item:
            sent = item["user_id"]
            canonical = str(uuid.UUID(sent)) if sent != "user-7" else sent
            assert event.user_key == pseudonymise(canonical, KEY)


def test_a_user_sender_sees_its_own_id_and_the_plan_of_a_project_it_can_see() -> None:
    who = Principal(user_id=uuid.uuid4(), token_id=uuid.uuid4(), is_admin=False, scopes=frozenset({"write"}))
    mine = uuid.uuid4()
    items = [
        {"event_id": str(uuid.uuid4()), "event_name": "user_login"},
        {"event_id": str(uuid.uuid4()), "event_name": "sdh_viewed", "project_id": str(mine)},
        {"event_id": str(uuid.uuid4()), "event_name": "sdh_viewed", "project_id": str(uuid.uuid4())},
        {"event_id": str(uuid.uuid4()), "event_name": "user_login", "user_id": "someone-else"},
    ]
    checked = [validate_item(item) for item in items]
    accepted, rejected = judge_all(
        checked, who, {mine: "enterprise"}, key=KEY, country=None, received_at=datetime.now(UTC)
    )
    assert [e.user_key for e in accepted] == [pseudonymise(str(who.user_id), KEY)] * 2
    assert accepted[1].plan == "enterprise"
    assert [(i, [f for f, _ in errs]) for i, errs in rejected] == [(2, ["project_id"]), (3, ["user_id"])]
    for event in accepted:
        assert ProductEvent.model_validate(event.model_dump()) == event
