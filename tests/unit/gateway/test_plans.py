"""Plan rules are pure: windows, environments, quotas."""

from __future__ import annotations

import pytest

from seqpulse.gateway import plans
from seqpulse.gateway.plans import PlanViolation


@pytest.mark.parametrize(
    ("plan", "configured", "expected"),
    [
        ("free", None, 5),
        ("free", 15, 5),  # a window the plan no longer offers falls back to its default
        ("pro", None, 15),
        ("pro", 5, 5),
        ("pro", 30, 15),
        ("enterprise", None, 30),
        ("enterprise", 15, 15),
    ],
)
def test_effective_window_uses_the_configured_one_only_when_the_plan_offers_it(
    plan: plans.Plan, configured: int | None, expected: int
) -> None:
    assert plans.effective_window(plan, configured) == expected


def test_check_window_refuses_what_the_plan_does_not_offer_naming_the_field() -> None:
    assert plans.check_window("pro", 15) == 15
    assert plans.check_window("free", None) is None
    with pytest.raises(PlanViolation) as caught:
        plans.check_window("free", 15)
    assert caught.value.field == "window_sequences"
    assert caught.value.reason == "the free plan allows 5 sequences, not 15"
    with pytest.raises(PlanViolation, match="5, 15, 30"):
        plans.check_window("enterprise", 60)


def test_free_projects_always_get_prod() -> None:
    assert plans.resolve_envs("free", None) == ["prod"]
    assert plans.resolve_envs("free", ["staging", "qa"]) == ["prod"]
    assert plans.trigger_env("free", "staging") == "prod"
    assert plans.trigger_env("pro", "staging") == "staging"


def test_paid_plans_allow_three_distinct_envs() -> None:
    assert plans.resolve_envs("pro", ["prod", "staging", "qa"]) == ["prod", "staging", "qa"]
    assert plans.resolve_envs("enterprise", None) == ["prod"]
    with pytest.raises(PlanViolation, match="at most 3 environments, got 4"):
        plans.resolve_envs("pro", ["a", "b", "c", "d"])
    with pytest.raises(PlanViolation, match="duplicates"):
        plans.resolve_envs("pro", ["prod", "prod"])


def test_an_explicit_env_change_on_free_is_refused_not_rewritten() -> None:
    assert plans.check_env_update("free", ["prod"]) == ["prod"]
    with pytest.raises(PlanViolation) as caught:
        plans.check_env_update("free", ["staging"])
    assert caught.value.field == "envs"


def test_only_free_has_a_monthly_quota_of_fifty() -> None:
    assert not plans.monthly_quota_reached("free", 49)
    assert plans.monthly_quota_reached("free", 50)
    assert not plans.monthly_quota_reached("pro", 10_000)
    assert not plans.monthly_quota_reached("enterprise", 10_000)
    assert (
        plans.quota_message("free") == "Free plan monthly deployment quota reached (50/50). Upgrade to Pro."
    )


def test_endpoint_quotas_per_plan() -> None:
    assert (plans.rules("free").endpoint_changes, plans.rules("free").endpoint_migrations) == (1, 1)
    assert (plans.rules("pro").endpoint_changes, plans.rules("pro").endpoint_migrations) == (3, 3)
    assert (plans.rules("enterprise").endpoint_changes, plans.rules("enterprise").endpoint_migrations) == (
        None,
        None,
    )
