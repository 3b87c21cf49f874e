"""The web chat widget in headless Chromium: against the real bot, and against an in-process
channel server that plays handoff events, restarts, and checks what the widget renders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import requests
from playwright.async_api import Browser, async_playwright
from playwright.async_api import expect as async_expect
from playwright.sync_api import Page, expect, sync_playwright
from rasa.core.channels.channel import UserMessage

from channels.webchat import WebChatOutbound
from loopback.ports import free_port
from loopback.rasa_server import ROOT, running_bot
from tests.support.webchat import echo_handler, webchat_server

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
CREDENTIALS = """\
rest:
channels.webchat.WebChatInput:
  rate_limit: {rate: 5, burst: 20}
"""


# --------------------------------------------------------------------------- real bot


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 900, "height": 700})
        finally:
            browser.close()


def _user_intents(url: str, sender_id: str) -> list[str]:
    tracker = requests.get(f"{url}/conversations/{sender_id}/tracker", timeout=10).json()
    return [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]


@pytest.mark.slow
def test_widget_talks_to_the_bot_and_survives_a_reload(
    sample_bot_model: Path, tmp_path: Path, page: Page
) -> None:
    with running_bot(sample_bot_model, tmp_path, credentials=CREDENTIALS) as bot:
        for path in ("/widget.js", "/widget", "/webhooks/web/widget.css"):
            assert requests.get(bot.url + path, timeout=10).status_code == 200, path

        page.goto(bot.url + "/webhooks/web/demo")
        assert page.locator("script").count() == 1
        page.get_by_role("button", name="Open chat with Pinecrest support").click()
        box = page.get_by_role("textbox", name="Type your message")
        expect(box).to_be_focused()
        box.fill("/greet")
        box.press("Enter")
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator(".pcw-user")).to_have_text(["/greet"])
        track = log.get_by_role("button", name="Track my order")
        expect(track).to_be_visible(timeout=60_000)
        expect(log.locator(".pcw-bot")).to_have_count(1)
        session_id = page.evaluate("PinecrestChat.sessionId()")
        assert session_id

        page.reload()
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator(".pcw-user")).to_have_text(["/greet"])
        expect(log.locator(".pcw-bot")).to_have_count(1)
        expect(page.locator(".pcw-conn")).to_be_hidden(timeout=15_000)  # reconnected
        assert page.evaluate("PinecrestChat.sessionId()") == session_id

        log.get_by_role("button", name="Track my order").click()
        expect(log.locator(".pcw-user")).to_have_text(["/greet", "Track my order"])
        expect(log.locator(".pcw-bot").nth(1)).to_contain_text("order number", timeout=30_000)
        assert _user_intents(bot.url, f"web:{session_id}") == ["greet", "order_status"]

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "webchat.png"))


# --------------------------------------------------------------------------- in-process


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


async def shop_assistant(message: UserMessage) -> None:
    """Echoes after a pause; `/photo` and `/choose` get an image and quick replies."""
    await asyncio.sleep(0.8)
    out = message.output_channel
    assert out is not None
    if message.text == "/photo":
        await out.send_response(
            message.sender_id,
            {"text": "Here it is.", "image": "https://img.pinecrest.example/boot.png"},
        )
    elif message.text == "/choose":
        choices = [{"title": "Red", "payload": "/red"}, {"title": "Blue", "payload": "/blue"}]
        await out.send_response(
            message.sender_id, {"text": "Which colour?", "quick_replies": choices}
        )
    else:
        await echo_handler(message)


async def test_widget_renders_safely_handoff_states_and_reconnects(browser: Browser) -> None:
    port = free_port()
    page = await browser.new_page()
    async with webchat_server(handler=shop_assistant, port=port) as server:
        await page.goto(server.url + "/widget")  # the short path's demo page
        launcher = page.get_by_role("button", name="Open chat with Pinecrest support")
        await launcher.click()
        box = page.get_by_role("textbox", name="Type your message")
        await async_expect(box).to_be_focused()
        log = page.get_by_role("log", name="Conversation")
        await async_expect(log).to_have_attribute("aria-live", "polite")

        await box.fill('hi <img src=x onerror="window.pwned=1"> _there_')
        await box.press("Enter")
        await async_expect(page.locator(".pcw-typing")).to_be_visible()
        bot = log.locator(".pcw-bot")
        await async_expect(bot.locator("strong")).to_have_text(
            'hi <img src=x onerror="window.pwned=1"> there'
        )
        await async_expect(bot.locator("strong em")).to_have_text("there")
        await async_expect(page.locator(".pcw-typing")).to_be_hidden()
        assert await log.locator("img").count() == 0
        assert await page.evaluate("window.pwned") is None

        await box.fill("/photo")
        await box.press("Enter")
        await async_expect(log.locator("img.pcw-image")).to_have_attribute(
            "src", "https://img.pinecrest.example/boot.png"
        )
        await box.fill("/choose")
        await box.press("Enter")
        quick = log.get_by_role("group", name="Suggested replies").last
        await quick.get_by_role("button", name="Blue").click()
        await async_expect(log.get_by_role("button", name="Blue")).to_have_count(0)
        await async_expect(log.locator(".pcw-user").last).to_have_text("Blue")
        await async_expect(bot.last.locator("p")).to_have_text("You said /blue")
        assert [m.text for m in server.received][-3:] == ["/photo", "/choose", "/blue"]
        await async_expect(log.locator(".pcw-msg")).to_have_count(9)

        session_id = await page.evaluate("PinecrestChat.sessionId()")
        sender = WebChatOutbound(server.channel._server())
        await sender.send_handoff_state(session_id, "waiting", position=2)
        await async_expect(log.locator(".pcw-status")).to_have_text(
            ["Waiting for an agent (position 2)"]
        )
        await sender.send_text(
            session_id,
            "Hi, I'm Sam. See [our returns page](https://pinecrest.example/returns) "
            "or [this](javascript:alert(1)).",
            agent_name="Sam",
        )
        await sender.send_text(session_id, "Two options:\n\n- a **refund**\n- an exchange")
        agent = log.locator(".pcw-agent")
        await async_expect(agent.locator(".pcw-author")).to_have_text(["Sam", "Agent"])
        await async_expect(agent.last.locator("li")).to_have_text(["a refund", "an exchange"])
        agent = agent.first
        await async_expect(agent.get_by_role("link")).to_have_count(1)
        await async_expect(agent.get_by_role("link", name="our returns page")).to_have_attribute(
            "href", "https://pinecrest.example/returns"
        )
        await sender.send_handoff_state(session_id, "bot")
        await async_expect(log.locator(".pcw-status").last).to_have_text("You're back with the bot")

        await box.press("Escape")
        await async_expect(page.locator(".pcw-panel")).to_be_hidden()
        await async_expect(launcher).to_be_focused()
        await launcher.press("Enter")
        await async_expect(box).to_be_focused()

    # The server is gone: the widget says so, retries with backoff, and comes back to the
    # same session once a server listens again.
    await async_expect(page.locator(".pcw-conn")).to_have_text("Reconnecting…")
    await asyncio.sleep(1.0)
    async with webchat_server(port=port) as restarted:
        await async_expect(page.locator(".pcw-conn")).to_be_hidden(timeout=20_000)
        await box.fill("still there?")
        await box.press("Enter")
        await async_expect(log.locator(".pcw-bot").last).to_contain_text("still there?")
        assert [m.sender_id for m in restarted.received] == [f"web:{session_id}"]
        # the transcript kept everything, in order
        await async_expect(log.locator(".pcw-msg")).to_have_count(15)
        await async_expect(log.locator(".pcw-user")).to_have_text(
            ['hi <img src=x onerror="window.pwned=1"> _there_', "/photo", "/choose"]
            + ["Blue", "still there?"]
        )
