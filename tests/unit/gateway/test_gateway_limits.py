"""The CI rate limiter and the HMAC preflight cache, with injected clocks."""

from __future__ import annotations

from seqpulse.gateway.probe import PreflightCache, secret_fingerprint
from seqpulse.gateway.ratelimit import FixedWindowLimiter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_limit_applies_per_key_and_resets_with_the_window() -> None:
    clock = Clock(120.0)
    limiter = FixedWindowLimiter(2, clock=clock)
    assert [limiter.hit("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.hit("b").allowed
    refused = limiter.hit("a")
    assert (refused.remaining, refused.retry_after) == (0, 60)
    clock.now = 179.5
    assert limiter.hit("a").retry_after == 1
    clock.now = 180.0
    decision = limiter.hit("a")
    assert (decision.allowed, decision.remaining) == (True, 1)


def test_the_limiter_forgets_keys_of_past_windows() -> None:
    clock = Clock(0.0)
    limiter = FixedWindowLimiter(1, clock=clock)
    for key in range(10_001):
        limiter.hit(key)
    clock.now = 60.0
    limiter.hit("new")
    assert len(limiter._counts) <= 10_001
    limiter.hit("newer")
    assert len(limiter._counts) == 2


def test_preflight_successes_expire_and_a_new_secret_is_a_new_key() -> None:
    clock = Clock(1000.0)
    cache = PreflightCache(ttl=120, clock=clock)
    key = ("project", "https://app/m", secret_fingerprint("spm_a"))
    assert not cache.fresh(key)
    cache.remember(key)
    assert cache.fresh(key)
    assert not cache.fresh(("project", "https://app/m", secret_fingerprint("spm_b")))
    clock.now = 1120.0
    assert not cache.fresh(key)


def test_a_zero_ttl_caches_nothing() -> None:
    cache = PreflightCache(ttl=0)
    cache.remember(("p", "e", "f"))
    assert not cache.fresh(("p", "e", "f"))
