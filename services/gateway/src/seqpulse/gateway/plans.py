"""Plan rules, pure: observation windows, environments, quotas. No I/O, so tests are plain calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Plan = Literal["free", "pro", "enterprise"]
PLANS: tuple[Plan, ...] = ("free", "pro", "enterprise")
FREE_ENV = "prod"


class PlanViolation(ValueError):
    """The request asks for something the plan does not allow; `field` names the offending input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PlanRules:
    windows: tuple[int, ...]
    default_window: int
    max_envs: int
    monthly_deployments: int | None  # None = unlimited
    endpoint_changes: int | None
    endpoint_migrations: int | None


RULES: dict[Plan, PlanRules] = {
    "free": PlanRules((5,), 5, 1, 50, 1, 1),
    "pro": PlanRules((5, 15), 15, 3, None, 3, 3),
    # The original let enterprise fall back to 5; the plan promises 30, which is what it gets here.
    "enterprise": PlanRules((5, 15, 30), 30, 3, None, None, None),
}


def rules(plan: Plan) -> PlanRules:
    return RULES[plan]


def check_window(plan: Plan, requested: int | None) -> int | None:
    """The window to store: None means "the plan's default"; a value the plan does not offer is refused."""
    if requested is None:
        return None
    allowed = RULES[plan].windows
    if requested not in allowed:
        options = ", ".join(str(w) for w in allowed)
        raise PlanViolation(
            "window_sequences", f"the {plan} plan allows {options} sequences, not {requested}"
        )
    return requested


def effective_window(plan: Plan, configured: int | None) -> int:
    """The number of post sequences a deployment observes: the configured one if the plan still allows it."""
    allowed = RULES[plan]
    if configured is not None and configured in allowed.windows:
        return configured
    return allowed.default_window


def resolve_envs(plan: Plan, requested: list[str] | None) -> list[str]:
    """Free projects are always `["prod"]` (as in the original); others keep 1..max distinct envs."""
    if plan == "free":
        return [FREE_ENV]
    if requested is None:
        return [FREE_ENV]
    envs = list(dict.fromkeys(requested))
    if len(envs) != len(requested):
        raise PlanViolation("envs", "must not contain duplicates")
    limit = RULES[plan].max_envs
    if len(envs) > limit:
        raise PlanViolation("envs", f"the {plan} plan allows at most {limit} environments, got {len(envs)}")
    if not envs:
        raise PlanViolation("envs", "must contain at least one environment")
    return envs


def check_env_update(plan: Plan, requested: list[str]) -> list[str]:
    """Like `resolve_envs`, but an explicit change a free project cannot have is refused, not rewritten."""
    if plan == "free" and requested != [FREE_ENV]:
        raise PlanViolation("envs", f"the free plan is limited to ['{FREE_ENV}']")
    return resolve_envs(plan, requested)


def trigger_env(plan: Plan, env: str) -> str:
    """The env a trigger runs in: free projects are rewritten to `prod`."""
    return FREE_ENV if plan == "free" else env


def monthly_quota_reached(plan: Plan, started_this_month: int) -> bool:
    quota = RULES[plan].monthly_deployments
    return quota is not None and started_this_month >= quota


def quota_message(plan: Plan) -> str:
    quota = RULES[plan].monthly_deployments
    return f"Free plan monthly deployment quota reached ({quota}/{quota}). Upgrade to Pro."
