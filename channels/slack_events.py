"""Pure converters between Slack payloads and Rasa messages.

Nothing here talks to Slack or Rasa: events and block actions come in as the dicts
Slack sends, :class:`SlackInbound` (sender, text, metadata, where to reply) goes out;
replies come in as mrkdwn and buttons, Block Kit blocks go out.

Sender ids (see :class:`SlackAddress`):

* a direct message outside a thread is one conversation per DM channel:
  ``slack:<team>:<channel>``; the bot answers in the DM itself;
* a mention in a channel, or any message in a thread, is one conversation per thread:
  ``slack:<team>:<channel>:<thread_ts>``, with ``thread_ts`` the thread's root (the
  mention's own ``ts`` when it starts one); the bot answers in that thread.

A sender id is thus also the address to answer at, which is what lets an agent's reply
reach the right thread from the inbox without any other state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from channels.base import message_metadata, namespaced_sender_id, split_sender_id
from common.errors import BadRequestError

__all__ = [
    "BUTTON_ACTION_PREFIX",
    "CHANNEL",
    "SlackAddress",
    "SlackInbound",
    "button_blocks",
    "inbound_from_action",
    "inbound_from_event",
    "strip_mentions",
    "unformat_text",
]

CHANNEL = "slack"
"""The channel's name: Rasa's input channel, style name and sender namespace."""

BUTTON_ACTION_PREFIX = "rasa_button_"
"""``action_id`` prefix of the buttons this channel posts (``rasa_button_0``, ...)."""

ANSWERED_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
"""Message subtypes written by a person; every other subtype (edits, deletions, joins,
bot messages, ...) is ignored."""

MAX_BUTTONS = 25  # an actions block holds at most 25 elements
MAX_BUTTON_TEXT = 75  # a button's plain_text label
MAX_BUTTON_VALUE = 2000  # a button's value

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto|tel):[^>|]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:here|channel|everyone)(?:\|[^>]*)?>")
_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True)
class SlackAddress:
    """Where a Slack conversation lives, and so where replies go.

    Attributes:
        team: The workspace id (``T...``).
        channel: The channel or DM id (``C...``, ``G...``, ``D...``).
        thread_ts: The thread's root ``ts``; ``None`` for a DM outside a thread.

    """

    team: str
    channel: str
    thread_ts: str | None = None

    @property
    def platform_id(self) -> str:
        """The id without the channel namespace: ``team:channel[:thread_ts]``."""
        parts = [self.team, self.channel] + ([self.thread_ts] if self.thread_ts else [])
        return ":".join(parts)

    @property
    def sender_id(self) -> str:
        """The Rasa sender id: ``slack:`` followed by :attr:`platform_id`."""
        return namespaced_sender_id(CHANNEL, self.platform_id)

    @classmethod
    def parse(cls, recipient_id: str) -> SlackAddress:
        """Read an address back from a platform id or a namespaced sender id.

        Args:
            recipient_id: ``team:channel[:thread_ts]``, with or without ``slack:``.

        Returns:
            The address.

        Raises:
            BadRequestError: If the id is not one this channel made.

        """
        namespace, platform_id = split_sender_id(recipient_id)
        if namespace != CHANNEL:
            platform_id = recipient_id
        parts = platform_id.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise BadRequestError(f"not a Slack conversation id: {recipient_id!r}")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


@dataclass(frozen=True)
class SlackInbound:
    """A Slack message or button click, ready to become a Rasa ``UserMessage``.

    Attributes:
        address: The conversation, which is also where the reply goes.
        text: What Rasa should read (mentions of the bot stripped, Slack markup undone).
        user: The Slack user id of the author.
        dedupe_key: Identifies the message itself, so that the same message delivered
            twice (e.g. as ``message`` and ``app_mention``) is answered once.
        metadata: The message's metadata (``channel`` is ``slack``); ids only.

    """

    address: SlackAddress
    text: str
    user: str
    dedupe_key: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        """The Rasa sender id of the conversation."""
        return self.address.sender_id


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    """Remove mentions of the bot from a message.

    Args:
        text: The message text as Slack sends it.
        bot_user_id: The bot's user id; when unknown, a leading mention is taken to be
            the bot's (that is how an ``app_mention`` starts).

    Returns:
        The text without the bot's mentions, spaces tidied.

    """
    if bot_user_id:
        text = _USER_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text)
    else:
        text = _USER_MENTION.sub("", text, count=1) if _USER_MENTION.match(text.lstrip()) else text
    return _SPACES.sub(" ", text).strip()


def unformat_text(text: str) -> str:
    """Undo Slack's markup of a user's message so NLU sees what the person typed.

    ``<https://x|label>`` becomes ``https://x`` (``mailto:``/``tel:`` lose their
    scheme), ``<!here>`` and friends are dropped, and ``&amp;``, ``&lt;`` and ``&gt;``
    are unescaped (last, so nothing typed by the user can become markup).

    Args:
        text: Message text after :func:`strip_mentions`.

    Returns:
        Plain text.

    """

    def link(match: re.Match[str]) -> str:
        target = match.group(1)
        for scheme in ("mailto:", "tel:"):
            if target.startswith(scheme):
                return target[len(scheme) :]
        return target

    text = _SPECIAL.sub("", _LINK.sub(link, text))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def inbound_from_event(
    event: Mapping[str, Any],
    *,
    team_id: str | None,
    bot_user_id: str | None,
    event_id: str | None = None,
) -> SlackInbound | None:
    """Turn an Events API event into an inbound message, or ``None`` to ignore it.

    Answered: ``message`` events in a DM (``channel_type: im``) and ``app_mention``
    events. Ignored: messages from bots (including this one), message subtypes other
    than :data:`ANSWERED_SUBTYPES` (edits, deletions, joins, ...), channel messages that
    do not mention the bot (they arrive as ``app_mention`` when they do), and events
    without a user, channel or ``ts``.

    Args:
        event: The ``event`` object of an ``event_callback``.
        team_id: The workspace the event was delivered for (the envelope's
            ``team_id``); the event's own ``team`` is used when missing.
        bot_user_id: The bot's user id (from ``auth.test``), to skip its own messages
            and strip its mention.
        event_id: The envelope's ``event_id``, kept in metadata.

    Returns:
        The message, or ``None`` when it must not be answered.

    """
    kind = event.get("type")
    if kind not in ("message", "app_mention"):
        return None
    user = event.get("user")
    channel = event.get("channel")
    ts = event.get("ts")
    if event.get("bot_id") or event.get("bot_profile"):
        return None
    if not isinstance(user, str) or not user or (bot_user_id and user == bot_user_id):
        return None
    if not isinstance(channel, str) or not channel or not isinstance(ts, str) or not ts:
        return None
    subtype = event.get("subtype")
    if subtype is not None and subtype not in ANSWERED_SUBTYPES:
        return None
    if kind == "message" and event.get("channel_type") != "im":
        return None
    team = team_id or event.get("team") or event.get("user_team")
    if not isinstance(team, str) or not team:
        return None
    thread_ts = event.get("thread_ts")
    if not isinstance(thread_ts, str) or not thread_ts:
        thread_ts = None
    if kind == "app_mention":
        thread_ts = thread_ts or ts
    address = SlackAddress(team, channel, thread_ts)
    text = unformat_text(strip_mentions(str(event.get("text") or ""), bot_user_id))
    metadata = message_metadata(
        CHANNEL,
        team=team,
        slack_channel=channel,
        thread_ts=thread_ts,
        user=user,
        message_ts=ts,
        event_id=event_id,
        event_type=kind,
    )
    return SlackInbound(address, text, user, f"message:{channel}:{ts}", metadata)


def inbound_from_action(body: Mapping[str, Any], action: Mapping[str, Any]) -> SlackInbound | None:
    """Turn a click on one of our buttons into an inbound message.

    The button's ``value`` (the Rasa button payload, e.g. ``/request_human``) is the
    text; the conversation is the one of the message that carried the buttons.

    Args:
        body: The ``block_actions`` interactivity payload.
        action: The clicked element from ``body["actions"]``.

    Returns:
        The message, or ``None`` for a payload that is not a click on our buttons.

    """
    if body.get("type") != "block_actions":
        return None
    action_id = action.get("action_id")
    value = action.get("value")
    if not isinstance(action_id, str) or not action_id.startswith(BUTTON_ACTION_PREFIX):
        return None
    if not isinstance(value, str) or not value:
        return None
    user_info = _mapping(body.get("user"))
    container = _mapping(body.get("container"))
    message = _mapping(body.get("message"))
    user = user_info.get("id")
    team = _mapping(body.get("team")).get("id") or user_info.get("team_id")
    channel = _mapping(body.get("channel")).get("id") or container.get("channel_id")
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    if not all(isinstance(v, str) and v for v in (user, team, channel)):
        return None
    address = SlackAddress(
        str(team), str(channel), thread_ts if isinstance(thread_ts, str) and thread_ts else None
    )
    action_ts = action.get("action_ts") or body.get("trigger_id") or ""
    metadata = message_metadata(
        CHANNEL,
        team=address.team,
        slack_channel=address.channel,
        thread_ts=address.thread_ts,
        user=user,
        action_id=action_id,
        message_ts=message.get("ts") or container.get("message_ts"),
    )
    return SlackInbound(address, value, str(user), f"action:{user}:{action_ts}", metadata)


def button_blocks(text: str, buttons: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return Block Kit blocks for a reply with buttons.

    Args:
        text: The reply, already in mrkdwn (see :func:`channels.base.adapted_reply`).
        buttons: Rasa buttons (``title`` and ``payload``); at most 25 are kept.

    Returns:
        A ``section`` block with the text and an ``actions`` block whose buttons carry
        the payload as ``value`` and ``rasa_button_<n>`` as ``action_id``.

    """
    elements: list[dict[str, Any]] = []
    for index, button in enumerate(buttons[:MAX_BUTTONS]):
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title)
        if not title:
            continue
        elements.append(
            {
                "type": "button",
                "action_id": f"{BUTTON_ACTION_PREFIX}{index}",
                "text": {"type": "plain_text", "text": title[:MAX_BUTTON_TEXT], "emoji": True},
                "value": payload[:MAX_BUTTON_VALUE],
            }
        )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if elements:
        blocks.append({"type": "actions", "block_id": "rasa_buttons", "elements": elements})
    return blocks


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
