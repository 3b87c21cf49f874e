"""The outbound registry: how agents' replies and handoff states reach a customer.

A reply written in the inbox, or the bot's closing words after a ticket is resolved,
leaves outside any Rasa request, so it needs a way back to the customer's channel.
Each channel registers an :class:`OutboundSender` here when Rasa builds it; the
inbox and the handoff delivery worker look the sender up by the channel namespace of
the conversation's sender id (:mod:`bot.sender_id`).
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol, runtime_checkable

from bot.sender_id import split_sender_id
from common.errors import BotError

__all__ = [
    "HandoffState",
    "OutboundRegistry",
    "OutboundSender",
    "UnknownChannelError",
    "outbound_registry",
]

logger = logging.getLogger(__name__)

HandoffState = Literal["waiting", "agent", "bot"]
"""Where a conversation stands: waiting for an agent, with an agent, back with the bot."""


class UnknownChannelError(BotError):
    """No outbound sender is registered for a conversation's channel."""

    status_code = 404


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
