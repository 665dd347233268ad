"""What ingest does with each event of a batch, and the UTC days and partitions it lands in."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from seqpulse.common.messages import ProductEvent
from seqpulse.ingest.events import EventRecord, event_id, plan_batch, record_of
from seqpulse.ingest.partitions import (
    days_ahead,
    partition_day,
    partition_name,
    retention_cutoff,
    utc_day,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
USER = "0123456789abcdef0123456789abcdef"


def event(occurred_at: datetime = NOW, **fields: object) -> ProductEvent:
    return ProductEvent.model_validate(
        {"event_name": "user_login", "occurred_at": occurred_at, "received_at": NOW, "user_key": USER}
        | fields
    )


def records(*events: ProductEvent) -> list[EventRecord]:
    return [record_of(e) for e in events]


def test_an_event_just_after_midnight_in_paris_belongs_to_the_previous_utc_day() -> None:
    paris_winter = timezone(timedelta(hours=1))
    assert utc_day(datetime(2026, 11, 22, 0, 30, tzinfo=paris_winter)) == date(2026, 11, 21)
    assert utc_day(datetime(2026, 11, 21, 23, 59, 59, 999999, tzinfo=UTC)) == date(2026, 11, 21)
    assert utc_day(datetime(2026, 11, 22, 0, 0, tzinfo=UTC)) == date(2026, 11, 22)


def test_a_naive_time_has_no_utc_day() -> None:
    with pytest.raises(ValueError, match="aware"):
        utc_day(datetime(2026, 11, 22, 0, 30))  # naive on purpose


def test_partition_names_round_trip_and_ignore_other_tables() -> None:
    assert partition_name(date(2026, 3, 9)) == "product_events_p20260309"
    assert partition_day("product_events_p20260309") == date(2026, 3, 9)
    assert partition_day("product_events") is None
    assert partition_day("product_events_p2026030") is None


def test_retention_keeps_today_and_the_days_before_it_up_to_the_limit() -> None:
    assert retention_cutoff(date(2026, 11, 22), 90) == date(2026, 8, 24)
    assert days_ahead(date(2026, 12, 30), 3) == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 1, 2),
    ]


def test_a_uuid_event_id_is_kept_and_any_other_id_maps_to_the_same_uuid_every_time() -> None:
    known = uuid.uuid4()
    assert event_id(str(known)) == str(known)
    assert event_id("order-42") == event_id("order-42") != event_id("order-43")
    assert event_id("order-42") == str(uuid.UUID(event_id("order-42")))  # a UUID in canonical text


@pytest.mark.parametrize(
    "spell", [str.upper, lambda s: s.replace("-", ""), "{{{}}}".format, "urn:uuid:{}".format]
)
def test_every_spelling_of_a_uuid_gives_the_same_key(spell: Callable[[str], str]) -> None:
    known = str(uuid.uuid4())
    assert event_id(spell(known)) == known


def test_keys_sort_as_postgres_sorts_the_uuids() -> None:
    ids = [uuid.UUID(int=random.Random(seed).getrandbits(128)) for seed in range(500)]
    ids += [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=9), uuid.UUID(int=10)]
    assert sorted(event_id(str(u)) for u in ids) == [str(u) for u in sorted(ids, key=lambda u: u.bytes)]


def test_events_past_the_retention_are_dropped_and_the_rest_kept_in_order() -> None:
    old = event(NOW - timedelta(days=91))
    boundary = event(datetime(2026, 8, 24, 0, 0, tzinfo=UTC))  # the first day kept with 90 days
    fresh = event()
    plan = plan_batch(records(old, boundary, fresh), NOW, 90)
    assert plan.dropped == 1
    assert plan.positions == [1, 2]
    assert [row[0] for row in plan.rows] == [event_id(boundary.message_id), event_id(fresh.message_id)]
    assert plan.rejected == {}


def test_an_event_from_beyond_the_clock_skew_is_rejected_with_the_reason() -> None:
    ahead = event(NOW + timedelta(minutes=6), received_at=NOW + timedelta(minutes=2))
    plan = plan_batch(records(event(), ahead), NOW, 90)
    assert list(plan.rejected) == [1]
    assert "ahead of the ingest clock" in plan.rejected[1]
    assert plan.positions == [0]


def test_a_redelivery_inside_the_same_batch_is_written_once() -> None:
    original = event()
    again = ProductEvent.from_bytes(original.to_bytes())
    plan = plan_batch(records(original, again, event()), NOW, 90)
    assert plan.repeats == 1
    assert plan.positions == [0, 2]


def test_a_row_carries_every_field_of_the_event() -> None:
    project = uuid.uuid4()
    e = event(project_id=project, plan="pro", country="FR", properties={"method": "password"}, source="http")
    (row,) = plan_batch(records(e), NOW, 90).rows
    assert row == (
        str(uuid.UUID(e.message_id)),
        NOW,
        NOW,
        "user_login",
        USER,
        project,
        "pro",
        "FR",
        "http",
        b'{"method":"password"}',  # the JSON: the pool writes bytes as jsonb as they are
    )
