"""The Projects pages in a real browser: create a project, see its key once, activate its endpoint, sign
its probes, rotate its secrets, and see CI's deployments; on a phone and with the keyboard only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Dialog, Page, expect

from tests.e2e.browser.conftest import PHONE, screenshot, sign_in
from tests.e2e.conftest import Stack
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres, pytest.mark.nats]
VERDICTS = {"ok": "OK", "warning": "Warning", "rollback_recommended": "Rollback recommended"}


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def ci(stack: Stack, path: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with stack.http.post(f"{stack.base}{path}", json=body, headers={"X-API-Key": key}) as response:
        return response.status, await response.json(content_type=None)


async def test_a_project_from_creation_to_a_verified_deployment(page: Page, stack: Stack) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.base)
    await sign_in(page, stack, next_path="/app/projects")
    await expect(page.get_by_role("heading", name="Create your first project")).to_be_visible()
    await screenshot(page, "projects-empty")

    # A window the free plan does not offer: the reason next to the field, and no project.
    await page.get_by_role("link", name="Create your first project").click()
    await page.get_by_label("Name", exact=True).fill("shop-api")
    await page.get_by_label("Metrics endpoint URL").fill(f"{stack.demo}/seqpulse-metrics")
    await page.get_by_label("Observation window").select_option("15")
    await page.get_by_role("button", name="Create project").click()
    window_error = page.locator('[data-error-for="window_sequences"]')
    await expect(window_error).to_have_text("Observation window: the free plan allows 5 sequences, not 15")
    await expect(page.get_by_label("Observation window")).to_be_focused()
    await expect(page.get_by_role("alert").first).to_contain_text("The project was not created")
    await screenshot(page, "project-new")
    assert (await stack.call("GET", "/projects", headers=stack.auth))["items"] == []

    # The Pro plan offers it (5 keeps the test short): created, and the key is shown once, here.
    await page.get_by_label("Pro", exact=True).check()
    await page.get_by_label("Observation window").select_option("5")
    await page.get_by_role("button", name="Create project").click()
    await expect(page.get_by_role("heading", name="Project created")).to_be_focused()
    await expect(window_error).to_be_hidden()
    key = (await page.locator("#new-api-key").text_content() or "").strip()
    assert re.fullmatch(r"SP_[0-9a-f]{32}", key)
    assert "SP_" not in page.url and key not in page.url
    await page.get_by_role("button", name="Copy key").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == key

    await page.get_by_role("link", name="Continue to project").click()
    await page.wait_for_url(re.compile(r"/app/projects/[0-9a-f-]{36}$"))
    project_id = page.url.rsplit("/", 1)[1]
    assert key not in await page.content()
    await expect(page.locator("#key-prefix")).to_have_text(f"{key[:11]}…")
    endpoint = page.locator("#endpoint")
    await expect(endpoint.locator("[data-endpoint-state]")).to_have_text("Pending verification")

    # Test and activate: the metrics read, in a sentence; the state everywhere on the page.
    await page.get_by_role("button", name="Test and activate").click()
    result = page.locator("#endpoint-result")
    await expect(result).to_contain_text("Test passed: the endpoint is active. It answered")
    await expect(result).to_contain_text("requests/s, p95 latency")
    await expect(page.locator("[data-endpoint-state]").first).to_have_text("Active")
    await expect(endpoint.locator("[data-endpoint-verified] time")).to_be_visible()

    # HMAC on: the secret once; the demo app configured with it; still active.
    await page.get_by_role("button", name="Turn on HMAC").click()
    await expect(page.locator("#hmac-secret-panel")).to_be_visible()
    secret = (await page.locator("#hmac-secret").text_content() or "").strip()
    assert secret.startswith("spm_")
    await expect(page.locator("#hmac-state")).to_have_text("on")
    await stack.call("PUT", f"{stack.demo}/admin/hmac", json={"secret": secret})
    await page.get_by_role("button", name="Test and activate").click()
    await expect(result).to_contain_text("Test passed")

    # Rotated: the app still has the old secret, so the test fails and says why; configured, it passes.
    page.once("dialog", accept)
    await page.get_by_role("button", name="Rotate secret").click()
    await expect(page.locator("#hmac-secret")).not_to_have_text(secret)
    rotated_secret = (await page.locator("#hmac-secret").text_content() or "").strip()
    assert rotated_secret.startswith("spm_")
    await page.get_by_role("button", name="Test and activate").click()
    test_error = page.locator("#endpoint-test .form-error")
    await expect(test_error).to_contain_text("The test failed: app answered 401 to a signed request.")
    await expect(test_error).to_contain_text("Your app rejected SeqPulse's signature")
    await expect(endpoint.locator("[data-endpoint-state]")).to_have_text("Pending verification")
    await stack.call("PUT", f"{stack.demo}/admin/hmac", json={"secret": rotated_secret})
    await page.get_by_role("button", name="Test and activate").click()
    await expect(result).to_contain_text("Test passed")
    await expect(test_error).to_be_hidden()
    await expect(endpoint.locator("[data-endpoint-state]")).to_have_text("Active")

    # Settings: saved through the API; the page follows without a reload (which would drop the secret).
    await page.get_by_label("Description").fill("The shop's public API")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    await expect(page.locator("#project-description")).to_have_text("The shop's public API")
    await expect(page.locator("#hmac-secret")).to_have_text(rotated_secret)

    # API key rotated after a confirmation: the old key is refused, the new one announces deployments.
    messages: list[str] = []

    async def confirm(dialog: Dialog) -> None:
        messages.append(dialog.message)
        await dialog.accept()

    page.once("dialog", confirm)
    await page.get_by_role("button", name="Rotate API key").click()
    await expect(page.locator("#new-key-panel")).to_be_visible()
    assert "stops working at once" in messages[0] and key[:11] in messages[0]
    new_key = (await page.locator("#new-api-key").text_content() or "").strip()
    assert re.fullmatch(r"SP_[0-9a-f]{32}", new_key) and new_key != key
    await expect(page.locator("#key-prefix")).to_have_text(f"{new_key[:11]}…")
    await screenshot(page, "project-key-rotated")
    status, _ = await ci(stack, "/deployments/trigger", key, {"env": "prod"})
    assert status == 401
    status, trigger = await ci(stack, "/deployments/trigger", new_key, {"env": "prod", "branch": "main"})
    assert status == 200 and trigger["status"] == "created", trigger
    deployment_id = trigger["deployment_id"]

    async def detail(done: Any) -> dict[str, Any] | None:
        body = await stack.call("GET", f"/deployments/{deployment_id}", headers=stack.auth)
        return body if done(body) else None

    await eventually(lambda: detail(lambda d: d["window"]["collected_pre"] >= 1))
    status, finish = await ci(
        stack, "/deployments/finish", new_key, {"deployment_id": deployment_id, "result": "success"}
    )
    assert status == 200 and finish["status"] == "accepted", finish
    verdict = (await eventually(lambda: detail(lambda d: d["verdict"] is not None), timeout=40))["verdict"]

    # The deployment and its verdict on the project page and in the list.
    await page.reload()
    row = page.locator("#deployments tbody tr").first
    await expect(row.get_by_role("link", name="dpl_1")).to_have_attribute(
        "href", f"/app/deployments/{deployment_id}"
    )
    await expect(row.locator(".badge")).to_have_text(VERDICTS[verdict["verdict"]])
    await expect(row).to_contain_text("main")
    assert new_key not in await page.content() and rotated_secret not in await page.content()
    await screenshot(page, "project-detail")
    await page.get_by_role("link", name="Projects", exact=True).first.click()
    listed = page.locator("tbody tr", has_text="shop-api")
    await expect(listed.locator(".badge-active")).to_have_text("Active")
    await expect(listed.get_by_role("link", name="dpl_1")).to_be_visible()
    await expect(listed.locator(f".badge-{verdict['verdict']}")).to_have_text(VERDICTS[verdict["verdict"]])
    assert project_id in (await listed.get_by_role("link", name="shop-api").get_attribute("href") or "")


async def no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url}: content {width[0]} px wide in a {width[1]} px viewport"


async def test_projects_pages_fit_a_phone_and_work_with_the_keyboard(page: Page, stack: Stack) -> None:
    project = await stack.call(
        "POST",
        "/projects",
        expect=201,
        headers=stack.auth,
        json={
            "name": "a-project-with-a-rather-long-name",
            "metrics_endpoint": f"{stack.demo}/seqpulse-metrics",
        },
    )
    await page.set_viewport_size({"width": PHONE["width"], "height": PHONE["height"]})
    await sign_in(page, stack, next_path="/app/projects")
    await no_horizontal_scroll(page)
    await page.goto(f"{stack.base}/app/projects/{project['id']}")
    for summary in await page.locator("details.snippet > summary").all():
        await summary.click()
    await expect(page.locator("#snippet-gitlab")).to_be_visible()
    await no_horizontal_scroll(page)

    # Keyboard only: Tab reaches every field of the create form in order, then the submit button.
    await page.goto(f"{stack.base}/app/projects/new")
    await no_horizontal_scroll(page)

    async def tab_until_submit() -> list[str]:
        seen: list[str] = []
        for _ in range(40):
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "(() => { const el = document.activeElement;"
                " return el.type === 'submit' && el.closest('#create-project') ? 'submit'"
                " : (el.id || el.textContent.trim()); })()"
            )
            seen.append(focused)
            if focused == "submit":
                return seen
        raise AssertionError(f"Tab never reached the submit button: {seen}")

    fields = {"name", "description", "plan-free", "envs", "window_sequences", "metrics_endpoint", "submit"}
    order = [f for f in await tab_until_submit() if f in fields]
    # Free projects deploy to prod only: the environments field is off until another plan is chosen.
    assert order == ["name", "description", "plan-free", "window_sequences", "metrics_endpoint", "submit"]
    await page.locator("#plan-free").focus()
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#plan-pro")).to_be_checked()
    await expect(page.get_by_label("Environments")).to_be_enabled()
    await page.locator("#name").focus()
    await page.keyboard.type("keyboard-app")
    await page.locator("#metrics_endpoint").focus()
    await page.keyboard.type(f"{stack.demo}/seqpulse-metrics")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Project created")).to_be_focused()
    await no_horizontal_scroll(page)
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Copy key")).to_be_focused()
