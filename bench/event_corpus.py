"""The bench's product events: users with a country and one or two projects, the nine known events with
their documented properties, grouped into the `POST /events` requests an application would send (one
project and one country per request, the address a GeoIP test-database address of that country)."""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.procs import REPO
from seqpulse.common.messages import ProductEvent
from seqpulse.common.messages.product import KNOWN_EVENTS, pseudonymise
from seqpulse.gateway.geoip import CountryLookup
from seqpulse.gateway.schemas.events import MAX_BATCH

ANALYTICS_KEY = "bench-analytics-key-0123456789abcdef"  # the gateway's, so the baseline has its user keys
GEOIP_DB = REPO / "data" / "geoip" / "GeoLite2-Country-Test.mmdb"
# Users per country (None: the gateway cannot place the address), and an address the test database
# places there; checked against the database before the run.
COUNTRIES: dict[str | None, tuple[int, str]] = {
    "US": (28, "216.160.83.56"),
    "GB": (12, "81.2.69.142"),
    "DE": (10, "2a02:d180::1"),
    "FR": (10, "2a02:cfc0::1"),
    "JP": (8, "2001:218::1"),
    "SE": (6, "89.160.20.112"),
    "KR": (5, "2001:220::1"),
    "IT": (5, "2a02:d1c0::1"),
    "CN": (3, "111.235.160.1"),
    "PH": (3, "202.196.224.1"),
    None: (10, "10.0.0.1"),
}
# How often each known event occurs: pages and deployments dominate, sign-ups and new projects are rare.
EVENT_WEIGHTS = {"user_signup": 2, "project_created": 2, "settings_updated": 4, "user_login": 16}
ANONYMOUS_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Project:
    id: uuid.UUID
    plan: str
    api_key: str


@dataclass(frozen=True, slots=True)
class Post:
    """One `POST /events`: whose key, which client address, the body built before the clock starts."""

    api_key: str
    address: str
    body: bytes
    events: int


def properties(name: str, plan: str, rng: random.Random) -> dict[str, Any]:
    """The documented properties of each known event (docs/events.md)."""
    deployment = {"deployment_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    verdict = rng.choice(("ok", "ok", "ok", "warning", "rollback_recommended", "not_enough_data"))
    env = rng.choice(("prod", "prod", "staging"))
    match name:
        case "user_signup" | "user_login":
            return {"method": "password"}
        case "project_created":
            return {"plan": plan, "envs": rng.randint(1, 3)}
        case "deployment_triggered":
            return {"env": env, **deployment}
        case "deployment_finished":
            return {"env": env, **deployment, "pipeline_result": rng.choice(("success", "success", "failed"))}
        case "analysis_completed":
            return {**deployment, "verdict": verdict, "duration_ms": rng.randint(50, 2000)}
        case "verdict_viewed":
            return {**deployment, "verdict": verdict}
        case "sdh_viewed":
            return {"severity": rng.choice(("critical", "warning")), "hints": rng.randint(0, 9)}
        case _:
            return {"area": rng.choice(("project", "policy", "endpoint", "token"))}


def make_posts(
    n: int, users: int, projects: list[Project], seed: int = 7
) -> tuple[list[Post], list[ProductEvent]]:
    """The requests to send, and the events the gateway will publish for them, in the order posted."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    key = ANALYTICS_KEY.encode()
    project_weights = [1 / (i + 1) for i in range(len(projects))]  # a few big projects, a tail of small
    country_codes = list(COUNTRIES)
    country_weights = [weight for weight, _ in COUNTRIES.values()]
    people: list[tuple[str | None, str | None, list[Project]]] = []  # id, country, their projects
    for u in range(users):
        mine = rng.choices(projects, project_weights, k=2 if rng.random() < 0.3 else 1)
        people.append(
            (f"user-{u}", rng.choices(country_codes, country_weights)[0], list(dict.fromkeys(mine)))
        )
    activity = [rng.lognormvariate(0, 1.2) for _ in range(users)]  # some users far busier than others
    names = sorted(KNOWN_EVENTS)
    name_weights = [EVENT_WEIGHTS.get(name, 12) for name in names]
    groups: dict[tuple[uuid.UUID, str | None], list[tuple[ProductEvent, str | None]]] = defaultdict(list)
    for who in rng.choices(range(users), activity, k=n):
        user_id, country, theirs = people[who]
        project = rng.choice(theirs)
        if rng.random() < ANONYMOUS_SHARE:
            user_id, country = None, rng.choices(country_codes, country_weights)[0]
        name = rng.choices(names, name_weights)[0]
        event = ProductEvent(
            message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            event_name=name,
            occurred_at=now - timedelta(seconds=rng.uniform(0, 36 * 3600)),
            received_at=now,
            user_key=pseudonymise(user_id, key) if user_id is not None else None,
            project_id=project.id,
            plan=project.plan,  # the body names none: the gateway gives the project's
            country=country,
            properties=properties(name, project.plan, rng),
            source="http",
        )
        groups[(project.id, country)].append((event, user_id))
    keys = {p.id: p.api_key for p in projects}
    chunks = [
        (project_id, country, group[start : start + MAX_BATCH])
        for (project_id, country), group in groups.items()
        for start in range(0, len(group), MAX_BATCH)
    ]
    rng.shuffle(chunks)  # the requests in flight mix projects and countries
    posts = [
        Post(
            keys[project_id],
            COUNTRIES[country][1],
            orjson.dumps({"events": [_item(*s) for s in chunk]}),
            len(chunk),
        )
        for project_id, country, chunk in chunks
    ]
    return posts, [event for _, _, chunk in chunks for event, _ in chunk]


def _item(event: ProductEvent, user_id: str | None) -> dict[str, Any]:
    item = {
        "event_id": event.message_id,
        "event_name": event.event_name,
        "project_id": str(event.project_id),
        "timestamp": event.occurred_at.isoformat(),
        "properties": event.properties,
    }
    return item if user_id is None else {**item, "user_id": user_id}


def check_addresses() -> None:
    lookup = CountryLookup.open(GEOIP_DB)
    try:
        for country, (_, address) in COUNTRIES.items():
            if (found := lookup.country(ipaddress.ip_address(address))) != country:
                raise RuntimeError(f"{address} is in {found} for {GEOIP_DB.name}, not {country}")
    finally:
        lookup.close()
