"""`POST /events` without I/O: what `judge_all` writes is a valid `ProductEvent` (it is serialised without
building the model), a batch validated at once is judged as event by event, what is refused is refused
with the field and every reason, and the fast way (msgspec on the body's bytes) gives what orjson and the
models give, or gives way to them."""

from __future__ import annotations

import json
import random
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter

from seqpulse.common.bus.frames import SHARED_FORM, Part, decode_frame, frame_encoded
from seqpulse.common.messages.base import Encoded
from seqpulse.common.messages.product import (
    KNOWN_EVENTS,
    MAX_PROPERTIES_BYTES,
    Plan,
    ProductEvent,
    pseudonymise,
)
from seqpulse.gateway import event_intake
from seqpulse.gateway.event_intake import (
    EXACT_EVENT_NAME,
    EXACT_RFC3339,
    PROPERTY_DEPTH,
    RFC3339_SHAPES,
    EventFields,
    Sender,
    check_all,
    checked_events,
    judge_all,
    parse_items,
    plain_batch,
    validate_item,
)
from seqpulse.gateway.problems import Problem
from seqpulse.gateway.records import Principal, ProjectRow
from seqpulse.gateway.schemas.events import MAX_BATCH, RFC3339_RULE

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


def decoded(encoded: Encoded, shared: dict[str, bytes]) -> ProductEvent:
    """What ingest reads of it: the model validated from the bytes (with the fields its frame shares, if
    any), on the subject it was published on."""
    fields = orjson.loads(shared.get(encoded.subject, b"{}")) | orjson.loads(encoded.data)
    event = ProductEvent.model_validate_json(orjson.dumps(fields))
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
    accepted, rejected, shared = judge_all(
        checked, sender, {}, key=KEY, country=country, received_at=received, prefix=PREFIX
    )
    assert rejected == [] and len(accepted) == len(items)
    # An API key's events leave out what they share: it is written once per name.
    assert sorted(shared) == sorted({e.subject for e in accepted})
    assert all(orjson.loads(data).keys() == set(ProductEvent.SHARED_FIELDS) for data in shared.values())
    assert all(orjson.loads(e.data).keys().isdisjoint(ProductEvent.SHARED_FIELDS) for e in accepted)
    events = [decoded(encoded, shared) for encoded in accepted]
    # Framed (the shared form) and read back as ingest reads a frame: the same events, in order.
    framed = frame_encoded(accepted, 10**6, shared)
    assert all(SHARED_FORM.match(frame.data) for frame in framed)
    read = {
        part.message.message_id: part.message
        for frame in framed
        for part in decode_frame(ProductEvent, frame.data, frame.subject, PREFIX)
        if isinstance(part, Part)
    }
    assert [read[e.message_id] for e in events] == events
    for item, event in zip(items, events, strict=True):
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
    "user_id": ["", " ", " bob ", "u" * 256, "u" * 257, 5, None, "\u2003bob", "bob\x1c", "\x00", "b o b"],
    "project_id": [
        str(uuid.UUID(int=1)).upper(),
        "{" + str(uuid.UUID(int=1)) + "}",
        "nope",
        None,
        str(uuid.UUID(int=1)),
        str(uuid.UUID(int=1)) + "\n",
    ],
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
        "2026-11-22T09:00:00Z\n",
        "\uff12\uff10\uff12\uff16-11-22T09:00:00Z",
        "2026-11-22T09:00:00+01:00\n2026-11-22T09:00:00Z",
    ],
    "properties": [
        {},
        {"a": 1},
        [],
        None,
        "x",
        {"a": "\x00"},
        {"big": "x" * MAX_PROPERTIES_BYTES},
        {" a ": 1},
        {"a": " b ", "c": {" d ": [" e "]}},
        {"n": 2**64},
        {"n": 2**63},
        {"n": -(2**63) - 1},
        {"n": 2**63 - 1, "m": -(2**63), "f": -0.0, "t": True},
        {"deep": [[[[[[1]]]]]]},
        {"deeper": [[[[[[[1]]]]]]]},
    ],
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
    accepted, rejected, shared = judge_all(
        checked, who, {mine: "enterprise"}, key=KEY, country=None, received_at=NOW, prefix=PREFIX
    )
    assert shared == {}  # events of several projects: each is written whole
    events = [decoded(encoded, shared) for encoded in accepted]
    assert [e.user_key for e in events] == [pseudonymise(str(who.user_id), KEY)] * 2
    assert events[1].plan == "enterprise"
    assert [(i, [f for f, _ in errs]) for i, errs in rejected] == [(2, ["project_id"]), (3, ["user_id"])]


# The fast way: `checked_events` reads a batch with msgspec when it can vouch for every event
# (`plain_batch`), and gives way to `parse_items` and `check_all` otherwise. Python's `==` cannot tell 1
# from 1.0 or True, 0.0 from -0.0, nor 2**64 from 2.0**64, nor the order of a dict's keys: `typed` can.


def typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", tuple((key, typed(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(typed(item) for item in value))
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


SENDER = project()
WHO = Principal(user_id=uuid.uuid4(), token_id=uuid.uuid4(), is_admin=False, scopes=frozenset({"write"}))


def outcome(checked_and_batched: tuple[list[EventFields | list[tuple[str, str]]], bool]) -> Any:
    """The checked events (typed), whether it was a batch, and what each sender gets published."""
    checked, batched = checked_and_batched
    senders: list[tuple[Sender, dict[uuid.UUID, Plan]]] = [(SENDER, {}), (WHO, {SENDER.id: "enterprise"})]
    published = [
        judge_all(checked, sender, plans, key=KEY, country="FR", received_at=NOW, prefix=PREFIX)
        for sender, plans in senders
    ]
    return typed(checked), batched, published


def slow(raw: bytes) -> Any:
    """What `parse_items` and `check_all` answer: the outcome, or the problem."""
    try:
        items, batched = parse_items(raw)
    except Problem as exc:
        return ("problem", exc.status, exc.detail, exc.code, exc.errors)
    return outcome((check_all(items, NOW), batched))


def answer(raw: bytes) -> Any:
    """What `checked_events` (the route's way) answers, in the same form."""
    try:
        return outcome(checked_events(raw, NOW))
    except Problem as exc:
        return ("problem", exc.status, exc.detail, exc.code, exc.errors)


def plain_item(rng: random.Random) -> dict[str, Any]:
    """A valid event written as sent, so the fast way takes it: `random_item`'s, and a canonical project
    id, explicit nulls, properties of every JSON type (texts beyond ASCII and to be escaped, numbers)."""
    item = random_item(rng)
    if rng.random() < 0.3:
        item["project_id"] = rng.choice([str(SENDER.id), str(uuid.UUID(int=rng.getrandbits(128)))])
    for field in ("user_id", "project_id", "plan", "timestamp"):
        if rng.random() < 0.05:
            item[field] = None
    if rng.random() < 0.3:
        item["properties"] = {
            "text": rng.choice(['é\\"\n\t\u2028', "日本語", "😀", " padded ", "\x7f", ""]),
            "number": rng.choice([0, -0.0, 1.5, -(2**63), 2**63 - 1, 1e-300, 1.7976931348623157e308]),
            "flags": [True, False, None, {"deep": rng.random()}],
            "": rng.uniform(-1e6, 1e6),
        }
    return item


def body(items: list[Any], rng: random.Random) -> bytes:
    """`{"events": items}` as a sender may write it: compact or spaced, escaped or raw UTF-8."""
    match rng.randrange(4):
        case 0:
            return orjson.dumps({"events": items})
        case 1:
            return json.dumps({"events": items}, indent=rng.choice([None, 2])).encode()
        case 2:
            return json.dumps({"events": items}, ensure_ascii=False, separators=(",", ":")).encode()
        case _:
            return b" \r\n\t" + json.dumps({"events": items}, ensure_ascii=False).encode() + b"\n"


def test_the_fast_way_reads_an_ordinary_batch_as_orjson_and_the_models_do() -> None:
    rng = random.Random(31)
    for _ in range(200):
        raw = body([plain_item(rng) for _ in range(rng.randint(1, 30))], rng)
        fast = plain_batch(raw)
        assert fast is not None, raw
        assert outcome((fast, True)) == slow(raw)
    full = body([plain_item(rng) for _ in range(MAX_BATCH)], rng)
    assert plain_batch(full) is not None and answer(full) == slow(full)
    over = orjson.dumps({"events": [plain_item(rng) for _ in range(MAX_BATCH + 1)]})
    assert plain_batch(over) is None and answer(over) == slow(over) and slow(over)[1] == 413


def test_checked_events_takes_the_fast_way_for_a_plain_batch_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counted(raw: bytes) -> tuple[list[object], bool]:
        calls.append("parse")
        return parse_items(raw)

    monkeypatch.setattr(event_intake, "parse_items", counted)
    rng = random.Random(3)
    plain = [plain_item(rng) for _ in range(20)]
    checked, batched = checked_events(orjson.dumps({"events": plain}), NOW)
    assert calls == [] and batched and all(isinstance(c, dict) for c in checked)
    checked, batched = checked_events(orjson.dumps(plain[0]), NOW)  # one event: the slow way
    assert calls == ["parse"] and not batched
    checked_events(orjson.dumps({"events": [*plain, {**plain[0], "user_id": " bob "}]}), NOW)
    assert calls == ["parse", "parse"]


# Which AWKWARD values the fast way takes (as sent, the model would read them unchanged); every other
# one it must leave to the slow way.
TAKEN_AS_SENT: dict[str, list[Any]] = {
    "event_id": [str(uuid.UUID(int=5))],  # its upper case: no letter
    "event_name": ["custom." + "a" * 63],
    "user_id": ["u" * 256, None, "\x00", "b o b"],
    "project_id": [None, str(uuid.UUID(int=1))],
    "plan": ["pro", None],
    "timestamp": [
        "2026-11-22t09:00:00z",
        "2026-11-22 09:00:00+01:00",
        "2026-11-22T09:00:00.123456789Z",
        "2026-02-30T09:00:00Z",
        None,
    ],
    "properties": [
        {},
        {"a": 1},
        {"a": "\x00"},
        {"big": "x" * MAX_PROPERTIES_BYTES},
        {"a": " b ", "c": {" d ": [" e "]}},
        {"n": 2**63 - 1, "m": -(2**63), "f": -0.0, "t": True},
        {"deep": [[[[[[1]]]]]]},
    ],
}


def test_the_fast_way_takes_an_awkward_value_only_as_the_model_reads_it() -> None:
    rng = random.Random(8)
    for field, values in AWKWARD.items():
        for value in values:
            for position in range(3):
                items: list[Any] = [plain_item(rng) for _ in range(3)]
                items[position] = {**items[position], field: value}
                raw = json.dumps({"events": items}, ensure_ascii=rng.random() < 0.5).encode()
                taken = plain_batch(raw) is not None
                assert taken == (value in TAKEN_AS_SENT.get(field, [])), (field, value)
                assert answer(raw) == slow(raw), (field, value)
            absent = {k: v for k, v in plain_item(rng).items() if k != field}
            raw = orjson.dumps({"events": [absent]})
            assert (plain_batch(raw) is not None) == (field not in ("event_id", "event_name")), field
            assert answer(raw) == slow(raw), field


UUID_A = str(uuid.UUID(int=0xA))
UUID_B = str(uuid.UUID(int=0xB))


def batch_of(*events: str) -> bytes:
    return ('{"events":[' + ",".join(events) + "]}").encode()


def event(extra: str = "", event_id: str = UUID_A) -> str:
    return f'{{"event_id":"{event_id}","event_name":"user_login"{extra}}}'


def nested(depth: int) -> str:
    return event(f',"properties":{{"a":{"[" * depth}1{"]" * depth}}}')


# JSON texts orjson and msgspec might read differently, and whether the fast way takes each: where it
# does not, the body is parsed by orjson as before (so what they answer is the same).
JSON_TEXTS: list[tuple[bytes, bool]] = [
    (batch_of(event(',"properties":{"n":18446744073709551616}')), False),  # orjson: a float
    (batch_of(event(',"properties":{"n":[18446744073709551615]}')), False),  # beyond msgspec's bounds
    (batch_of(event(',"properties":{"n":{"m":-9223372036854775809}}')), False),
    (batch_of(event(',"properties":{"n":123456789012345678901234567890}')), False),
    (batch_of(event(',"properties":{"n":9223372036854775807,"m":-9223372036854775808}')), True),
    (batch_of(event(',"properties":{"n":1e400}')), False),  # both refuse: 400
    (batch_of(event(',"properties":{"n":-1.8e308}')), False),
    (batch_of(event(',"properties":{"n":1e-400,"m":-0,"o":-0.0,"p":1E5,"q":5e-324}')), True),
    (batch_of(event(',"properties":{"n":9007199254740993.0,"m":0.30000000000000004}')), True),
    (batch_of(event(',"properties":{"n":NaN}')), False),
    (batch_of(event(',"properties":{"n":Infinity}')), False),
    (batch_of(event(',"properties":{"n":-Infinity}')), False),
    (batch_of(event(',"user_id":"\\ud800"')), False),  # a lone surrogate: both refuse
    (batch_of(event(',"properties":{"\\udc00":1}')), False),
    (batch_of(event(',"user_id":"\\ud83d\\ude00"')), True),
    (batch_of(event(',"user_id":"\\u2003bob"')), False),  # the model strips it
    (batch_of(event(',"user_id":"bob\\n"')), False),
    (batch_of(event(',"user_id":"bob\\u001c"')), False),  # Python's space, not Rust's: kept by the model
    (batch_of(event(',"timestamp":"2026-11-22T09:00:00Z\\n"')), False),
    (batch_of(event(',"properties":{"a":1," a":2}')), False),  # one key once stripped
    (batch_of(event(',"properties":{"a":1,"b":2,"a":3}')), True),  # the last one, where the first was
    (batch_of(event(',"properties":{"a":1},"properties":{"b":2}')), True),
    (batch_of(event(',"user_id":"x","user_id":null')), True),
    (batch_of(event(',"event_id":"' + UUID_B + '"', event_id="nope")), True),
    (batch_of(event(',"event_id":"nope"')), False),
    (b'{"events":[' + event().encode() + b'],"events":[' + event(event_id=UUID_B).encode() + b"]}", True),
    (batch_of(event(',"event\\u005fname":"user\\u005flogin","plan":"pr\\u006f"')), True),
    (batch_of(event(',"user_id":"BAD"')).replace(b"BAD", b"\xff"), False),  # not UTF-8: 400
    (batch_of(event(',"user_id":"BAD"')).replace(b"BAD", b"\xc0\x80"), False),  # overlong
    (batch_of(event(',"user_id":"BAD"')).replace(b"BAD", b"\xed\xa0\x80"), False),  # a surrogate
    (batch_of(event(',"properties":{"BAD":1}')).replace(b"BAD", b"\xf4\x90\x80\x80"), False),  # > U+10FFFF
    (b"\xef\xbb\xbf" + batch_of(event()), False),  # a BOM: 400
    (batch_of(event()) + b" x", False),
    (batch_of(event()) + b"\x00", False),
    (batch_of(event()) + b"\x0c", False),
    (b" \t\r\n" + batch_of(event()) + b" \t\r\n", True),
    (batch_of(event(), event(event_id=UUID_A)), True),  # judged: the second repeats the first
    (batch_of(nested(PROPERTY_DEPTH)), True),
    (batch_of(nested(PROPERTY_DEPTH + 1)), False),
    (batch_of(nested(1100)), False),  # beyond orjson's depth: 400
    (batch_of(event(',"plan":"PRO"')), False),
    (event().encode(), False),  # one event
    (b"", False),
    (b"  ", False),
    (b"null", False),
    (b"[]", False),
    (b'{"events":[]}', False),
    (b'{"events":{}}', False),
    (b'{"events":null}', False),
    (b'{"events":[1]}', False),
    (b'{"events":[' + event().encode() + b'],"more":1}', False),
    (b'{"Events":[' + event().encode() + b"]}", False),
    (b'{"events":[' + event().encode() + b"]", False),
]


@pytest.mark.parametrize(("raw", "taken"), JSON_TEXTS)
def test_the_fast_way_reads_json_as_orjson_or_gives_way(raw: bytes, taken: bool) -> None:
    assert (plain_batch(raw) is not None) == taken
    assert answer(raw) == slow(raw)


def test_numbers_are_read_as_orjson_reads_them() -> None:
    rng = random.Random(17)
    texts = []
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25))).lstrip("0") or "0"
        fraction = "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
        exponent = f"e{rng.randint(-340, 320)}"
        sign = rng.choice(["", "-"])
        texts.append(sign + digits + rng.choice(["", fraction, exponent, fraction + exponent.upper()]))
    for start in range(0, len(texts), 100):
        chunk = texts[start : start + 100]
        raw = batch_of(*(event(f',"properties":{{"n":{text}}}', str(uuid.uuid4())) for text in chunk))
        assert answer(raw) == slow(raw), chunk
    floats = [text for text in texts if not text.lstrip("-").isdigit() and abs(float(text)) < 1e308]
    raw = batch_of(*(event(f',"properties":{{"n":{text}}}', str(uuid.uuid4())) for text in floats[:500]))
    assert plain_batch(raw) is not None and answer(raw) == slow(raw)


@pytest.mark.parametrize("batched", [False, True])
def test_a_number_is_kept_as_a_64_bit_integer_or_a_double(batched: bool) -> None:
    # docs/events.md: an integer beyond 64 bits, or a decimal with more digits than a double holds, is
    # published (and stored) as the nearest double; one within 64 bits exactly.
    properties = (
        b'{"big":123456789012345678901234567890,"max":9223372036854775807,"min":-9223372036854775808,'
        b'"long":0.1000000000000000055511151231257827,"exp":1E2}'
    )
    text = b'{"event_id":"%s","event_name":"user_login","properties":%s}' % (
        str(uuid.uuid4()).encode(),
        properties,
    )
    raw = b'{"events":[' + text + b"]}" if batched else text
    received = datetime.now(UTC)
    checked, _ = checked_events(raw, received)
    accepted, rejected, shared = judge_all(
        checked, project(), {}, key=KEY, country=None, received_at=received, prefix=PREFIX
    )
    assert rejected == []
    published = orjson.loads(accepted[0].data)["properties"]
    assert published == {
        "big": 1.2345678901234568e29,
        "max": 2**63 - 1,
        "min": -(2**63),
        "long": 0.1,
        "exp": 100.0,
    }
    assert [type(published[k]) for k in ("big", "max", "long", "exp")] == [float, int, float, float]
    assert decoded(accepted[0], shared).properties == published


def test_event_ids_are_canonical_one_by_one_however_they_are_joined() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    for ids in (
        [a[:-1], a[-1] + b],  # 35 and 37 characters
        [a + "," + b[:-1]],
        [a.upper(), b],
        [a[:-1] + "\u0663", b],  # a digit, of Arabic
        [a[:-1] + "é", b],
        [a + "\n", b],
        [a[:8] + "_" + a[9:], b],
        [b, ""],
    ):
        raw = batch_of(*(event(event_id=i) for i in ids))
        assert plain_batch(raw) is None, ids
        assert answer(raw) == slow(raw), ids
    assert plain_batch(batch_of(event(event_id=a), event(event_id=b))) is not None


def test_what_the_fast_way_checks_by_itself_is_no_more_than_the_models_accept() -> None:
    # Every text the model strips at either end is one `str.strip` would strip (Python's whitespace is
    # a superset of Rust's): so a text that `strip` leaves whole is read unchanged by the model.
    adapter = TypeAdapter(list[EventFields])
    # (in the BMP: Unicode has no white space beyond it, nor Python)
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000]
    events = [{"event_id": UUID_A, "event_name": "user_login", "user_id": f"{c}u{c}"} for c in chars]
    stripped = {
        c
        for c, event in zip(chars, adapter.validate_python(events), strict=True)
        if event.get("user_id") == "u"
    }
    assert stripped and all(c.strip() == "" for c in stripped), [unicodedata.name(c, "?") for c in stripped]
    properties = dict.fromkeys(chars, 1)  # a property's key: as stripped, no more
    (read,) = adapter.validate_python(
        [{"event_id": UUID_A, "event_name": "user_login", "properties": properties}]
    )
    assert set(read["properties"]) == {"", *(c for c in chars if c not in stripped)}
    # Each timestamp shape is one the rule accepts, and the names it knows are ones the pattern does.
    assert len(RFC3339_SHAPES) == 3 * 10 * 4
    for shape in RFC3339_SHAPES:
        text = shape.decode()
        assert EXACT_RFC3339.match(text) and EXACT_RFC3339.match(text.replace("9", "0")), text
        assert adapter.validate_python([{"event_id": UUID_A, "event_name": "user_login", "timestamp": text}])
    assert all(EXACT_EVENT_NAME.match(name) for name in KNOWN_EVENTS)
