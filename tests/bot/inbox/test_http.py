"""The inbox's HTTP API in a real Sanic server on loopback: login, cookies, CSRF, access."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.handoff import Ticket
from bot.handoff.outbound import outbound_registry
from bot.inbox.auth import UserStore
from bot.inbox.channel import InboxInput
from bot.inbox.db import InboxDB
from loopback.sanic_app import serve_app
from tests.support.inbox import make_ticket


class RecordingSender:
    channel = "inboxtest"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.states: list[tuple[str, str]] = []

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        self.sent.append((recipient_id, text))

    async def send_handoff_state(self, recipient_id: str, state: str) -> None:
        self.states.append((recipient_id, state))


@asynccontextmanager
async def inbox_server(tmp: Path) -> AsyncIterator[tuple[str, InboxInput]]:
    Sanic.test_mode = True  # see tests/channels/test_webchat.py: several in-process servers
    channel = InboxInput(
        db_path=str(tmp / "inbox.db"),
        queue_config={"type": "sqlite", "path": str(tmp / "handoff.db")},
    )
    app = Sanic(f"inbox_test_{uuid.uuid4().hex[:8]}")

    async def on_new_message(_: UserMessage) -> None:
        return None

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/inbox")
    async with serve_app(app) as url:
        yield f"{url}/webhooks/inbox", channel


async def _login(client: httpx.AsyncClient, base: str, name: str) -> str:
    r = await client.post(f"{base}/api/login", json={"username": name, "password": f"{name}-pass"})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


@pytest.fixture
async def users(tmp_path: Path) -> None:
    store = UserStore(InboxDB(tmp_path / "inbox.db"), bcrypt_rounds=4)
    await store.add_user("alice", "alice-pass", "agent")
    await store.add_user("bob", "bob-pass", "agent")


async def test_nothing_without_login_and_cookie_is_httponly_strict(
    tmp_path: Path, users: None
) -> None:
    async with inbox_server(tmp_path) as (base, _), httpx.AsyncClient() as client:
        page = await client.get(f"{base}/")
        assert page.status_code == 200 and "Log in" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        for path in ("/api/me", "/api/tickets", "/api/events", "/api/tickets/x"):
            assert (await client.get(base + path)).status_code == 401, path
        assert (await client.post(f"{base}/api/tickets/x/claim")).status_code == 401

        r = await client.post(
            f"{base}/api/login", json={"username": "alice", "password": "alice-pass"}
        )
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "inbox_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "Path=/webhooks/inbox" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        me = (await client.get(f"{base}/api/me")).json()
        assert me["user"] == "alice" and me["role"] == "agent"

        await client.post(f"{base}/api/logout", headers={"X-CSRF-Token": me["csrf"]})
        assert (await client.get(f"{base}/api/me")).status_code == 401


async def test_login_is_rate_limited(tmp_path: Path, users: None) -> None:
    async with inbox_server(tmp_path) as (base, _), httpx.AsyncClient() as client:
        for _ in range(5):
            r = await client.post(f"{base}/api/login", json={"username": "bob", "password": "x"})
            assert r.status_code == 401
        r = await client.post(f"{base}/api/login", json={"username": "bob", "password": "bob-pass"})
        assert r.status_code == 429  # even the right password, until the window passes


async def test_posts_need_the_csrf_header_and_same_origin(tmp_path: Path, users: None) -> None:
    sender = RecordingSender()
    outbound_registry().register(sender)
    async with inbox_server(tmp_path) as (base, channel), httpx.AsyncClient() as client:
        assert channel.service is not None
        queue = channel.service.queue
        ticket = await make_ticket(queue)
        # A ticket of the registered test channel, so delivery reaches RecordingSender.
        t = await queue.enqueue(Ticket.new("inboxtest:c9", "inboxtest", "c9", ticket.created_at))
        csrf = await _login(client, base, "alice")
        claim = f"{base}/api/tickets/{t.id}/claim"
        assert (await client.post(claim)).status_code == 403
        assert (await client.post(claim, headers={"X-CSRF-Token": "nope"})).status_code == 403
        evil = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        assert (await client.post(claim, headers=evil)).status_code == 403
        ok = await client.post(claim, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 200 and ok.json()["assigned_agent"] == "alice"
        assert sender.states == [("c9", "agent")]

        r = await client.post(
            f"{base}/api/tickets/{t.id}/reply",
            json={"text": "Hello from Alice"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 201
        for _ in range(50):  # the background worker delivers it
            if sender.sent:
                break
            await asyncio.sleep(0.1)
        assert sender.sent == [("c9", "Hello from Alice")]

        # Bob sees neither the claimed ticket nor may he reply to it.
        async with httpx.AsyncClient() as bob:
            bob_csrf = await _login(bob, base, "bob")
            listed = (await bob.get(f"{base}/api/tickets")).json()["tickets"]
            assert t.id not in {x["id"] for x in listed}
            assert ticket.id in {x["id"] for x in listed}
            assert (await bob.get(f"{base}/api/tickets/{t.id}")).status_code == 404
            r = await bob.post(
                f"{base}/api/tickets/{t.id}/reply",
                json={"text": "hijack"},
                headers={"X-CSRF-Token": bob_csrf},
            )
            assert r.status_code == 404
        audit = await channel.service.audit.entries()
        assert [(e.actor, e.action) for e in audit] == [
            ("alice", "login"),
            ("alice", "claim"),
            ("alice", "reply"),
            ("bob", "login"),
        ]
