"""Per-project policy settings: defaults, validation errors that name the field, sensitivity."""

from __future__ import annotations

from typing import Any

import pytest

from seqpulse.common.policy_settings import ALPHAS, InvalidPolicySettingsError, PolicySettings, load_settings


def test_no_settings_are_the_defaults() -> None:
    assert load_settings({}) == PolicySettings()
    assert load_settings(None).sensitivity == "medium"


def test_sensitivity_sets_the_alphas() -> None:
    for level, (warn, fail) in ALPHAS.items():
        settings = load_settings({"sensitivity": level})
        assert (settings.alpha_warn, settings.alpha_fail) == (warn, fail)
        assert fail < warn


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"latency_warn_ratio": 0.9}, "latency_warn_ratio", "greater than 1"),
        ({"error_rate_limit": 2}, "error_rate_limit", "less than or equal to 1"),
        ({"sensitivity": "max"}, "sensitivity", "'low', 'medium' or 'high'"),
        ({"min_sequences": "four"}, "min_sequences", "valid integer"),
        ({"critical_metrics": ["latency"]}, "critical_metrics", "unknown metric 'latency'"),
        ({"critical_metrics": "error_rate"}, "critical_metrics", "list of metric names"),
        ({"latency_rollback_ratio": 1.1}, "latency_rollback_ratio", "greater than latency_warn_ratio"),
        ({"traffic_rollback_drop": 0.1}, "traffic_rollback_drop", "greater than traffic_warn_drop"),
        ({"latency_floor_ms": 400}, "latency_floor_ms", "below latency_p95_limit_ms"),
        ({"colour": "blue"}, "colour", "unknown setting"),
    ],
)
def test_invalid_settings_name_the_field_and_the_reason(raw: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InvalidPolicySettingsError) as caught:
        load_settings(raw)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"settings.{field}: ")


def test_critical_metrics_are_deduplicated_in_order() -> None:
    settings = load_settings({"critical_metrics": ["latency_p95", "error_rate", "latency_p95"]})
    assert settings.critical_metrics == ("latency_p95", "error_rate")


def test_settings_are_immutable() -> None:
    with pytest.raises(ValueError, match="frozen"):
        PolicySettings().sensitivity = "high"  # type: ignore[misc]  # the point: assignment must fail


def test_the_registry_serves_exactly_the_policies_the_gateway_accepts() -> None:
    from seqpulse.analyzer.policies import POLICY_NAMES
    from seqpulse.common.policy_settings import KNOWN_POLICIES

    assert sorted(POLICY_NAMES) == sorted(KNOWN_POLICIES)
