"""A handoff survives ``kill -9`` of the Rasa server: ticket, messages, claim, pause.

The real bot runs with a SQLite handoff queue, the relay broker and a SQLite tracker
store; a conversation is escalated over REST, claimed and answered through the inbox's
HTTP API, then the server is killed and restarted on the same files.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.inbox.auth import UserStore
from bot.inbox.db import InboxDB
from loopback.rasa_server import running_bot

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SENDER = "durable-customer"


def _until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def _files(tmp: Path) -> tuple[str, str]:
    queue = tmp / "handoff.db"
    credentials = f"""\
rest:
bot.inbox.channel.InboxInput:
  db: {tmp / "inbox.db"}
  housekeeping_seconds: 1
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
tracker_store:
  type: SQL
  dialect: sqlite
  db: {tmp / "tracker.db"}
"""
    # running_bot writes these endpoints and points $BOT_ENDPOINTS (the action server's
    # queue) at them, so the bot, the action server and the inbox share one queue file.
    return credentials, endpoints


def _say(url: str, text: str) -> list[dict[str, Any]]:
    r = requests.post(
        f"{url}/webhooks/rest/webhook", json={"sender": SENDER, "message": text}, timeout=60
    )
    r.raise_for_status()
    return list(r.json())


class Inbox:
    def __init__(self, url: str, session: requests.Session) -> None:
        self.base = f"{url}/webhooks/inbox/api"
        self.http = session
        self.csrf = ""

    def login(self) -> None:
        r = self.http.post(
            f"{self.base}/login", json={"username": "alice", "password": "alice-pass"}, timeout=10
        )
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf"]

    def get(self, path: str) -> Any:
        r = self.http.get(self.base + path, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.http.post(
            self.base + path, json=body or {}, headers={"X-CSRF-Token": self.csrf}, timeout=30
        )
        assert r.status_code in (200, 201), r.text
        return r.json()


def test_kill_9_mid_handoff_keeps_ticket_messages_claim_and_pause(
    sample_bot_model: Path, tmp_path: Path
) -> None:
    UserStore(InboxDB(tmp_path / "inbox.db"), bcrypt_rounds=4).add_user_sync(
        "alice", "alice-pass", "agent"
    )
    credentials, endpoints = _files(tmp_path)
    run1, run2 = tmp_path / "run1", tmp_path / "run2"
    run1.mkdir()
    run2.mkdir()
    session = requests.Session()

    with running_bot(
        sample_bot_model, run1, credentials=credentials, endpoints_extra=endpoints
    ) as bot:
        _say(bot.url, "/request_human")
        inbox = Inbox(bot.url, session)
        inbox.login()
        tickets = _until(lambda: inbox.get("/tickets")["tickets"])
        assert len(tickets) == 1
        ticket_id = tickets[0]["id"]
        inbox.post(f"/tickets/{ticket_id}/claim")
        inbox.post(f"/tickets/{ticket_id}/reply", {"text": "Hi, Alice from Pinecrest here."})
        assert _say(bot.url, "my tent pole snapped") == []  # paused: the bot stays quiet
        _until(lambda: len(inbox.get(f"/tickets/{ticket_id}")["messages"]) == 2)
        before = inbox.get(f"/tickets/{ticket_id}")

        os.kill(bot.process.pid, signal.SIGKILL)
        bot.process.wait(timeout=10)

    with running_bot(
        sample_bot_model, run2, credentials=credentials, endpoints_extra=endpoints
    ) as bot:
        inbox = Inbox(bot.url, session)
        after = inbox.get(f"/tickets/{ticket_id}")  # the session survived the restart too
        assert after["status"] == "claimed" and after["assigned_agent"] == "alice"
        assert [(m["author"], m["text"]) for m in after["messages"]] == [
            ("agent", "Hi, Alice from Pinecrest here."),
            ("customer", "my tent pole snapped"),
        ]
        assert after["transcript"] == before["transcript"]
        assert [t["id"] for t in inbox.get("/tickets")["tickets"]] == [ticket_id]

        tracker = requests.get(f"{bot.url}/conversations/{SENDER}/tracker", timeout=30).json()
        assert tracker["paused"] is True
        assert _say(bot.url, "hello? still there?") == []
        _until(lambda: len(inbox.get(f"/tickets/{ticket_id}")["messages"]) == 3)
