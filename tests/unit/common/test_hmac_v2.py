"""HMAC v2: canonical paths, signature vectors, header set and the receiver's rules."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from seqpulse.common.hmac_v2 import (
    HmacRejected,
    HmacVerifier,
    canonicalize_path,
    compute_signature,
    format_timestamp,
    new_nonce,
    signed_headers,
)

SECRET = "spm_test"
TIMESTAMP = "2026-02-13T12:00:00Z"
NOW = datetime(2026, 2, 13, 12, 0, 0, tzinfo=UTC)
# HMAC-SHA256("spm_test", "2026-02-13T12:00:00Z|GET|/ds-metrics|nonce-a"), pinned so that a change to the
# payload layout cannot pass by changing both sides of the comparison at once.
VECTOR_NONCE_A = "sha256=60f3ba87d26caf00261506598a15dc5fa199a1e6ea3254dcf89ad96fd8952c95"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sign(now: datetime, *, nonce: str | None = None, url: str = "/ds-metrics") -> dict[str, str]:
    return signed_headers(SECRET, url, project_id=None, now=now, nonce=nonce)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("ds-metrics", "/ds-metrics"),
        ("/ds-metrics/", "/ds-metrics"),
        ("/ds-metrics", "/ds-metrics"),
        ("https://example.com/ds-metrics/?foo=1#frag", "/ds-metrics"),
        ("HTTPS://EXAMPLE.com:8443/api/ds-metrics/?x=1", "/api/ds-metrics"),
        ("https://example.com", "/"),
        ("/ds-metrics?mode=post", "/ds-metrics"),
    ],
)
def test_canonicalize_path_examples(given: str, expected: str) -> None:
    assert canonicalize_path(given) == expected


def test_canonicalize_path_is_idempotent_so_a_second_pass_by_the_receiver_changes_nothing() -> None:
    once = canonicalize_path("/a//")
    assert once == "/a"
    assert canonicalize_path(once) == once


def test_signature_matches_an_independent_hmac_sha256_and_the_pinned_vector() -> None:
    payload = f"{TIMESTAMP}|GET|/ds-metrics|nonce-a".encode()
    independent = "sha256=" + hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()

    signature = compute_signature(SECRET, TIMESTAMP, "GET", "/ds-metrics", "nonce-a")

    assert signature == independent
    assert signature == VECTOR_NONCE_A


def test_same_inputs_give_the_same_signature_and_method_case_does_not_matter() -> None:
    first = compute_signature(SECRET, TIMESTAMP, "GET", "/ds-metrics", "nonce-a")
    assert compute_signature(SECRET, TIMESTAMP, "get", "ds-metrics/", "nonce-a") == first


def test_different_nonce_gives_a_different_signature() -> None:
    a = compute_signature(SECRET, TIMESTAMP, "GET", "/ds-metrics", "nonce-a")
    b = compute_signature(SECRET, TIMESTAMP, "GET", "/ds-metrics", "nonce-b")
    assert a != b


def test_format_timestamp_is_second_precision_utc_and_refuses_naive_datetimes() -> None:
    paris_winter = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2026, 2, 13, 13, 0, 0, 987654, tzinfo=paris_winter)) == TIMESTAMP
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 2, 13, 12, 0, 0))


def test_new_nonce_is_22_url_safe_characters_and_fresh() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(n) == 22 and n.replace("-", "").replace("_", "").isalnum() for n in nonces)


def test_signed_headers_for_a_full_url_carry_all_eight_headers() -> None:
    headers = signed_headers(
        SECRET,
        "https://example.com/ds-metrics/?foo=1#frag",
        project_id="project-123",
        now=NOW,
        nonce="nonce-a",
    )

    assert headers == {
        "X-SeqPulse-Timestamp": TIMESTAMP,
        "X-SeqPulse-Nonce": "nonce-a",
        "X-SeqPulse-Signature": VECTOR_NONCE_A,
        "X-SeqPulse-Signature-Version": "v2",
        "X-SeqPulse-Canonical-Path": "/ds-metrics",
        "X-SeqPulse-Method": "GET",
        "X-SeqPulse-Nonce-TTL": "330",
        "X-SeqPulse-Project-Id": "project-123",
    }


def test_signed_headers_without_project_or_nonce_draw_a_fresh_nonce_and_omit_the_project() -> None:
    headers = signed_headers(SECRET, "/ds-metrics", project_id=None, now=NOW, max_past=60, max_future=5)

    assert "X-SeqPulse-Project-Id" not in headers
    assert len(headers["X-SeqPulse-Nonce"]) == 22
    assert headers["X-SeqPulse-Signature"].startswith("sha256=")
    assert headers["X-SeqPulse-Nonce-TTL"] == "65"


def test_verifier_accepts_a_fresh_signed_request_with_lower_case_header_names() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = {name.lower(): value for name, value in sign(NOW).items()}

    verifier.verify(headers, method="GET", path="/ds-metrics")


@pytest.mark.parametrize(
    "missing",
    ["X-SeqPulse-Timestamp", "X-SeqPulse-Nonce", "X-SeqPulse-Signature", "X-SeqPulse-Signature-Version"],
)
def test_missing_header_is_rejected(missing: str) -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = sign(NOW)
    del headers[missing]

    with pytest.raises(HmacRejected) as rejected:
        verifier.verify(headers, method="GET", path="/ds-metrics")
    assert rejected.value.reason == "Missing or invalid HMAC headers"


@pytest.mark.parametrize(
    ("header", "value"), [("X-SeqPulse-Signature-Version", "v1"), ("X-SeqPulse-Timestamp", "yesterday")]
)
def test_wrong_version_or_unparsable_timestamp_is_rejected_as_invalid_headers(
    header: str, value: str
) -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = sign(NOW) | {header: value}

    with pytest.raises(HmacRejected, match="Missing or invalid HMAC headers"):
        verifier.verify(headers, method="GET", path="/ds-metrics")


def test_timestamp_301_seconds_old_is_rejected_as_too_old() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))

    with pytest.raises(HmacRejected) as rejected:
        verifier.verify(sign(NOW - timedelta(seconds=301)), method="GET", path="/ds-metrics")
    assert rejected.value.reason == "Timestamp too old"


def test_timestamp_300_seconds_old_is_still_accepted() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    verifier.verify(sign(NOW - timedelta(seconds=300)), method="GET", path="/ds-metrics")


def test_timestamp_31_seconds_ahead_is_rejected_as_too_far_in_the_future() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))

    with pytest.raises(HmacRejected) as rejected:
        verifier.verify(sign(NOW + timedelta(seconds=31)), method="GET", path="/ds-metrics")
    assert rejected.value.reason == "Timestamp too far in the future"


def test_wrong_secret_is_rejected_as_invalid_signature() -> None:
    verifier = HmacVerifier("spm_other", clock=Clock(NOW))

    with pytest.raises(HmacRejected, match="Invalid signature"):
        verifier.verify(sign(NOW), method="GET", path="/ds-metrics")


def test_forced_canonical_path_header_is_rejected_as_invalid_signature() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = sign(NOW) | {"X-SeqPulse-Canonical-Path": "/admin"}

    with pytest.raises(HmacRejected, match="Invalid signature"):
        verifier.verify(headers, method="GET", path="/ds-metrics")


def test_request_path_and_method_are_used_when_the_optional_headers_are_absent() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = sign(NOW)
    del headers["X-SeqPulse-Canonical-Path"], headers["X-SeqPulse-Method"]

    with pytest.raises(HmacRejected, match="Invalid signature"):
        verifier.verify(dict(headers), method="GET", path="/api/ds-metrics")
    verifier.verify(headers, method="get", path="/ds-metrics/")


def test_exact_replay_is_rejected_as_nonce_reuse() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    headers = sign(NOW)
    verifier.verify(headers, method="GET", path="/ds-metrics")

    with pytest.raises(HmacRejected, match="Nonce reuse"):
        verifier.verify(headers, method="GET", path="/ds-metrics")


def test_a_forged_request_does_not_burn_the_nonce_of_the_genuine_one() -> None:
    verifier = HmacVerifier(SECRET, clock=Clock(NOW))
    genuine = sign(NOW, nonce="nonce-a")
    forged = genuine | {"X-SeqPulse-Signature": "sha256=" + "0" * 64}

    with pytest.raises(HmacRejected, match="Invalid signature"):
        verifier.verify(forged, method="GET", path="/ds-metrics")
    verifier.verify(genuine, method="GET", path="/ds-metrics")


def test_nonce_is_remembered_for_the_ttl_and_forgotten_after_it() -> None:
    clock = Clock(NOW)
    verifier = HmacVerifier(SECRET, clock=clock)
    verifier.verify(sign(NOW, nonce="nonce-a"), method="GET", path="/ds-metrics")

    clock.now = NOW + timedelta(seconds=329)
    with pytest.raises(HmacRejected, match="Nonce reuse"):
        verifier.verify(sign(clock.now, nonce="nonce-a"), method="GET", path="/ds-metrics")

    clock.now = NOW + timedelta(seconds=331)
    verifier.verify(sign(clock.now, nonce="nonce-a"), method="GET", path="/ds-metrics")


def test_expired_nonces_are_pruned_from_memory() -> None:
    clock = Clock(NOW)
    verifier = HmacVerifier(SECRET, max_past=10, max_future=0, clock=clock)
    for i in range(50):
        verifier.verify(sign(NOW, nonce=f"n{i}"), method="GET", path="/ds-metrics")
    assert verifier.remembered_nonces == 50

    clock.now = NOW + timedelta(seconds=11)
    verifier.verify(sign(clock.now, nonce="late"), method="GET", path="/ds-metrics")

    assert verifier.remembered_nonces == 1


def test_verifier_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="non-empty secret"):
        HmacVerifier("")
