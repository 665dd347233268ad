"""Analyzer settings (`SEQPULSE_ANALYZER_*` on top of the common ones)."""

from __future__ import annotations

from seqpulse.common.config import CommonSettings
from seqpulse.common.policy_settings import DEFAULT_POLICY


class AnalyzerSettings(CommonSettings):
    """Which policy decides a window when the project names none."""

    analyzer_default_policy: str = DEFAULT_POLICY
