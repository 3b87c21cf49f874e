"""The web chat's wire format: pure converters between socket.io events and Rasa.

The widget and the server speak Rasa's socket.io protocol:

* ``session_request`` ``{"session_id": <id or null>}`` → ``session_confirm`` ``<id>``;
* ``user_uttered`` ``{"message": "...", "metadata": {...}}`` → zero or more
  ``bot_uttered`` events (see :func:`bot_events`), then ``bot_typing``
  ``{"typing": false}`` once the bot is done;
* ``bot_error`` ``{"error": <code>, "status": <http status>, "message": "..."}`` when a
  message is refused (too large, malformed, no session).

Nothing here does I/O; :mod:`channels.webchat` wires it to python-socketio.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.nlg.markdown import parse
from bot.nlg.render import render_markdown
from channels.base import HandoffState, PayloadTooLargeError, adapted_reply
from common.errors import BadRequestError, BotError

__all__ = [
    "CHANNEL",
    "IncomingMessage",
    "WebChatOptions",
    "agent_events",
    "bot_events",
    "error_event",
    "handoff_event",
    "parse_user_uttered",
    "session_id_from",
]

CHANNEL = "web"
"""The channel's style and namespace name."""

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_HANDOFF_STATES = frozenset({"waiting", "agent", "bot"})


@dataclass(frozen=True)
class WebChatOptions:
    """The channel's settings from its ``credentials.yml`` section.

    Attributes:
        socketio_path: Where the socket.io endpoint is mounted.
        max_payload_bytes: Largest ``user_uttered`` event (as JSON) accepted.
        max_message_chars: Longest message text accepted.
        cors_allowed_origins: Origins that may open the socket: ``None`` for the
            server's own origin only, ``"*"`` for any, or a list.
        short_paths: Also serve ``/widget.js``, ``/widget.css`` and ``/widget``.
        rate_limit: The ``{rate, burst}`` mapping for
            :class:`channels.base.SenderRateLimiter`.

    """

    socketio_path: str = "/socket.io"
    max_payload_bytes: int = 16 * 1024
    max_message_chars: int = 2000
    cors_allowed_origins: str | list[str] | None = None
    short_paths: bool = True
    rate_limit: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WebChatOptions:
        """Read the options, keeping defaults for keys that are absent.

        Args:
            credentials: The channel's section of ``credentials.yml``.

        Returns:
            The options.

        Raises:
            BotError: If a size limit is not a positive number.

        """
        raw = dict(credentials or {})
        options = cls(
            socketio_path="/" + str(raw.get("socketio_path") or "/socket.io").strip("/"),
            max_payload_bytes=int(raw.get("max_payload_bytes", cls.max_payload_bytes)),
            max_message_chars=int(raw.get("max_message_chars", cls.max_message_chars)),
            cors_allowed_origins=raw.get("cors_allowed_origins"),
            short_paths=bool(raw.get("short_paths", True)),
            rate_limit=dict(raw.get("rate_limit") or {}),
        )
        if options.max_payload_bytes < 1 or options.max_message_chars < 1:
            raise BotError("webchat: max_payload_bytes and max_message_chars must be > 0")
        return options


@dataclass(frozen=True)
class IncomingMessage:
    """A validated ``user_uttered`` event.

    Attributes:
        text: The message text (never logged).
        client_metadata: What the widget sent under ``metadata`` (page URL and such).

    """

    text: str
    client_metadata: dict[str, Any] | None


def session_id_from(data: Any) -> str:
    """Return the session a ``session_request`` asks for, or a new one.

    A missing, malformed or unreadable id gets a fresh random one, so a client can
    never pick an id that is not of our making (ids are 8 to 64 URL-safe characters).

    Args:
        data: The event's payload.

    Returns:
        The session id to confirm.

    """
    wanted = data.get("session_id") if isinstance(data, Mapping) else None
    if isinstance(wanted, str) and _SESSION_ID.match(wanted):
        return wanted
    return uuid.uuid4().hex


def parse_user_uttered(
    data: Any, *, max_payload_bytes: int, max_message_chars: int
) -> IncomingMessage:
    """Validate a ``user_uttered`` payload.

    Args:
        data: The decoded event payload.
        max_payload_bytes: Largest payload accepted, measured as compact JSON.
        max_message_chars: Longest message accepted.

    Returns:
        The message.

    Raises:
        PayloadTooLargeError: If the payload or its text is over the limit.
        BadRequestError: If it is not an object with a non-empty ``message`` string.

    """
    if not isinstance(data, Mapping):
        raise BadRequestError("user_uttered must carry a JSON object")
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > max_payload_bytes:
        raise PayloadTooLargeError(f"message payload of {size} bytes exceeds {max_payload_bytes}")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        raise BadRequestError("user_uttered needs a non-empty 'message' string")
    text = text.strip()
    if len(text) > max_message_chars:
        raise PayloadTooLargeError(f"message is longer than {max_message_chars} characters")
    metadata = data.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except json.JSONDecodeError as e:
            raise BadRequestError("metadata is not valid JSON") from e
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequestError("metadata must be a JSON object")
    return IncomingMessage(text=text, client_metadata=metadata or None)


def error_event(error: BotError, *, max_message_chars: int) -> dict[str, Any]:
    """Return the ``bot_error`` payload for a refused message.

    The message is written for the customer and never repeats what they sent.

    Args:
        error: Why the message was refused.
        max_message_chars: The channel's text limit, to quote in the message.

    Returns:
        ``{"error": code, "status": http status, "message": text}``.

    """
    if isinstance(error, PayloadTooLargeError):
        code = "payload_too_large"
        text = f"That message is too long. Please keep it under {max_message_chars} characters."
    elif error.status_code == 400:
        code = "bad_request"
        text = "That message could not be read. Please try again."
    else:
        code = "server_error"
        text = "Something went wrong on our side. Please try again in a moment."
    return {"error": code, "status": error.status_code, "message": text}


def _choices(items: Any) -> list[dict[str, str]]:
    choices: list[dict[str, str]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("title"):
            payload = item.get("payload") or item.get("title")
            choices.append({"title": str(item["title"]), "payload": str(payload)})
    return choices


def bot_events(message: Mapping[str, Any], *, author: str = "bot") -> list[dict[str, Any]]:
    """Turn a message Rasa hands to ``send_response`` into ``bot_uttered`` payloads.

    Text goes through the web channel adapter (light Markdown, split into messages);
    buttons or quick replies ride on the last text; images, attachments, generic
    templates and custom JSON each get their own event, as in Rasa's socket.io channel.

    Args:
        message: The bot message (``text``, ``buttons``, ``quick_replies``, ``image``,
            ``attachment``, ``elements``, ``custom``, maybe ``adapted``).
        author: ``bot`` or ``agent``.

    Returns:
        The payloads, in order; each has ``author``.

    """
    events: list[dict[str, Any]] = [
        {"text": text} for text in adapted_reply(message, CHANNEL).messages
    ]
    for key in ("quick_replies", "buttons"):
        choices = _choices(message.get(key))
        if choices:
            if not events:
                events.append({"text": ""})
            events[-1][key] = choices
            break
    if message.get("image"):
        events.append({"attachment": {"type": "image", "payload": {"src": message["image"]}}})
    if message.get("attachment"):
        events.append({"attachment": message["attachment"]})
    if message.get("elements"):
        events.append(
            {
                "attachment": {
                    "type": "template",
                    "payload": {"template_type": "generic", "elements": message["elements"]},
                }
            }
        )
    if message.get("custom") is not None:
        events.append({"custom": message["custom"]})
    for event in events:
        event["author"] = author
    return events


def agent_events(
    text: str, *, author: str = "agent", agent_name: str | None = None
) -> list[dict[str, Any]]:
    """Return the ``bot_uttered`` payloads for a message an agent typed.

    An agent's words are rendered as web Markdown (escaped, formatted) but never
    shortened to the bot's length budget.

    Args:
        text: The message in light Markdown.
        author: ``agent`` or ``bot``.
        agent_name: The agent's display name, if known.

    Returns:
        One payload per paragraph group; empty when the text is blank.

    """
    rendered = render_markdown(parse(text)).strip()
    if not rendered:
        return []
    event: dict[str, Any] = {"text": rendered, "author": author}
    if agent_name and author == "agent":
        event["agent_name"] = agent_name
    return [event]


def handoff_event(state: HandoffState, position: int | None = None) -> dict[str, Any]:
    """Return the ``bot_uttered`` payload that tells the widget who it talks to.

    Args:
        state: ``waiting`` (queued), ``agent`` (a person took over) or ``bot``.
        position: The place in the queue while waiting, if known.

    Returns:
        ``{"custom": {"handoff": {"state": ..., "position": ...}}, "author": "bot"}``.

    Raises:
        BadRequestError: If the state is unknown.

    """
    if state not in _HANDOFF_STATES:
        raise BadRequestError(f"unknown handoff state {state!r}")
    handoff: dict[str, Any] = {"state": state}
    if position is not None:
        handoff["position"] = int(position)
    return {"custom": {"handoff": handoff}, "author": "bot"}
