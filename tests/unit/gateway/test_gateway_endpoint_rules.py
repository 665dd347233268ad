"""The endpoint lock's decisions, pure: mutation kind, quotas, what an activation writes."""

from __future__ import annotations

import pytest

from seqpulse.gateway.endpoint_lock import LockState, QuotaExceeded, activate, check_quota, classify

A = "https://app.example.com/seqpulse-metrics"
FRESH = LockState(active=None, host_lock=None, change_count=0, migration_count=0, baseline_version=1)
LIVE = LockState(active=A, host_lock="app.example.com", change_count=0, migration_count=0, baseline_version=1)


def test_classify() -> None:
    assert classify(FRESH, A) == "none"
    assert classify(LIVE, A) == "none"
    assert classify(LIVE, "https://app.example.com/other") == "path_change"
    assert (
        classify(LIVE, "https://app.example.com:8443/seqpulse-metrics") == "path_change"
    )  # port is not the host
    assert classify(LIVE, "https://new.example.com/seqpulse-metrics") == "host_migration"


def test_first_activation_locks_the_host_without_a_new_baseline() -> None:
    activation = activate("free", FRESH, A)
    assert (activation.active, activation.host_lock, activation.mutation) == (A, "app.example.com", "none")
    assert (activation.change_count, activation.migration_count, activation.baseline_version) == (0, 0, 1)


def test_a_path_change_counts_and_starts_a_new_baseline() -> None:
    activation = activate("free", LIVE, "https://app.example.com/v2/metrics")
    assert (activation.mutation, activation.change_count, activation.baseline_version) == (
        "path_change",
        1,
        2,
    )
    assert activation.host_lock == "app.example.com"


def test_a_host_migration_moves_the_lock() -> None:
    activation = activate("pro", LIVE, "https://new.example.com/m")
    assert (activation.mutation, activation.host_lock, activation.migration_count) == (
        "host_migration",
        "new.example.com",
        1,
    )


def test_spent_quotas_are_refused_with_their_code() -> None:
    spent = LockState(
        active=A, host_lock="app.example.com", change_count=1, migration_count=1, baseline_version=3
    )
    with pytest.raises(QuotaExceeded) as caught:
        check_quota("free", spent, "path_change")
    assert caught.value.code == "CHANGE_LIMIT_EXCEEDED"
    with pytest.raises(QuotaExceeded) as caught:
        activate("free", spent, "https://elsewhere.example/m")
    assert caught.value.code == "MIGRATION_LIMIT_EXCEEDED"
    check_quota("enterprise", LockState(A, "app.example.com", 99, 99, 1), "host_migration")  # unlimited
    check_quota("free", spent, "none")
