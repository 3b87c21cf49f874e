"""What every channel shares, so the rules are the same on every platform.

Sender namespacing, metadata, payload limits, rate limits, adapted replies, and the
outbound registry that lets agents answer through any channel.

Each platform module (``webchat``, ``slack``, ``telegram``, ``email``) builds on these:

* sender ids are ``<channel>:<platform id>`` (:func:`namespaced_sender_id`);
* the channel name travels in message metadata under ``channel``
  (:func:`message_metadata`), where NLU, NLG and the adapters read it;
* a body larger than the channel's limit, or one that is not the JSON object the
  platform sends, is a 4xx (:func:`parse_json_body`), never a crash;
* each sender is rate-limited (:class:`SenderRateLimiter`);
* replies go out as the channel adapter shaped them (:func:`adapted_reply`);
* agents' replies reach customers through :class:`OutboundRegistry`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from bot.nlg.adapter import AdaptedReply, adapt_reply
from bot.nlg.channel_style import ChannelStyles, configured_styles
from common.errors import BadRequestError, BotError

__all__ = [
    "CHANNEL_KEY",
    "DEFAULT_MAX_BODY_BYTES",
    "HandoffState",
    "OutboundRegistry",
    "OutboundSender",
    "PayloadTooLargeError",
    "RateLimitedError",
    "SenderRateLimiter",
    "UnknownChannelError",
    "adapted_reply",
    "channel_styles",
    "message_metadata",
    "namespaced_sender_id",
    "outbound_registry",
    "parse_json_body",
    "split_sender_id",
]

logger = logging.getLogger(__name__)

CHANNEL_KEY = "channel"
"""Metadata key that names the channel a message came from."""

ADAPTED_KEY = "adapted"
"""Key of a bot message that carries the reply as :mod:`bot.nlg` adapted it."""

DEFAULT_MAX_BODY_BYTES = 256 * 1024
"""Largest request body a channel webhook accepts unless configured otherwise."""


class PayloadTooLargeError(BotError):
    """A request body is larger than the channel accepts."""

    status_code = 413


class RateLimitedError(BotError):
    """A sender sent more messages than the channel's rate limit allows."""

    status_code = 429


class UnknownChannelError(BotError):
    """No outbound sender is registered for a conversation's channel."""

    status_code = 404


def namespaced_sender_id(channel: str, platform_id: str) -> str:
    """Return the Rasa sender id for a platform's user or thread id.

    Args:
        channel: The channel's name, e.g. ``slack``.
        platform_id: The id the platform gives the conversation.

    Returns:
        ``"<channel>:<platform_id>"``; an id that already carries the prefix is kept.

    Raises:
        BadRequestError: If ``platform_id`` is empty.

    """
    platform_id = platform_id.strip()
    if not platform_id:
        raise BadRequestError(f"empty sender id on channel {channel!r}")
    prefix = f"{channel}:"
    return platform_id if platform_id.startswith(prefix) else prefix + platform_id


def split_sender_id(sender_id: str) -> tuple[str, str]:
    """Split a namespaced sender id into its channel and platform id.

    Args:
        sender_id: A sender id made by :func:`namespaced_sender_id`.

    Returns:
        ``(channel, platform_id)``; ``("", sender_id)`` when it has no namespace.

    """
    channel, sep, rest = sender_id.partition(":")
    return (channel, rest) if sep and rest else ("", sender_id)


def message_metadata(channel: str, **extra: Any) -> dict[str, Any]:
    """Return the metadata a channel attaches to each user message.

    Args:
        channel: The channel's name.
        **extra: Platform details worth keeping (thread id, message id, ...), never
            message text.

    Returns:
        A new dict with ``channel`` set.

    """
    return {**{k: v for k, v in extra.items() if v is not None}, CHANNEL_KEY: channel}


def parse_json_body(body: bytes | None, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> dict[str, Any]:
    """Decode a webhook body that must be a JSON object.

    Args:
        body: The raw request body.
        max_bytes: The largest body accepted.

    Returns:
        The decoded object.

    Raises:
        PayloadTooLargeError: If the body is longer than ``max_bytes``.
        BadRequestError: If it is empty, not UTF-8, not JSON or not an object.

    """
    if not body:
        raise BadRequestError("empty request body")
    if len(body) > max_bytes:
        raise PayloadTooLargeError(f"request body of {len(body)} bytes exceeds {max_bytes}")
    try:
        decoded = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequestError("request body is not valid UTF-8 JSON") from e
    if not isinstance(decoded, dict):
        raise BadRequestError("request body must be a JSON object")
    return decoded


@dataclass
class SenderRateLimiter:
    """A token bucket per sender: ``burst`` messages at once, ``rate`` per second after.

    Runs on one event loop, so it needs no lock. Idle buckets are forgotten once more
    than ``max_senders`` are tracked, so memory stays bounded.

    Attributes:
        rate: Tokens added per second.
        burst: Bucket size.
        max_senders: How many senders' buckets to keep.
        clock: Monotonic clock, replaceable in tests.

    """

    rate: float = 1.0
    burst: int = 10
    max_senders: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")

    def allow(self, sender_id: str) -> bool:
        """Take one token for ``sender_id``.

        Args:
            sender_id: The namespaced sender.

        Returns:
            Whether the message may be processed.

        """
        now = self.clock()
        tokens, stamp = self._buckets.pop(sender_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[sender_id] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_senders:
            self._buckets.pop(next(iter(self._buckets)))
        if not allowed:
            logger.warning("Rate limit hit for sender %s.", sender_id)
        return allowed

    def check(self, sender_id: str) -> None:
        """Like :meth:`allow`, but raise when the sender is over the limit.

        Raises:
            RateLimitedError: If the bucket is empty.

        """
        if not self.allow(sender_id):
            raise RateLimitedError(f"too many messages from {sender_id}")

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> SenderRateLimiter:
        """Build a limiter from a channel's ``rate_limit`` credentials entry.

        Args:
            credentials: The channel's section of ``credentials.yml``; its optional
                ``rate_limit: {rate: 1.0, burst: 10}`` sets the bucket.

        Returns:
            The limiter.

        """
        options = dict((credentials or {}).get("rate_limit") or {})
        return cls(rate=float(options.get("rate", 1.0)), burst=int(options.get("burst", 10)))


def channel_styles() -> ChannelStyles:
    """Return the configured channel styles (the NLG endpoint's, unless it names a file)."""
    return configured_styles()


def adapted_reply(message: Mapping[str, Any], channel: str) -> AdaptedReply:
    """Return a bot message as ``channel`` should send it.

    The NLG endpoint (:mod:`bot.nlg`) already adapts domain and generated responses and
    puts the result under ``adapted``; texts that bypassed it (an action's literal
    ``text``) are adapted here, so every reply follows the channel's style.

    Args:
        message: The message dict Rasa hands to ``OutputChannel.send_response``.
        channel: The channel's style name.

    Returns:
        The adapted reply; its ``messages`` are empty when there is no text.

    """
    adapted = message.get(ADAPTED_KEY)
    if isinstance(adapted, Mapping) and adapted.get("channel") == channel:
        return AdaptedReply(
            channel=channel,
            format=adapted["format"],
            messages=tuple(adapted.get("messages") or ()),
            text=str(adapted.get("text") or ""),
            html=adapted.get("html"),
            shortened=bool(adapted.get("shortened", False)),
        )
    return adapt_reply(str(message.get("text") or ""), channel, channel_styles())


HandoffState = Literal["waiting", "agent", "bot"]
"""Where a conversation stands: waiting for an agent, with an agent, back with the bot."""


@runtime_checkable
class OutboundSender(Protocol):
    """Reaches a customer outside a Rasa request: an agent's reply, a handoff state.

    Each channel registers one in :func:`outbound_registry` when Rasa builds its
    blueprint; the inbox and the handoff delivery worker use them.
    """

    channel: str

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        """Send ``text`` (light Markdown) to the customer behind ``recipient_id``.

        Args:
            recipient_id: The platform id (without the channel namespace).
            text: The message; the sender adapts it to its channel's style.
            author: Who speaks: ``agent`` (a human, shown as such where the channel
                can) or ``bot``.

        """

    async def send_handoff_state(self, recipient_id: str, state: HandoffState) -> None:
        """Tell the customer's client that the conversation changed hands.

        The web widget shows it as a status line; channels without such a notion
        may do nothing (the escalation action and the bot's closing line already
        say it in words).

        Args:
            recipient_id: The platform id (without the channel namespace).
            state: The new state.

        """


class OutboundRegistry:
    """Channel name → :class:`OutboundSender`, filled by the channels the server opens."""

    def __init__(self) -> None:
        """Create an empty registry."""
        self._senders: dict[str, OutboundSender] = {}

    def register(self, sender: OutboundSender) -> None:
        """Register (or replace) the sender for ``sender.channel``."""
        self._senders[sender.channel] = sender
        logger.info("Outbound sender registered for channel %s.", sender.channel)

    def channels(self) -> list[str]:
        """Return the channels that can deliver, sorted."""
        return sorted(self._senders)

    def _sender_for(self, sender_id: str) -> tuple[OutboundSender, str]:
        channel, platform_id = split_sender_id(sender_id)
        sender = self._senders.get(channel)
        if sender is None:
            raise UnknownChannelError(f"no outbound sender for channel {channel or '?'!r}")
        return sender, platform_id

    async def deliver(self, sender_id: str, text: str, *, author: str = "agent") -> str:
        """Send ``text`` to the conversation ``sender_id`` through its channel.

        Args:
            sender_id: A namespaced Rasa sender id.
            text: The message.
            author: ``agent`` or ``bot``.

        Returns:
            The channel it went through.

        Raises:
            UnknownChannelError: If the id has no namespace or its channel has no sender.

        """
        sender, platform_id = self._sender_for(sender_id)
        await sender.send_text(platform_id, text, author=author)
        logger.info("Delivered an outbound message to %s via %s.", sender_id, sender.channel)
        return sender.channel

    async def notify_state(self, sender_id: str, state: HandoffState) -> None:
        """Tell the conversation ``sender_id`` that it changed hands.

        Raises:
            UnknownChannelError: If its channel has no sender.

        """
        sender, platform_id = self._sender_for(sender_id)
        await sender.send_handoff_state(platform_id, state)


_REGISTRY = OutboundRegistry()


def outbound_registry() -> OutboundRegistry:
    """Return the process's registry, which the channels and the inbox share.

    Rasa builds input channels from ``credentials.yml`` and gives them no shared
    context, so the registry lives in the process: the channels register when Rasa
    asks them for their blueprint; the inbox and the handoff delivery look up here.
    """
    return _REGISTRY
