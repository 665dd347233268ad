"""A project's analysis policy: chosen and tuned per project, validated with the field and the reason."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.nats]


async def test_policy_settings_are_validated_naming_the_field_and_nothing_is_saved(stack: Stack) -> None:
    project = await stack.project("policy", hmac=False)
    url = f"/projects/{project['id']}/policy"
    before = await stack.call("GET", url, headers=stack.auth)
    assert before["analysis_policy"] is None and before["effective_policy"] == "evidence-v1"

    bad = await stack.call(
        "PUT", url, headers=stack.auth, json={"settings": {"sensitivity": "extreme"}}, expect=422
    )
    assert bad["errors"][0]["field"] == "settings.sensitivity"
    unknown = await stack.call("PUT", url, headers=stack.auth, json={"analysis_policy": "magic"}, expect=422)
    assert unknown["errors"][0]["field"] == "analysis_policy"
    assert await stack.call("GET", url, headers=stack.auth) == before

    saved = await stack.call(
        "PUT",
        url,
        headers=stack.auth,
        json={"analysis_policy": "original-v2", "settings": {"sensitivity": "low"}},
    )
    assert saved["effective_policy"] == "original-v2" and saved["effective_settings"]["sensitivity"] == "low"
    assert await stack.call("GET", url, headers=stack.auth) == saved
