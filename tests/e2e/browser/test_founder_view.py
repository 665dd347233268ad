"""The Founder View in a browser: only the admin gets it; it draws usage, health and countries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from seqpulse.common.db.pool import Pool
from seqpulse.gateway.admin import create_user
from tests.e2e.browser.conftest import PASSWORD, PHONE, screenshot, sign_in
from tests.e2e.conftest import Stack
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats]
FOUNDER = "founder@example.test"


async def send_usage(stack: Stack, project: dict[str, Any], who: str, people: int, client: str) -> None:
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "event_name": "custom.dashboard_opened",
            "user_id": f"{client}-person-{i}",
        }
        for i in range(people)
    ]
    await stack.call(
        "POST",
        "/events",
        expect=202,
        json={"events": events},
        headers={"X-API-Key": project["api_key"], "X-Forwarded-For": client},
    )


async def test_the_founder_sees_usage_and_countries_and_a_user_is_refused(
    page: Page, stack: Stack, pool: Pool
) -> None:
    project = await stack.project("shop", hmac=False)
    await send_usage(stack, project, "london", 6, "81.2.69.142")  # GB in the MaxMind test database
    await send_usage(stack, project, "malmo", 2, "89.160.20.113")  # SE: too few to be named

    async def stored() -> bool:
        async with pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(DISTINCT user_key) FROM user_daily_activity") >= 8)

    await eventually(stored, timeout=30)

    # A signed-in user who is not the admin: no link, and the page says why in a sentence.
    await sign_in(page, stack)
    await expect(page.get_by_role("link", name="Founder View")).to_have_count(0)
    await page.goto(f"{stack.base}/app/founder")
    await expect(page.get_by_role("heading", level=1)).to_have_text("This page could not be shown")
    await expect(page.get_by_text("The Founder View is for the administrator")).to_be_visible()
    await page.context.clear_cookies()

    await create_user(pool, email=FOUNDER, name="Founder", password=PASSWORD, is_admin=True)
    await page.goto(f"{stack.base}/login?next=/app/founder")
    await page.get_by_label("Email").fill(FOUNDER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{stack.base}/app/founder")
    # The eight people of the events (the founder's own sign-in may not be stored yet).
    dau = int(await page.get_by_test_id("dau").inner_text())
    assert dau >= 8
    countries = page.get_by_test_id("countries")
    await expect(countries.locator("li").first).to_contain_text("GB")
    await expect(countries.locator("li").first).to_contain_text("6")
    await expect(countries).not_to_contain_text("SE")
    await expect(countries).to_contain_text("other")
    # Charts, not tables of numbers: the activity, stickiness, funnel, projects and API charts.
    await expect(page.locator("svg.chart")).to_have_count(5)
    await screenshot(page, "founder-view")

    await page.set_viewport_size(PHONE)
    await page.reload()
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
