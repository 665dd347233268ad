"""The analysis policies by name; the analyzer picks one per analysis."""

from __future__ import annotations

from seqpulse.analyzer.model import Policy
from seqpulse.analyzer.policies.evidence_v1 import EvidenceV1Policy
from seqpulse.analyzer.policies.original_v2 import OriginalV2Policy
from seqpulse.common.policy_settings import DEFAULT_POLICY as COMMON_DEFAULT

POLICIES: dict[str, Policy] = {
    OriginalV2Policy.name: OriginalV2Policy(),
    EvidenceV1Policy.name: EvidenceV1Policy(),
}
POLICY_NAMES: tuple[str, ...] = tuple(POLICIES)
DEFAULT_POLICY = COMMON_DEFAULT


class UnknownPolicyError(ValueError):
    """A policy name that is not in the registry."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown analysis policy {name!r}; known policies: {', '.join(POLICY_NAMES)}")
        self.name = name


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise UnknownPolicyError(name) from None


__all__ = ["DEFAULT_POLICY", "POLICIES", "POLICY_NAMES", "UnknownPolicyError", "get_policy"]
