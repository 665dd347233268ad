"""What the dashboard is told about a deployment: never a verdict before the analyzer gave one."""

from __future__ import annotations

import pytest

from seqpulse.gateway.views import derive_state


@pytest.mark.parametrize(
    ("state", "window", "has_verdict", "expected"),
    [
        ("running", None, False, "running"),
        ("expired", None, False, "expired"),
        ("finished", None, False, "collecting"),
        ("finished", "open", False, "collecting"),
        ("finished", "closed", False, "analyzing"),
        ("finished", "cancelled", False, "analyzing"),
        ("finished", "closed", True, "analyzed"),
        ("finished", "cancelled", True, "analyzed"),
    ],
)
def test_derived_state(state: str, window: str | None, has_verdict: bool, expected: str) -> None:
    assert derive_state(state, window, has_verdict) == expected
