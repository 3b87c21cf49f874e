"""Live queue updates as server-sent events.

The queue may change in other processes (the action server enqueues tickets), so the
stream polls a snapshot and sends it whenever it changed, with a comment line as a
heartbeat in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sanic.request import Request
from sanic.response import BaseHTTPResponse

from common.errors import BotError

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0


def sse_event(event: str, data: str) -> str:
    """Format one server-sent event (``data`` must be a single line, e.g. JSON)."""
    return f"event: {event}\ndata: {data}\n\n"


async def sse_stream(
    request: Request,
    snapshot: Callable[[], Awaitable[str]],
    closing: asyncio.Event,
    *,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> BaseHTTPResponse | None:
    """Stream ``queue`` events until the client leaves or the server closes.

    Args:
        request: The Sanic request.
        snapshot: Returns the current state as one line of JSON.
        closing: Set when the server stops.
        poll_seconds: How often the snapshot is taken.
        heartbeat_seconds: How often a comment is sent when nothing changed.

    Returns:
        The streaming response, to be returned by the handler.
    """
    stream = await request.respond(
        content_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    last = ""
    quiet = 0.0
    try:
        while not closing.is_set():
            try:
                current = await snapshot()
            except BotError as e:
                logger.warning("Inbox live update failed (%s).", type(e).__name__)
                current = last
            if current != last:
                await stream.send(sse_event("queue", current))
                last, quiet = current, 0.0
            elif quiet >= heartbeat_seconds:
                await stream.send(": keep-alive\n\n")
                quiet = 0.0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(closing.wait(), poll_seconds)
            quiet += poll_seconds
    except (ConnectionError, asyncio.CancelledError, OSError):
        logger.debug("Inbox live update stream closed by the client.")
    finally:
        with contextlib.suppress(Exception):
            await stream.eof()
    return stream
