"""The channel adapter: a reply in light Markdown in, what a channel should send out.

:func:`adapt_reply` runs the whole chain for one reply: parse
(:mod:`bot.nlg.markdown`), tone and emoji (:mod:`bot.nlg.tone`), the soft length
budget, the greeting and sign-off, rendering (:mod:`bot.nlg.render`) and splitting
into messages that fit the platform's limit (:mod:`bot.nlg.length`).
:func:`channel_from` tells which channel a Rasa message came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.nlg.channel_style import DEFAULT_CHANNEL, ChannelStyle, ChannelStyles, Format
from bot.nlg.length import shorten, split
from bot.nlg.markdown import Document, Paragraph, Text, map_text, parse
from bot.nlg.render import (
    html_document,
    render_html,
    render_markdown,
    render_plain,
    render_slack,
    render_telegram_html,
)
from bot.nlg.tone import Substitutions, expand_contractions, strip_emoji

__all__ = ["CHANNEL_ALIASES", "AdaptedReply", "adapt_reply", "channel_from"]

logger = logging.getLogger(__name__)

CHANNEL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "web": "web",
        "webchat": "web",
        "socketio": "web",
        "slack": "slack",
        "telegram": "telegram",
        "email": "email",
        "mail": "email",
        "rest": "rest",
        "collector": "rest",  # Rasa's REST channel answers through a CollectingOutputChannel
        "callback": "rest",
        "cmdline": "rest",
    }
)
"""Channel names as Rasa and our channels spell them, mapped to style names."""

_RENDERERS: Mapping[str, Callable[[Document], str]] = MappingProxyType(
    {
        "plain": render_plain,
        "markdown": render_markdown,
        "slack_mrkdwn": render_slack,
        "telegram_html": render_telegram_html,
        "email": render_plain,
    }
)


@dataclass(frozen=True)
class AdaptedReply:
    """A reply made ready for one channel.

    Attributes:
        channel: The channel the reply was adapted for, as asked.
        format: The format of ``messages``.
        messages: What to send, in order; empty when the reply was blank. For email,
            one message: the plain-text body.
        text: The whole reply as plain text (for email: the ``text/plain`` part;
            elsewhere: for transcripts and the agent inbox).
        html: For email, the complete HTML document (the ``text/html`` part).
        shortened: Whether sentences or messages were dropped to respect the
            channel's budget.

    """

    channel: str
    format: Format
    messages: tuple[str, ...]
    text: str
    html: str | None = None
    shortened: bool = False


def adapt_reply(
    text: str,
    channel: str,
    styles: ChannelStyles,
    *,
    customer_name: str | None = None,
) -> AdaptedReply:
    """Turn a reply written in light Markdown into what ``channel`` should send.

    Args:
        text: A domain response or a generated reply, in light Markdown.
        channel: The channel's name (see :func:`channel_from`); unknown channels use
            the ``default`` style.
        styles: The configured channel styles.
        customer_name: The customer's name, for a greeting that uses ``{name}``.

    Returns:
        The messages to send and, for email, the HTML and plain-text parts.

    """
    style = styles.for_channel(channel)
    body = _apply_tone(parse(text), style)
    body, shortened = shorten(body, style.max_chars)
    if not body:
        logger.debug("Reply for channel %s is empty after adaptation.", channel)
        return AdaptedReply(channel=channel, format=style.format, messages=(), text="")
    blocks = _frame(body, style, customer_name)
    plain = render_plain(blocks)
    if style.format == "email":
        html = html_document(render_html(blocks))
        reply = AdaptedReply(channel, style.format, (plain,), plain, html, shortened)
    else:
        render = _RENDERERS[style.format]
        parts = split(blocks, render, style.max_message_chars)
        if style.max_messages is not None and len(parts) > style.max_messages:
            logger.warning(
                "Reply for channel %s needs %d messages; sending the first %d.",
                channel,
                len(parts),
                style.max_messages,
            )
            parts = parts[: style.max_messages]
            shortened = True
        messages = tuple(render(part) for part in parts)
        reply = AdaptedReply(channel, style.format, messages, plain, None, shortened)
    logger.debug(
        "Adapted a reply for channel %s (style %s, format %s): %d message(s), shortened=%s.",
        channel,
        style.name,
        style.format,
        len(reply.messages),
        shortened,
    )
    return reply


def _apply_tone(blocks: Document, style: ChannelStyle) -> Document:
    if style.tone == "formal" and style.expand_contractions:
        blocks = map_text(blocks, expand_contractions)
    if style.substitutions:
        blocks = map_text(blocks, Substitutions(style.substitutions))
    if style.emoji == "strip":
        blocks = map_text(blocks, strip_emoji)
    return blocks


def _frame(body: Document, style: ChannelStyle, customer_name: str | None) -> Document:
    """Add the style's greeting and sign-off around the reply, as plain text."""
    if style.emoji == "strip" and customer_name:
        customer_name = strip_emoji(customer_name)
    greeting = style.greeting_for(customer_name)
    before = (Paragraph((Text(greeting),)),) if greeting else ()
    after = (Paragraph((Text(style.sign_off),)),) if style.sign_off else ()
    return before + body + after


def channel_from(
    metadata: Mapping[str, Any] | None,
    output_channel_name: str | None,
    *,
    known: Collection[str] = (),
) -> str:
    """Return the style name of the channel a message came from.

    The metadata key ``channel`` wins over the output channel's name when it names a
    channel we know. Names are matched without regard to case, and aliases are mapped
    (``socketio`` and ``webchat`` are ``web``; Rasa's REST ``collector`` is ``rest``).

    Args:
        metadata: The Rasa message's metadata, if any.
        output_channel_name: ``OutputChannel.name()`` of the channel replying.
        known: More channel names to accept as they are, such as channels that only
            the styles file lists (e.g. ``list(styles)``).

    Returns:
        A channel name such as ``web``, ``slack``, ``telegram``, ``email`` or
        ``rest``, or ``default`` when neither source names a known channel.

    """
    extra = {name.strip().lower() for name in known}
    candidates = [metadata.get("channel") if metadata else None, output_channel_name]
    for candidate in candidates:
        if not isinstance(candidate, str):
            continue
        name = candidate.strip().lower()
        if name in CHANNEL_ALIASES:
            return CHANNEL_ALIASES[name]
        if name in extra:
            return name
    return DEFAULT_CHANNEL
