"""The Insights page in headless Chromium: an admin sees the charts, an agent gets 403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from loopback.rasa_server import ROOT
from tests.support.insights_server import insights_server_thread

pytestmark = [pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _login(page: Page, base: str, name: str) -> None:
    page.goto(base + "/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(f"{name}-pass")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-name")).to_contain_text(name)


def test_admin_sees_charts_and_agent_gets_403(tmp_path: Path, browser: Browser) -> None:
    with insights_server_thread(tmp_path) as base:
        admin = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
        errors: list[str] = []
        admin.on("pageerror", lambda e: errors.append(str(e)))
        _login(admin, base, "root")
        admin.get_by_role("link", name="Insights").click()
        expect(admin).to_have_title("Pinecrest insights")
        expect(admin.get_by_role("status")).to_have_text("Updated.", timeout=30_000)  # 30 days
        admin.get_by_label("From").fill("2026-11-02")
        admin.get_by_label("To").fill("2026-11-09")
        admin.get_by_role("button", name="Apply").click()
        expect(admin.get_by_label("Key figures")).to_contain_text("53.8% (7/13)", timeout=30_000)
        charts = admin.get_by_label("Charts")
        expect(charts.locator(".main-svg").first).to_be_visible()
        for name in ("rates", "handoffs", "intent_volume", "csat", "agents", "friction"):
            expect(admin.locator(f"#chart-{name} .bars path").first).to_be_attached()
        expect(admin.get_by_label("Friction points")).to_contain_text("form:cancel_form")
        expect(admin.locator("#examples")).to_contain_text("[EMAIL_1]")
        expect(admin.locator("body")).not_to_contain_text("anna@example.com")

        admin.get_by_label("Channel").select_option("slack")
        admin.get_by_role("button", name="Apply").click()
        expect(admin.get_by_label("Key figures")).to_contain_text("100.0% (3/3)", timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        admin.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)
        assert errors == []

        agent = browser.new_context().new_page()
        _login(agent, base, "alice")
        expect(agent.get_by_role("link", name="Insights")).to_be_hidden()
        response = agent.goto(base + "/insights")
        assert response is not None and response.status == 403
        api = agent.request.get(base + "/api/insights")
        assert api.status == 403
