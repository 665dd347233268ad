"""The Founder View against hand-computed fixtures: DAU/WAU/MAU, churn, countries, sessions, funnel,
cohorts, across UTC day and partition boundaries and producer time zones; admin only."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from seqpulse.common.messages import ProductEvent
from seqpulse.ingest.events import to_row
from seqpulse.ingest.repository import IngestRepository
from seqpulse.ingest.writer import EventWriter
from tests.integration.gateway.gateway_harness import Harness, bearer

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
D = date(2026, 3, 31)  # as_of: a Tuesday
PARIS = timezone(timedelta(hours=2))


def day(offset: int) -> date:
    return D - timedelta(days=offset)


async def store(gw: Harness, events: list[ProductEvent]) -> None:
    """Through the ingest write path and a fold, so the rollups the view reads are kept as in production."""
    repo = IngestRepository(gw.pool)
    await EventWriter(repo).write([to_row(e) for e in events])
    await repo.fold()


def event(user: str, name: str, at: datetime, **fields: Any) -> ProductEvent:
    return ProductEvent(
        event_name=name, occurred_at=at, received_at=at, user_key=user, source="internal", **fields
    )


async def activity(gw: Harness, rows: list[tuple[str, date, str | None]]) -> None:
    """One event per (user, day), at noon UTC, located in the country given."""
    noon = [datetime(d.year, d.month, d.day, 12, tzinfo=UTC) for _, d, _ in rows]
    await store(
        gw, [event(user, "user_login", at, country=c) for (user, _, c), at in zip(rows, noon, strict=True)]
    )


async def events(gw: Harness, rows: list[tuple[str, str, datetime]]) -> None:
    await store(gw, [event(user, name, at) for user, name, at in rows])


async def founder(gw: Harness, days: int = 8) -> dict[str, Any]:
    token = await gw.token(scopes=("read", "write", "admin"), admin=True)
    response = await gw.client.get(f"/founder/overview?days={days}&as_of={D}", headers=bearer(token))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def brute_active(rows: list[tuple[str, date, str | None]], on: date, window: int) -> int:
    return len({u for u, d, _ in rows if on - timedelta(days=window - 1) <= d <= on})


async def test_dau_wau_mau_are_exact_for_every_day_and_match_a_hand_count(gw: Harness) -> None:
    rows: list[tuple[str, date, str | None]] = [
        ("a" * 32, day(0), "FR"),
        ("a" * 32, day(1), "FR"),
        ("a" * 32, day(10), "FR"),
        ("a" * 32, day(40), "FR"),
        ("b" * 32, day(6), "DE"),
        ("b" * 32, day(7), "DE"),
        ("c" * 32, day(29), None),
        ("c" * 32, day(30), None),
        ("d" * 32, day(3), "US"),
        ("e" * 32, day(45), "US"),
    ]
    rows += [(f"{i:032x}", day(2), "SE") for i in range(5)]
    rng = random.Random(7)
    rows += [(f"{100 + rng.randrange(40):032x}", day(rng.randrange(60)), "JP") for _ in range(200)]
    rows = list({(u, d): (u, d, c) for u, d, c in rows}.values())
    await activity(gw, rows)
    body = await founder(gw, days=40)
    assert len(body["activity"]) == 40
    for point in body["activity"]:
        on = date.fromisoformat(point["day"])
        assert point["dau"] == brute_active(rows, on, 1), on
        assert point["wau"] == brute_active(rows, on, 7), on
        assert point["mau"] == brute_active(rows, on, 30), on
    today = body["activity"][-1]
    assert today["dau_mau"] == pytest.approx(today["dau"] / today["mau"])


async def test_churn_and_countries_over_a_small_fixture(gw: Harness) -> None:
    rows: list[tuple[str, date, str | None]] = [
        ("a" * 32, day(0), "FR"),
        ("a" * 32, day(40), "FR"),
        ("b" * 32, day(6), "DE"),
        ("c" * 32, day(29), None),
        ("c" * 32, day(30), "IT"),
        ("d" * 32, day(3), "US"),
        ("e" * 32, day(45), "US"),
    ]
    rows += [(f"{i:032x}", day(2), "SE") for i in range(5)]
    await activity(gw, rows)
    body = await founder(gw, days=30)
    today = body["activity"][-1]
    # Hand count for D: DAU {a}; WAU {a, b, d, 5×SE}; MAU adds c.
    assert (today["dau"], today["wau"], today["mau"]) == (1, 8, 9)
    # Previous 30 days (D-59..D-30): a, c, e. This period (D-29..D): a, b, c, d, 5×SE. e churned.
    assert body["churn"] == {
        "period_days": 30,
        "previous_active": 3,
        "current_active": 9,
        "churned": 1,
        "new_or_returning": 7,
        "churn_rate": pytest.approx(1 / 3),
    }
    # Seen over D-29..D: SE 5 (named), FR 1 + DE 1 + US 1 folded, c located nowhere in the window.
    assert body["countries"] == [
        {"country": "SE", "users": 5},
        {"country": "other", "users": 3},
        {"country": "unknown", "users": 1},
    ]


async def test_sessions_funnel_and_cohorts_across_midnight_and_time_zones(gw: Harness) -> None:
    u1, u2, u3, u4 = "1" * 32, "2" * 32, "3" * 32, "4" * 32
    at = lambda d, h, m=0, tz=UTC: datetime(d.year, d.month, d.day, h, m, tzinfo=tz)  # noqa: E731
    await events(
        gw,
        [
            (u1, "user_signup", at(day(10), 9)),
            (u1, "project_created", at(day(9), 9)),
            # A session of 35 minutes, then one of a single event 35 minutes later.
            (u1, "analysis_completed", at(day(2), 10, 0)),
            (u1, "verdict_viewed", at(day(2), 10, 10)),
            (u1, "sdh_viewed", at(day(2), 10, 35)),
            (u1, "verdict_viewed", at(day(2), 11, 10)),
            (u2, "user_signup", at(day(9), 9)),
            (u2, "project_created", at(day(8), 9)),
            # 23:50 UTC on D-2 then 02:10 Paris (00:10 UTC) on D-1: one 20-minute session over midnight
            # and over two daily partitions.
            (u2, "verdict_viewed", at(day(2), 23, 50)),
            (u2, "verdict_viewed", at(day(1), 2, 10, PARIS)),
            (u3, "user_signup", at(day(1), 8)),
            (u4, "user_signup", at(day(45), 8)),
            (u4, "project_created", at(day(5), 8)),
        ],
    )
    body = await founder(gw, days=30)
    sessions = body["sessions"]
    # Sessions started D-6..D: u1 35 min + 0 min, u2 20 min, u3 and u4 one event each (0 min); users
    # active in those 7 days: the four of them.
    assert sessions["sessions"] == 5 and sessions["users"] == 4
    assert sessions["time_spent_seconds"] == pytest.approx(55 * 60)
    assert sessions["avg_session_seconds"] == pytest.approx(55 * 60 / 5)
    # Signed up D-29..D: u1, u2, u3 (u4 signed up before). u1 and u2 created a project, u1 got a verdict.
    assert body["funnel"] == {"days": 30, "signed_up": 3, "created_project": 2, "got_verdict": 1}
    # Week of Mon 16 March: u1 (signed up Sat 21; back on the 29th, 8 days later: week 1) and u2 (Sun 22;
    # active the 23rd, week 0, and the 29th and 30th, days 7 and 8: week 1); three weeks have begun since
    # the 16th, the third without them. Week of Mon 30 March: u3, one week begun. u4 (Sat 14 Feb, in the
    # eighth week back) came back on D-5, 40 days later: week 5.
    cohorts = {c["week"]: (c["users"], c["retention"]) for c in body["cohorts"]}
    assert cohorts == {
        "2026-02-09": (1, [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
        "2026-03-16": (2, [1.0, 1.0, 0.0]),
        "2026-03-30": (1, [1.0]),
    }


async def test_only_the_admin_sees_the_founder_view(gw: Harness) -> None:
    user = await gw.token(scopes=("read", "write"))
    assert (await gw.client.get("/founder/overview", headers=bearer(user))).status == 403
    # The admin's account with a token that was not given the admin scope is not enough either.
    admin_read_only = await gw.token(scopes=("read",), admin=True)
    assert (await gw.client.get("/founder/overview", headers=bearer(admin_read_only))).status == 403
    admin = await gw.token(scopes=("read", "admin"), admin=True)
    bad = await gw.client.get("/founder/overview?days=0", headers=bearer(admin))
    assert bad.status == 422
    assert (await bad.json(content_type=None))["errors"][0]["field"] == "days"


async def test_top_projects_rank_the_last_thirty_days_by_events_with_their_monthly_users(gw: Harness) -> None:
    owner = await gw.token()
    shop = uuid.UUID((await gw.project(owner, activate=False, name="shop"))["id"])
    blog = uuid.UUID((await gw.project(owner, activate=False, name="blog"))["id"])
    gone = uuid.uuid4()  # a project deleted since: still ranked, by id
    noon = lambda d: datetime(d.year, d.month, d.day, 12, tzinfo=UTC)  # noqa: E731
    await store(
        gw,
        [event("a" * 32, "verdict_viewed", noon(day(n)), project_id=shop) for n in (0, 1, 2, 40)]
        + [event("b" * 32, "verdict_viewed", noon(day(29)), project_id=shop)]
        + [event(u * 32, "sdh_viewed", noon(day(5)), project_id=blog) for u in "cdef"]
        + [event("c" * 32, "sdh_viewed", noon(day(30)), project_id=blog)]  # a day too early
        + [event("0" * 32, "user_login", noon(day(3)), project_id=gone)],
    )
    body = await founder(gw, days=7)
    # shop: 4 events in D-29..D (the one of D-40 is older) by a and b; blog: 4 by c, d, e, f.
    ranked = [(p["name"], p["events"], p["users"]) for p in body["top_projects"]]
    assert ranked[:2] in ([("shop", 4, 2), ("blog", 4, 4)], [("blog", 4, 4), ("shop", 4, 2)])
    assert ranked[2] == ("(deleted project)", 1, 1)
