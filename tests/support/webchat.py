"""The web chat channel's blueprint in a real Sanic server on loopback, in the test's loop.

Shared by the web chat channel's tests and the widget's browser tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from channels.webchat import WebChatInput
from loopback.sanic_app import serve_app

Handler = Callable[[UserMessage], Awaitable[Any]]


async def echo_handler(message: UserMessage) -> None:
    """Stands in for Rasa's agent: answers every message with its text and two buttons."""
    assert message.output_channel is not None
    await message.output_channel.send_response(
        message.sender_id,
        {
            "text": f"You said **{message.text}**",
            "buttons": [
                {"title": "Track my order", "payload": "/order_status"},
                {"title": "Talk to a person", "payload": "/request_human"},
            ],
        },
    )


@dataclass
class WebChatServer:
    url: str
    channel: WebChatInput
    received: list[UserMessage] = field(default_factory=list)


@asynccontextmanager
async def webchat_server(
    channel: WebChatInput | None = None, handler: Handler = echo_handler, port: int | None = None
) -> AsyncIterator[WebChatServer]:
    """Run the channel's blueprint in a real Sanic server on loopback, in this loop.

    On exit, open connections are dropped as a server restart would drop them.
    """
    # Sanic 21.12 rewrites its request handler on every startup; a second in-process
    # server only starts in test mode, which keeps the original to rewrite from. Test mode
    # must then stay on for later servers in this process, so it is not switched back.
    Sanic.test_mode = True
    channel = channel or WebChatInput()
    app = Sanic(f"webchat_test_{uuid.uuid4().hex[:8]}")
    running = WebChatServer("", channel)

    async def on_new_message(message: UserMessage) -> None:
        running.received.append(message)
        await handler(message)

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/web")
    async with serve_app(app, port) as url:
        running.url = url
        yield running
