"""Events published on NATS end up in product_events and user_daily_activity: once, on their UTC day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta, timezone

import orjson
import pytest

from seqpulse.ingest.partitions import partition_name, utc_day
from tests.integration.ingest.conftest import Ingest, counter, product_event, user_key
from tests.support import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]
YESTERDAY = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(10), UTC)


async def test_events_are_stored_with_every_field_and_counted_per_user_and_day(ingest: Ingest) -> None:
    await ingest.start()
    project = uuid.uuid4()
    first = product_event(
        YESTERDAY, project_id=project, plan="pro", country="FR", properties={"method": "password"}
    )
    second = product_event(YESTERDAY + timedelta(hours=1), event_name="verdict_viewed", country="DE")
    anonymous = product_event(YESTERDAY, user=None, event_name="custom.docs_opened")
    await ingest.publish(first, second, anonymous)
    await eventually(lambda: ingest.has_stored(3))

    (row,) = await ingest.fetch(
        "SELECT *, tableoid::regclass::text AS part FROM product_events WHERE event_id = $1",
        uuid.UUID(first.message_id),
    )
    assert dict(row) == {
        "event_id": uuid.UUID(first.message_id),
        "occurred_at": YESTERDAY,
        "received_at": YESTERDAY,
        "event_name": "user_login",
        "user_key": user_key("alice"),
        "project_id": project,
        "plan": "pro",
        "country": "FR",
        "source": "http",
        "properties": {"method": "password"},
        "part": partition_name(YESTERDAY.date()),
    }
    await ingest.folded()
    (day,) = await ingest.fetch("SELECT * FROM user_daily_activity")
    assert dict(day) == {
        "day": YESTERDAY.date(),
        "user_key": user_key("alice"),
        "events": 2,
        "first_at": YESTERDAY,
        "last_at": YESTERDAY + timedelta(hours=1),
    }
    # Where she was seen that day: both countries, counted in each one's monthly active users.
    facts = await ingest.fetch(
        "SELECT scope FROM activity_days WHERE user_key = $1 ORDER BY scope", user_key("alice")
    )
    assert [f["scope"] for f in facts] == ["c:*", "c:DE", "c:FR", f"p:{project}"]


async def test_a_full_batch_is_written_without_waiting_for_the_time_limit(ingest: Ingest) -> None:
    await ingest.start(ingest_batch_size=20, ingest_batch_max_wait_seconds=30)
    await ingest.publish(*(product_event(user=f"user{i}") for i in range(20)))
    await eventually(lambda: ingest.has_stored(20), timeout=15)


async def test_a_partial_batch_is_written_once_the_time_limit_passes(ingest: Ingest) -> None:
    await ingest.start(ingest_batch_size=1000, ingest_batch_max_wait_seconds=0.3)
    await ingest.publish(*(product_event(user=f"user{i}") for i in range(3)))
    await eventually(lambda: ingest.has_stored(3), timeout=15)


async def test_an_event_published_again_is_stored_once_and_counted_once(ingest: Ingest) -> None:
    await ingest.start()
    event = product_event(YESTERDAY)
    await ingest.publish(event)
    await eventually(lambda: ingest.has_stored(1))
    duplicates = counter("duplicate")
    # Past JetStream's duplicate window a producer's retry arrives as a new message with the same event id.
    await ingest.bus.publish_raw(event.topic(ingest.bus.prefix), event.to_bytes(), msg_id="retry-1")
    await eventually(lambda: _above(counter("duplicate"), duplicates))
    assert await ingest.stored() == 1
    assert await ingest.activity() == {(YESTERDAY.date(), user_key("alice")): 1}


async def test_two_copies_of_an_event_in_one_batch_are_stored_once_and_counted_once(ingest: Ingest) -> None:
    event = product_event(YESTERDAY)
    await ingest.publish(event, product_event(YESTERDAY, user="bob"))
    await ingest.bus.publish_raw(event.topic(ingest.bus.prefix), event.to_bytes(), msg_id="retry-1")
    await ingest.start(ingest_batch_max_wait_seconds=1.0)
    await eventually(ingest.drained)
    assert await ingest.stored() == 2
    assert await ingest.activity() == {
        (YESTERDAY.date(), user_key("alice")): 1,
        (YESTERDAY.date(), user_key("bob")): 1,
    }


async def test_events_either_side_of_utc_midnight_land_in_the_partition_and_activity_of_their_utc_day(
    ingest: Ingest,
) -> None:
    midnight = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(0), UTC)
    await ingest.start(clock=lambda: midnight + timedelta(hours=12))
    before = product_event(midnight - timedelta(microseconds=1))
    at = product_event(midnight)
    # Producers in other time zones: 01:30 in Paris (summer) is still the previous UTC day, 23:30 the day
    # before in New York is already the next one.
    paris = product_event(midnight - timedelta(minutes=30))
    new_york = product_event(midnight + timedelta(hours=4, minutes=30))
    await ingest.publish(before, at)
    for event, offset in ((paris, timedelta(hours=2)), (new_york, timedelta(hours=-5))):
        payload = event.model_dump(mode="json")
        local = event.occurred_at.astimezone(timezone(offset))
        payload["occurred_at"] = payload["received_at"] = local.isoformat()
        assert local.date() != utc_day(event.occurred_at)
        await ingest.bus.publish_raw(
            event.topic(ingest.bus.prefix), orjson.dumps(payload), msg_id=event.message_id
        )
    await eventually(lambda: ingest.has_stored(4))

    rows = await ingest.fetch("SELECT event_id, tableoid::regclass::text AS part FROM product_events")
    placed = {r["event_id"]: r["part"] for r in rows}
    day_before, day = partition_name(midnight.date() - timedelta(days=1)), partition_name(midnight.date())
    assert placed == {
        uuid.UUID(before.message_id): day_before,
        uuid.UUID(paris.message_id): day_before,
        uuid.UUID(at.message_id): day,
        uuid.UUID(new_york.message_id): day,
    }
    assert await ingest.activity() == {
        (midnight.date() - timedelta(days=1), user_key("alice")): 2,
        (midnight.date(), user_key("alice")): 2,
    }


async def test_an_event_older_than_the_retention_is_acknowledged_and_not_stored(ingest: Ingest) -> None:
    dropped = counter("dropped")
    await ingest.start(events_retention_days=10)
    await ingest.publish(product_event(YESTERDAY - timedelta(days=10)), product_event(YESTERDAY))
    await eventually(ingest.drained)
    assert await ingest.stored() == 1
    assert counter("dropped") == dropped + 1
    assert await ingest.activity() == {(YESTERDAY.date(), user_key("alice")): 1}


async def test_an_event_on_a_day_without_a_partition_gets_one(ingest: Ingest) -> None:
    old = YESTERDAY - timedelta(days=44)
    assert partition_name(old.date()) not in await ingest.partitions()
    await ingest.start()
    await ingest.publish(product_event(old))
    await eventually(lambda: ingest.has_stored(1))
    (row,) = await ingest.fetch("SELECT tableoid::regclass::text AS part FROM product_events")
    assert row["part"] == partition_name(old.date())


async def test_ingest_is_ready_only_with_its_database_and_nats(ingest: Ingest) -> None:
    service = await ingest.start()
    assert await service.checks() == {"started": True, "db": True, "nats": True}
    assert service.pool is not None
    service.pool.terminate()
    assert (await service.checks())["db"] is False


async def _above(value: float, floor: float) -> bool:
    return value > floor
