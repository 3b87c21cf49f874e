"""An inbox server on loopback over the simulated insights week (tests/bot/insights/week.py).

Users: ``root`` (admin, password ``root-pass``) and ``alice`` (agent, ``alice-pass``).
:func:`insights_server` is async; :func:`insights_server_thread` runs it on a thread of its
own for the synchronous Playwright tests.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from bot.inbox.auth import UserStore
from bot.inbox.channel import InboxInput
from bot.inbox.db import InboxDB
from bot.insights.broker import RecordingEventBroker
from bot.insights.store import SQLEventStore
from loopback.sanic_app import serve_app
from tests.bot.insights import week


async def write_week(tmp: Path) -> str:
    """Record the week's events and tickets under ``tmp``; returns the event store URL."""
    url = f"sqlite:///{tmp}/events.db"
    broker = RecordingEventBroker(SQLEventStore(url))
    for event in week.events(week.week()):
        broker.publish(event)
    await broker.close()
    clock = week.Clock()
    queue = SQLiteHandoffQueue(str(tmp / "handoff.db"), clock=clock)
    await queue.initialize()
    await week.tickets(queue, clock)
    await queue.close()
    users = UserStore(InboxDB(tmp / "inbox.db"), bcrypt_rounds=4)
    await users.add_user("root", "root-pass", "admin")
    await users.add_user("alice", "alice-pass", "agent")
    return url


@asynccontextmanager
async def insights_server(tmp: Path) -> AsyncIterator[str]:
    """The inbox with the week's data; yields its base URL (``.../webhooks/inbox``)."""
    url = await write_week(tmp)
    Sanic.test_mode = True
    channel = InboxInput(
        db_path=str(tmp / "inbox.db"),
        queue_config={"type": "sqlite", "path": str(tmp / "handoff.db")},
        events_url=url,
    )
    app = Sanic(f"insights_test_{uuid.uuid4().hex[:8]}")

    async def on_new_message(_: UserMessage) -> None:
        return None

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/inbox")
    async with serve_app(app) as base:
        yield f"{base}/webhooks/inbox"


@contextmanager
def insights_server_thread(tmp: Path) -> Iterator[str]:
    """:func:`insights_server` on a background event loop thread."""
    started = threading.Event()
    stop = threading.Event()  # set by this thread; the loop polls it (no cross-loop Event)
    box: dict[str, object] = {}

    async def main() -> None:
        async with insights_server(tmp) as base:
            box["url"] = base
            started.set()
            await asyncio.to_thread(stop.wait)

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # reported to the test below
            box["error"] = e
            started.set()

    thread = threading.Thread(target=run, name="insights-server", daemon=True)
    thread.start()
    started.wait(60)
    if "error" in box:
        raise RuntimeError("insights server did not start") from box["error"]  # type: ignore[misc]
    try:
        yield str(box["url"])
    finally:
        stop.set()
        thread.join(30)
