"""Overview, Deployments, Hints and Settings in a real browser, over deployments the real stack verified."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import PHONE, screenshot, sign_in
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats]
LABELS = {
    "ok": "OK",
    "warning": "Warning",
    "rollback_recommended": "Rollback recommended",
    "not_enough_data": "Not enough data",
}


def shown_verdict(deployment: dict[str, Any]) -> str:
    """The verdict key the pages show: an honest "not enough data" never hides a rollback."""
    verdict = deployment["verdict"]
    if verdict["insufficient_data"] and verdict["verdict"] != "rollback_recommended":
        return "not_enough_data"
    return str(verdict["verdict"])


async def fits_phone_width(page: Page, url: str) -> None:
    await page.goto(url)
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 390px"


async def tab_until(page: Page, selector: str, *, limit: int = 40) -> int:
    """Press Tab until `selector` has the focus; how many presses it took."""
    for presses in range(1, limit + 1):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return presses
    raise AssertionError(f"Tab never reached {selector}")


async def test_overview_deployments_and_hints_show_what_the_stack_decided(page: Page, stack: Stack) -> None:
    healthy = await stack.deploy(await stack.project("checkout", hmac=False), regression=None)
    bad = await stack.deploy(
        await stack.project("payments", hmac=False), regression={"kind": "errors", "magnitude": 0.3}
    )
    assert shown_verdict(bad) == "rollback_recommended"
    good = shown_verdict(healthy)
    await sign_in(page, stack)

    # Overview: both deployments with their verdicts, the counts, and the project to look at.
    recent = page.locator("section[aria-labelledby=recent-title] tbody tr")
    await expect(recent).to_have_count(2)
    await expect(recent.filter(has_text="payments").locator(".badge")).to_have_text("Rollback recommended")
    await expect(recent.filter(has_text="checkout").locator(".badge")).to_have_text(LABELS[good])
    week = page.locator("svg[data-days='7']")
    await expect(week.locator("g[data-verdict=rollback_recommended] .lists-chart-count")).to_have_text("1")
    await expect(week.locator(f"g[data-verdict={good}] .lists-chart-count")).to_have_text("1")
    await expect(page.locator("svg[data-days='30'] g[data-verdict=pending]")).to_have_attribute(
        "data-count", "0"
    )
    attention = page.locator(".lists-attention")
    await expect(attention.get_by_role("link", name="payments")).to_be_visible()
    await expect(attention).to_contain_text("rollback recommended")
    await screenshot(page, "overview")

    # Deployments: the filters work without any script, as a GET form.
    await page.get_by_role("link", name="Deployments", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Deployments")
    await expect(page.locator("tbody tr")).to_have_count(2)
    await screenshot(page, "deployments")
    # Keyboard: Tab reaches the filters, then (past them) the first deployment's link.
    to_filters = await tab_until(page, "#f-project")
    to_row = await tab_until(page, "tbody tr:first-child a")
    assert to_filters < 15 and to_row < 20
    await page.get_by_label("Verdict").select_option("rollback_recommended")
    await page.get_by_role("button", name="Apply filters").click()
    await page.wait_for_url(re.compile(r"verdict=rollback_recommended"))
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("payments")
    await expect(page.get_by_label("Verdict")).to_have_value("rollback_recommended")

    # Hints: filtering by severity leaves only that severity.
    await page.get_by_role("link", name="Hints", exact=True).click()
    hints = page.locator("article.lists-hint")
    await expect(hints.first).to_be_visible()
    await page.get_by_label("Severity").select_option("critical")
    await page.get_by_role("button", name="Apply filters").click()
    await page.wait_for_url(re.compile(r"severity=critical"))
    count = await hints.count()
    assert count >= 1
    assert await page.locator("article.lists-hint:not([data-severity=critical])").count() == 0
    first = hints.first
    await expect(first.locator(".badge")).to_have_text("Critical")
    await expect(first.get_by_role("link", name=re.compile(r"^dpl_\d+$"))).to_be_visible()
    await expect(first.get_by_role("heading", name="Suggested actions")).to_be_visible()
    await screenshot(page, "sdh")

    await page.set_viewport_size(PHONE)
    for path in ("/app", "/app/deployments", "/app/sdh", "/app/settings"):
        await fits_phone_width(page, f"{stack.base}{path}")


async def test_a_token_is_shown_once_copied_and_revoked_from_settings(page: Page, stack: Stack) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
    await sign_in(page, stack, next_path="/app/settings")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    await expect(page.get_by_text("ops@example.test")).to_be_visible()

    # No scope: told before anything is sent.
    await page.get_by_label("Name").fill("deploy bot")
    await page.get_by_label("Read", exact=True).uncheck()
    await page.get_by_role("button", name="Create token").click()
    await expect(page.get_by_text("Choose at least one scope.")).to_be_visible()

    await page.get_by_label("Read", exact=True).check()
    await page.get_by_label("Write", exact=True).check()
    await page.get_by_label("Expires after (days)").fill("30")
    await page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token")
    await expect(secret).to_have_text(re.compile(r"^spt_[\w-]{20,}$"))
    token = (await secret.text_content() or "").strip()
    await expect(page.locator("#token-created-title")).to_be_focused()
    await expect(page.get_by_role("button", name="Copy")).to_be_visible()
    copy = page.locator("button[data-copy='#new-token']")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == token
    row = page.locator("#tokens-table tbody tr", has_text="deploy bot")
    await expect(row).to_contain_text("read, write")
    await screenshot(page, "settings")

    # The token works, and the page never shows it again.
    bearer = {"Authorization": f"Bearer {token}"}
    await stack.call("GET", "/tokens", headers=bearer)
    await page.reload()
    assert token not in await page.content()
    await expect(row).to_contain_text(token[4:12])

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Revoke token deploy bot").click()
    await expect(row.locator(".badge")).to_have_text("Revoked")
    await expect(row.get_by_role("button")).to_have_count(0)
    await stack.call("GET", "/tokens", headers=bearer, expect=401)

    await page.set_viewport_size(PHONE)
    await fits_phone_width(page, f"{stack.base}/app/settings")
