"""The web chat channel: our embeddable widget talking to Rasa over socket.io.

Enable it in ``credentials.yml``::

    channels.webchat.WebChatInput:
      socketio_path: /socket.io        # where the socket.io endpoint is mounted
      cors_allowed_origins: null       # null: same origin; "*" or a list of origins
      max_payload_bytes: 16384
      max_message_chars: 2000
      short_paths: true                # also serve /widget.js, /widget.css, /widget
      rate_limit: {rate: 1.0, burst: 10}

Routes (``<prefix>`` is ``/webhooks/web``): ``<prefix>/`` (health),
``<prefix>/widget.js``, ``<prefix>/widget.css``, ``<prefix>/demo`` and the socket.io
endpoint. Conversations are ``web:<session id>``; the session id lives in the
browser's ``localStorage``, and every socket that asks for a session joins the room
named after it, so replies reach all of a customer's tabs and survive reloads. The
wire format is in :mod:`channels.webchat_protocol`; see also ``docs/channels/web.md``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels.base import (
    HandoffState,
    SenderRateLimiter,
    message_metadata,
    namespaced_sender_id,
    outbound_registry,
    split_sender_id,
)
from channels.webchat_protocol import (
    CHANNEL,
    WebChatOptions,
    agent_events,
    bot_events,
    error_event,
    handoff_event,
    parse_user_uttered,
    session_id_from,
)
from common.errors import BadRequestError, BotError

__all__ = ["WebChatInput", "WebChatOutbound", "WebChatOutput"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
BOT_EVENT = "bot_uttered"
USER_EVENT = "user_uttered"
ERROR_EVENT = "bot_error"
TYPING_EVENT = "bot_typing"
SLOW_DOWN = (
    "You're sending messages faster than I can read them. Please wait a moment and try again."
)


def _room(recipient_id: str) -> str:
    """Return the socket.io room of a conversation, from a namespaced or bare id."""
    channel, platform_id = split_sender_id(recipient_id)
    return platform_id if channel == CHANNEL else recipient_id


class WebChatOutput(OutputChannel):
    """Sends Rasa's replies to every socket in the conversation's room."""

    @classmethod
    def name(cls) -> str:
        """Return the channel's name."""
        return CHANNEL

    def __init__(self, sio: AsyncServer) -> None:
        """Create the output channel.

        Args:
            sio: The channel's socket.io server.

        """
        self.sio = sio

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send one bot message as one or more ``bot_uttered`` events.

        Args:
            recipient_id: The Rasa sender id (``web:<session id>``).
            message: The message Rasa built (text, buttons, image, custom, ...).

        """
        room = _room(recipient_id)
        events = bot_events(message)
        for event in events:
            await self.sio.emit(BOT_EVENT, event, room=room)
        logger.debug("Sent %d bot event(s) to %s.", len(events), recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text (for Rasa code paths that bypass :meth:`send_response`)."""
        await self.send_response(recipient_id, {"text": text})


class WebChatOutbound:
    """The web channel's :class:`bot.handoff.outbound.OutboundSender` (agents' replies)."""

    channel = CHANNEL

    def __init__(self, sio: AsyncServer) -> None:
        """Create the sender.

        Args:
            sio: The channel's socket.io server.

        """
        self.sio = sio

    async def send_text(
        self,
        recipient_id: str,
        text: str,
        *,
        author: str = "agent",
        agent_name: str | None = None,
    ) -> None:
        """Emit ``bot_uttered`` with ``author`` (and the agent's name) to the session.

        Args:
            recipient_id: The session id (a ``web:`` prefix is accepted too).
            text: The message in light Markdown.
            author: ``agent`` or ``bot``.
            agent_name: The agent's display name, shown by the widget.

        """
        for event in agent_events(text, author=author, agent_name=agent_name):
            await self.sio.emit(BOT_EVENT, event, room=_room(recipient_id))

    async def send_handoff_state(
        self, recipient_id: str, state: HandoffState, *, position: int | None = None
    ) -> None:
        """Emit the handoff state as custom JSON, which the widget shows as a status.

        Args:
            recipient_id: The session id (a ``web:`` prefix is accepted too).
            state: ``waiting``, ``agent`` or ``bot``.
            position: The place in the queue while waiting, if known.

        """
        await self.sio.emit(BOT_EVENT, handoff_event(state, position), room=_room(recipient_id))
        logger.info("Handoff state %s sent to web session %s.", state, _room(recipient_id))


class _WebChatBlueprint(Blueprint):
    """A blueprint that also mounts the socket.io server and the short widget paths."""

    def __init__(self, sio: AsyncServer, options: WebChatOptions, assets: dict[str, str]) -> None:
        super().__init__("webchat_webhook", __name__)
        self.ctx.sio = sio
        self.ctx.options = options
        self.ctx.assets = assets

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        """Attach socket.io (and the short paths) to ``app``, then the routes."""
        self.ctx.sio.attach(app, self.ctx.options.socketio_path)
        if self.ctx.options.short_paths:
            assets = self.ctx.assets
            for path, asset in (("/widget.js", "js"), ("/widget.css", "css"), ("/widget", "demo")):
                app.add_route(
                    _asset_handler(assets, asset), path, methods=["GET"], name=f"webchat_{asset}"
                )
        super().register(app, options)


_CONTENT_TYPES = {
    "js": "application/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "demo": "text/html; charset=utf-8",
}
_DEMO_CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' https: http: data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
)


def _asset_handler(assets: Mapping[str, str], asset: str) -> Callable[..., Any]:
    async def serve(_: Request) -> HTTPResponse:
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if asset == "demo":
            headers["Content-Security-Policy"] = _DEMO_CSP
        return response.text(assets[asset], headers=headers, content_type=_CONTENT_TYPES[asset])

    return serve


def load_assets(socketio_path: str) -> dict[str, str]:
    """Read the widget's files and fill in the demo page's socket path.

    Args:
        socketio_path: Where the socket.io endpoint is mounted.

    Returns:
        ``{"js": ..., "css": ..., "demo": ...}``.

    """
    demo = (STATIC_DIR / "demo.html").read_text(encoding="utf-8")
    return {
        "js": (STATIC_DIR / "widget.js").read_text(encoding="utf-8"),
        "css": (STATIC_DIR / "widget.css").read_text(encoding="utf-8"),
        "demo": demo.replace("{{socket_path}}", html.escape(socketio_path, quote=True)),
    }


class WebChatInput(InputChannel):
    """The web chat widget's input channel (Rasa's socket.io protocol)."""

    @classmethod
    def name(cls) -> str:
        """Return the channel's name, which is also its URL segment."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` section."""
        return cls(
            WebChatOptions.from_credentials(credentials),
            SenderRateLimiter.from_credentials(credentials),
        )

    def __init__(
        self,
        options: WebChatOptions | None = None,
        rate_limiter: SenderRateLimiter | None = None,
    ) -> None:
        """Create the channel.

        Args:
            options: The channel's settings; defaults when None.
            rate_limiter: The per-sender limiter; 1 message/s, bursts of 10 when None.

        """
        self.options = options or WebChatOptions()
        self.rate_limiter = rate_limiter or SenderRateLimiter()
        self.sio: AsyncServer | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """Return the output channel for replies outside a request (e.g. triggers)."""
        return WebChatOutput(self.sio) if self.sio is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Build the routes and socket.io handlers, and register the outbound sender."""
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.options.cors_allowed_origins,
            max_http_buffer_size=max(1_000_000, 4 * self.options.max_payload_bytes),
        )
        self.sio = sio
        assets = load_assets(self.options.socketio_path)
        bp = _WebChatBlueprint(sio, self.options, assets)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        for asset, path in (("js", "/widget.js"), ("css", "/widget.css"), ("demo", "/demo")):
            bp.add_route(_asset_handler(assets, asset), path, methods=["GET"], name=asset)

        @bp.listener("before_server_stop")
        async def close_sockets(_app: Sanic, _loop: Any) -> None:
            # Close sockets cleanly so widgets reconnect to the next server at once,
            # and no ping task outlives the loop.
            if sio.eio.sockets:
                await sio.eio.disconnect()
            await sio.shutdown()

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            await self._join_session(sid, session_id_from(data))

        @sio.on(USER_EVENT)
        async def user_uttered(sid: str, data: Any = None) -> None:
            await self._handle_user_message(sid, data, on_new_message)

        outbound_registry().register(WebChatOutbound(sio))
        return bp

    async def _join_session(self, sid: str, session_id: str) -> None:
        sio = self._server()
        previous = (await sio.get_session(sid)).get("session_id")
        if previous and previous != session_id:
            await sio.leave_room(sid, previous)
        await sio.enter_room(sid, session_id)
        await sio.save_session(sid, {"session_id": session_id})
        await sio.emit("session_confirm", session_id, room=sid)
        logger.debug("Socket %s joined web session %s.", sid, session_id)

    async def _handle_user_message(
        self, sid: str, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        sio = self._server()
        session_id = (await sio.get_session(sid)).get("session_id")
        try:
            if not session_id:
                raise BadRequestError("user_uttered before session_request")
            incoming = parse_user_uttered(
                data,
                max_payload_bytes=self.options.max_payload_bytes,
                max_message_chars=self.options.max_message_chars,
            )
        except BotError as e:
            logger.info("Refused a web message on socket %s: %s", sid, type(e).__name__)
            await sio.emit(ERROR_EVENT, self._error(e), room=sid)
            return
        sender_id = namespaced_sender_id(CHANNEL, session_id)
        if not self.rate_limiter.allow(sender_id):
            await self._send_slow_down(sid)
            return
        message = UserMessage(
            incoming.text,
            WebChatOutput(sio),
            sender_id,
            input_channel=self.name(),
            metadata=message_metadata(CHANNEL, client=incoming.client_metadata),
        )
        try:
            await on_new_message(message)
        except Exception as e:  # the socket must outlive one failed turn
            logger.exception("Rasa failed to handle a web message from %s.", sender_id)
            await sio.emit(ERROR_EVENT, self._error(BotError(type(e).__name__)), room=sid)
        finally:
            await sio.emit(TYPING_EVENT, {"typing": False}, room=session_id)

    async def _send_slow_down(self, sid: str) -> None:
        sio = self._server()
        for event in bot_events({"text": SLOW_DOWN}):
            await sio.emit(BOT_EVENT, event, room=sid)
        await sio.emit(TYPING_EVENT, {"typing": False}, room=sid)

    def _error(self, error: BotError) -> dict[str, Any]:
        return error_event(error, max_message_chars=self.options.max_message_chars)

    def _server(self) -> AsyncServer:
        if self.sio is None:
            raise BotError("the web chat's socket server is not running")
        return self.sio
