"""The agent inbox and the web widget together in headless Chromium, against the real bot.

A customer asks for a person in the widget; the agent logs in, sees the ticket arrive
live, claims it, picks and edits a suggestion, sends it; the widget shows it; the agent
resolves and the bot takes the conversation back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from bot.inbox.auth import UserStore
from bot.inbox.db import InboxDB
from loopback.rasa_server import ROOT, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

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


def _config(tmp: Path) -> tuple[str, str]:
    queue = tmp / "handoff.db"
    credentials = f"""\
rest:
channels.webchat.WebChatInput:
  rate_limit: {{rate: 5, burst: 20}}
bot.inbox.channel.InboxInput:
  db: {tmp / "inbox.db"}
  handoff_queue:
    type: sqlite
    path: {queue}
"""
    endpoints = f"""\
handoff_queue:
  type: sqlite
  path: {queue}
event_broker:
  type: bot.handoff.relay.HandoffRelayBroker
  no_ticket_cache_seconds: 0
"""
    # running_bot writes these endpoints and points $BOT_ENDPOINTS (the action server's
    # queue) at them, so the bot, the action server and the inbox share one queue file.
    return credentials, endpoints


def test_agent_answers_in_the_inbox_and_hands_back_to_the_bot(
    sample_bot_model: Path, tmp_path: Path, browser: Browser
) -> None:
    UserStore(InboxDB(tmp_path / "inbox.db"), bcrypt_rounds=4).add_user_sync(
        "alice", "alice-pass", "agent"
    )
    credentials, endpoints = _config(tmp_path)
    with running_bot(
        sample_bot_model,
        tmp_path,
        credentials=credentials,
        endpoints_extra=endpoints,
    ) as bot:
        agent = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        agent.goto(bot.url + "/webhooks/inbox/")
        agent.get_by_label("User name").fill("alice")
        agent.get_by_label("Password").fill("alice-pass")
        agent.get_by_role("button", name="Log in").click()
        tickets = agent.get_by_role("list", name="Tickets")
        expect(agent.locator("#live")).to_have_text("Live", timeout=15_000)
        expect(tickets).to_contain_text("No tickets waiting.")

        customer = browser.new_context(viewport={"width": 900, "height": 700}).new_page()
        customer.goto(bot.url + "/webhooks/web/demo")
        customer.get_by_role("button", name="Open chat with Pinecrest support").click()
        box = customer.get_by_role("textbox", name="Type your message")
        box.fill("/request_human")
        box.press("Enter")
        log = customer.get_by_role("log", name="Conversation")
        queued = re.compile(r"number \d+ in (the queue|line)")  # utter_handoff_queued
        expect(log.locator(".pcw-bot").first).to_contain_text(queued, timeout=60_000)

        # The ticket arrives live, without a reload.
        ticket = tickets.get_by_role("button").first
        expect(ticket).to_contain_text("waiting", timeout=15_000)
        ticket.click()
        details = agent.get_by_label("Customer details")
        expect(details).to_contain_text("web")
        agent.get_by_role("button", name="Claim").click()
        expect(details).to_contain_text("claimed (alice)")
        expect(log).to_contain_text("has joined the conversation", timeout=15_000)

        suggestions = agent.get_by_role("list", name="Suggested replies").get_by_role("button")
        expect(suggestions).to_have_count(3)
        first = suggestions.first.inner_text()
        suggestions.first.click()
        reply = agent.get_by_label("Reply to the customer")
        expect(reply).to_have_value(first)
        reply.fill(first + " I'm Alice and I'll sort it out.")
        agent.get_by_role("button", name="Send reply").click()

        expect(log.locator(".pcw-agent")).to_contain_text(
            "I'm Alice and I'll sort it out.", timeout=15_000
        )
        expect(agent.get_by_label("Transcript")).to_contain_text("delivered", timeout=15_000)
        ARTIFACTS.mkdir(exist_ok=True)
        agent.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

        bot_replies = log.locator(".pcw-bot").count()
        agent.get_by_role("button", name="Resolve").click()
        expect(log).to_contain_text("You're back with the bot", timeout=30_000)
        expect(log.locator(".pcw-bot")).to_have_count(bot_replies + 1, timeout=30_000)

        box.fill("/greet")
        box.press("Enter")
        expect(log.locator(".pcw-bot")).to_have_count(bot_replies + 2, timeout=60_000)
        expect(tickets).to_contain_text("No tickets waiting.", timeout=15_000)
