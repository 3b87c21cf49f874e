"""A web chat client on loopback: Socket.IO v5 over a plain WebSocket, as the widget speaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class Client:
    """A minimal Socket.IO v5 client over a plain WebSocket, speaking what the widget speaks.

    (python-socketio's own client needs a newer aiohttp for WebSockets than the lock has,
    and its long-polling transport makes every teardown wait out a poll.)
    """

    def __init__(self) -> None:
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the WebSocket is open."""
        return self._ws is not None and not self._ws.closed

    async def open(self, url: str, path: str = "/socket.io/") -> None:
        """Open the socket and the default namespace; start reading events.

        Args:
            url: The server's base URL (``http://127.0.0.1:<port>``).
            path: The Socket.IO path on that server.
        """
        self._http = aiohttp.ClientSession()
        ws_url = url.replace("http://", "ws://") + path + "?EIO=4&transport=websocket"
        self._ws = await self._http.ws_connect(ws_url)
        opening = await self._ws.receive_str(timeout=5)
        assert opening.startswith("0{") and '"pingInterval"' in opening
        await self._ws.send_str("40")
        assert (await self._ws.receive_str(timeout=5)).startswith("40")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            packet = str(msg.data)
            if packet == "2":
                await self._ws.send_str("3")
            elif packet == "1":
                await self.events.put(("engine_close", None))
            elif packet.startswith("42"):
                name, *args = json.loads(packet[2:])
                await self.events.put((name, args[0] if args else None))

    async def emit(self, name: str, data: Any) -> None:
        """Send one Socket.IO event."""
        assert self._ws is not None
        await self._ws.send_str("42" + json.dumps([name, data]))

    async def connect(self, url: str, session_id: str | None = None) -> str:
        """Open the socket and ask for a session, as the widget does.

        Args:
            url: The server's base URL.
            session_id: A session to resume; a new one when None.

        Returns:
            The session id the server confirmed.
        """
        await self.open(url)
        await self.emit("session_request", {"session_id": session_id})
        _, data = await self.next("session_confirm")
        return str(data)

    async def next(self, wanted: str | None = None, timeout: float = 5.0) -> tuple[str, Any]:
        """Return the next event (named ``wanted``, when given), skipping others.

        Raises:
            asyncio.TimeoutError: No such event came within ``timeout`` seconds.
        """
        while True:
            name, data = await asyncio.wait_for(self.events.get(), timeout)
            if wanted is None or name == wanted:
                return name, data

    async def say(self, text: str, **extra: Any) -> None:
        """Send a user message (``user_uttered``) with optional extra fields."""
        await self.emit("user_uttered", {"message": text, **extra})

    async def close(self) -> None:
        """Close the socket, the reader and the HTTP session."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
