"""A local stand-in for Slack's Web API, for tests and the soak: an aiohttp app on loopback.

It answers like Slack (HTTP 200 with ``{"ok": true, ...}`` or ``{"ok": false, "error":
...}``), checks the bearer token, and records every call. It serves ``auth.test`` (which
slack-bolt calls once) and ``chat.postMessage`` / ``chat.update``; any other method is
``unknown_method``.

Use it in async tests with ``async with FakeSlack(token) as slack`` (same event loop),
or from sync code with ``with FakeSlack(token).in_thread() as slack`` (own loop in a
thread, for tests that block on HTTP).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

TEAM_ID = "T0FAKE001"
BOT_USER_ID = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"


@dataclass(frozen=True)
class ApiCall:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None


class FakeSlack:
    """Slack's Web API on ``http://127.0.0.1:<port>/api/``."""

    def __init__(self, token: str = "xoxb-fake-token") -> None:
        self.token = token
        self._calls: list[ApiCall] = []
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """The Web API's base URL, as slack-bolt's ``api_base_url`` takes it."""
        return f"http://127.0.0.1:{self.port}/api/"

    # --- recording ----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Return the calls received so far, all or those of one ``method``."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Return the ``chat.postMessage`` arguments, all or those to one ``channel``."""
        return [
            c.args
            for c in self.calls("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    def wait_for(self, predicate: Callable[[FakeSlack], bool], timeout: float = 60.0) -> bool:
        """Poll (blocking) until ``predicate(self)`` holds; return whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    # --- the API ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        args: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    args.update(await request.json())
                except json.JSONDecodeError:
                    return web.json_response({"ok": False, "error": "invalid_json"})
            else:
                args.update((await request.post()).items())
        with self._lock:
            self._calls.append(ApiCall(method, args, token))
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://pinecrest-fake.slack.com/",
                "team": "Pinecrest Fake",
                "user": "pinecrest",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update"):
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if not args.get("text") and not args.get("blocks"):
                return {"ok": False, "error": "no_text"}
            ts = args.get("ts") or f"{int(time.time())}.{next(self._ts):06d}"
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": args.get("text", ""),
                "ts": ts,
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}
        return {"ok": False, "error": "unknown_method"}

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> FakeSlack:
        """Serve on a free loopback port in the running event loop; return self."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextmanager
    def in_thread(self) -> Iterator[FakeSlack]:
        """Serve from a thread with its own event loop, for sync tests."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        thread = threading.Thread(
            target=self._serve_forever, args=(loop, started), name="fake-slack", daemon=True
        )
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Slack API did not start")
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    def _serve_forever(self, loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(self.start())
        started.set()
        loop.run_forever()
