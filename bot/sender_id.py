"""Conversation ids across channels: ``<channel>:<platform id>``.

Every channel names its Rasa sender ids this way and puts the channel's name in each
user message's metadata under :data:`CHANNEL_KEY`, so the runtime (the escalation
ticket, the outbound registry) can tell where a conversation lives without knowing
any platform.
"""

from __future__ import annotations

from common.errors import BadRequestError

__all__ = ["CHANNEL_KEY", "namespaced_sender_id", "split_sender_id"]

CHANNEL_KEY = "channel"
"""Metadata key that names the channel a message came from."""


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
