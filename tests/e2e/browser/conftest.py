"""Browser tests: Debian's Chromium driven by Playwright against the e2e stack, with a screenshot per page.

Screenshots go to `$SEQPULSE_SCREENSHOTS_DIR` (default `.run/artifacts/screenshots`); `make screenshots`
points it at `docs/screenshots/`, which the docs link to.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.e2e.conftest import Stack

CHROMIUM = os.environ.get("SEQPULSE_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS = Path(os.environ.get("SEQPULSE_SCREENSHOTS_DIR", REPO / ".run" / "artifacts" / "screenshots"))
EMAIL = "ops@example.test"
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240  # once per session, before anything runs
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
            ],
        )
        yield browser
        await browser.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC"
    )
    ctx.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    errors: list[str] = []
    # A script error on any page fails the test that saw it.
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


async def sign_in(page: Page, stack: Stack, *, next_path: str = "/app") -> None:
    """Sign in through the sign-in page as the stack's user and wait to land on `next_path`."""
    await page.goto(f"{stack.base}/login?next={next_path}")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(re.escape(stack.base + next_path.split("?")[0]) + r"(\?.*)?$"))


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save `<name>.png` as a test artifact (and, with `make screenshots`, into docs/screenshots)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path
