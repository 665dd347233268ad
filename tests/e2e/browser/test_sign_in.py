"""Signing in and out in a real browser: errors as sentences, the session cookie, the way back."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import EMAIL, screenshot, sign_in
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats]


async def test_a_wrong_password_is_told_in_a_sentence_and_the_right_one_signs_in(
    page: Page, stack: Stack
) -> None:
    await page.goto(f"{stack.base}/login")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The email or the password is incorrect.")
    await screenshot(page, "sign-in")
    await sign_in(page, stack)
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["seqpulse_session"]["httpOnly"] is True
    # Scripts cannot read the session cookie.
    assert "seqpulse_session" not in await page.evaluate("document.cookie")
