"""A project's analysis policy and its settings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PolicyUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    analysis_policy: str | None = Field(default=None, description="null: the default policy")
    settings: dict[str, Any] = Field(default_factory=dict, description="see docs/verdicts.md")


class PolicyResponse(BaseModel):
    analysis_policy: str | None
    effective_policy: str
    settings: dict[str, Any] = Field(description="as stored (only what was set)")
    effective_settings: dict[str, Any] = Field(description="every setting, defaults filled in")
    available_policies: list[str]
