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
* agents' replies reach customers through the :class:`OutboundRegistry`.

The sender-id helpers live in :mod:`bot.sender_id` and the outbound registry in
:mod:`bot.handoff.outbound`, since the runtime (escalation, inbox) uses them too; they
are re-exported here so that each platform module finds its whole toolkit in one place.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.handoff.outbound import (
    HandoffState,
    OutboundRegistry,
    OutboundSender,
    UnknownChannelError,
    outbound_registry,
)
from bot.nlg.adapter import AdaptedReply, adapt_reply
from bot.nlg.channel_style import ChannelStyles, configured_styles
from bot.sender_id import CHANNEL_KEY, namespaced_sender_id, split_sender_id
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
