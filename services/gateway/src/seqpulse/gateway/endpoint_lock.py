"""The endpoint lock, pure: how a new candidate relates to the active endpoint, and what the plan allows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqpulse.common.endpoints import endpoint_host
from seqpulse.gateway.plans import Plan, rules

Mutation = Literal["none", "path_change", "host_migration"]


class QuotaExceeded(ValueError):
    """The plan's budget of endpoint changes or host migrations is spent."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LockState:
    """The endpoint columns of a project row."""

    active: str | None
    host_lock: str | None
    change_count: int
    migration_count: int
    baseline_version: int


@dataclass(frozen=True, slots=True)
class Activation:
    """The columns to write when a tested candidate becomes the active endpoint."""

    active: str
    host_lock: str
    change_count: int
    migration_count: int
    baseline_version: int
    mutation: Mutation


def classify(state: LockState, candidate: str) -> Mutation:
    """`none` with no active endpoint yet or an identical one; else same locked host or another host."""
    if state.active is None or state.active == candidate:
        return "none"
    lock = state.host_lock or endpoint_host(state.active)
    return "path_change" if endpoint_host(candidate) == lock else "host_migration"


def check_quota(plan: Plan, state: LockState, mutation: Mutation) -> None:
    """Refuse a mutation whose quota is spent; quotas are consumed only by a successful activation."""
    plan_rules = rules(plan)
    if mutation == "path_change" and plan_rules.endpoint_changes is not None:
        if state.change_count >= plan_rules.endpoint_changes:
            raise QuotaExceeded(
                "CHANGE_LIMIT_EXCEEDED",
                f"Endpoint path change limit reached ({state.change_count}/{plan_rules.endpoint_changes}) "
                f"for the {plan} plan.",
            )
    if mutation == "host_migration" and plan_rules.endpoint_migrations is not None:
        if state.migration_count >= plan_rules.endpoint_migrations:
            raise QuotaExceeded(
                "MIGRATION_LIMIT_EXCEEDED",
                f"Endpoint host migration limit reached ({state.migration_count}/"
                f"{plan_rules.endpoint_migrations}) for the {plan} plan.",
            )


def activate(plan: Plan, state: LockState, candidate: str) -> Activation:
    """What a successful test of `candidate` changes; raises `QuotaExceeded` like `check_quota`."""
    mutation = classify(state, candidate)
    check_quota(plan, state, mutation)
    host = endpoint_host(candidate)
    changed = state.active is not None and state.active != candidate
    return Activation(
        active=candidate,
        host_lock=host if (state.host_lock is None or mutation == "host_migration") else state.host_lock,
        change_count=state.change_count + (mutation == "path_change"),
        migration_count=state.migration_count + (mutation == "host_migration"),
        # A different endpoint means a different app instance: earlier baselines no longer compare.
        baseline_version=state.baseline_version + changed,
        mutation=mutation,
    )
