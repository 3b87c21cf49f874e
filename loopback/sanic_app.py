"""Run a Sanic app in the current event loop on a loopback port, as `rasa run` would serve it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sanic import Sanic

from loopback.ports import free_port


@asynccontextmanager
async def serve_app(app: Sanic, port: int | None = None) -> AsyncIterator[str]:
    """Start ``app`` on 127.0.0.1 with its full lifecycle, and stop it on exit.

    Open connections (a Socket.IO or SSE client left connected) are closed before the
    server, so stopping never waits for a client.

    Args:
        app: The app, with its routes and blueprints registered.
        port: The port; a free one when None.

    Yields:
        The base URL, ``http://127.0.0.1:<port>``.
    """
    port = port or free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    if server is None:
        raise RuntimeError(f"Sanic did not start {app.name} on port {port}")
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        for connection in list(server.connections):
            connection.close()
        server.close()
        await server.wait_closed()
        await server.after_stop()
