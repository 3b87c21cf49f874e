"""The Slack channel's way out: replies of a Rasa turn, and agents' messages.

Everything goes out with ``chat.postMessage`` into the conversation's DM or thread, as
:func:`channels.base.adapted_reply` shaped it for Slack (mrkdwn, already escaped);
buttons become Block Kit actions (:func:`channels.slack_events.button_blocks`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import ClientError
from rasa.core.channels.channel import OutputChannel
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.base import HandoffState, adapted_reply
from channels.slack_events import CHANNEL, SlackAddress, button_blocks
from common.errors import BotError

__all__ = [
    "AGENT_PREFIX",
    "HANDOFF_LINES",
    "SlackDeliveryError",
    "SlackOutboundSender",
    "SlackOutput",
    "post_message",
]

logger = logging.getLogger(__name__)

AGENT_PREFIX = "*Agent:* "
"""Put before an agent's message, so the customer sees a person is writing."""

HANDOFF_LINES: Mapping[str, str] = {
    "agent": "_A member of our team has joined the conversation._",
    "bot": "_You are back with the Pinecrest assistant._",
}
"""Status lines posted when a conversation changes hands; ``waiting`` posts nothing
(the escalation action already says so in words)."""


class SlackDeliveryError(BotError):
    """Slack's Web API refused a message or could not be reached."""

    status_code = 502


async def post_message(
    client: AsyncWebClient,
    address: SlackAddress,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """Post one message into a conversation with ``chat.postMessage``.

    Raises:
        SlackDeliveryError: If Slack refused it or could not be reached.

    """
    try:
        await client.chat_postMessage(
            channel=address.channel,
            text=text,
            mrkdwn=True,
            thread_ts=address.thread_ts,
            blocks=blocks,
        )
    except SlackApiError as e:
        error = e.response.get("error") if e.response is not None else None
        raise SlackDeliveryError(f"chat.postMessage failed: {error or 'unknown error'}") from e
    except (ClientError, asyncio.TimeoutError) as e:
        raise SlackDeliveryError(f"Slack could not be reached: {type(e).__name__}") from e
    logger.debug("Posted a message to %s.", address.sender_id)


class SlackOutput(OutputChannel):
    """Sends the replies of one Rasa turn into the conversation it came from."""

    def __init__(self, client: AsyncWebClient, address: SlackAddress) -> None:
        """Create the output for one conversation.

        Args:
            client: The Web API client.
            address: Where the replies go (channel and thread).

        """
        self.client = client
        self.address = address

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send one bot message: adapted text, buttons, image or custom blocks.

        Args:
            recipient_id: The Rasa sender id (the address is already known).
            message: The message as Rasa hands it over (``text``, ``buttons``,
                ``quick_replies``, ``image``, ``custom``, ``adapted``).

        """
        texts = list(adapted_reply(message, CHANNEL).messages)
        buttons = message.get("buttons") or message.get("quick_replies") or []
        for index, text in enumerate(texts):
            last = index == len(texts) - 1
            blocks = button_blocks(text, buttons) if last and buttons else None
            await post_message(self.client, self.address, text, blocks)
        image = message.get("image")
        if isinstance(image, str) and image:
            block = {"type": "image", "image_url": image, "alt_text": "image"}
            await post_message(self.client, self.address, "image", [block])
        custom = message.get("custom")
        if isinstance(custom, Mapping) and (custom.get("blocks") or custom.get("text")):
            await post_message(
                self.client,
                self.address,
                str(custom.get("text") or "message"),
                list(custom.get("blocks") or []) or None,
            )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text as the channel's style wants it."""
        await self.send_response(recipient_id, {"text": text})


class SlackOutboundSender:
    """Delivers agents' replies and handoff states into Slack conversations."""

    channel = CHANNEL

    def __init__(self, client: AsyncWebClient) -> None:
        """Create the sender.

        Args:
            client: The Web API client.

        """
        self.client = client

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        """Post ``text`` into the conversation ``recipient_id`` (``team:channel[:ts]``).

        An agent's message starts with ``*Agent:*`` so the customer sees who speaks.

        Raises:
            BadRequestError: If ``recipient_id`` is not a Slack conversation id.
            SlackDeliveryError: If Slack refused the message.

        """
        address = SlackAddress.parse(recipient_id)
        messages = list(adapted_reply({"text": text}, CHANNEL).messages)
        if messages and author == "agent":
            messages[0] = AGENT_PREFIX + messages[0]
        for message in messages:
            await post_message(self.client, address, message)
        logger.info("Sent %d %s message(s) to %s.", len(messages), author, address.sender_id)

    async def send_handoff_state(self, recipient_id: str, state: HandoffState) -> None:
        """Post a short status line when an agent takes over or hands back.

        Raises:
            BadRequestError: If ``recipient_id`` is not a Slack conversation id.
            SlackDeliveryError: If Slack refused the message.

        """
        line = HANDOFF_LINES.get(state)
        if line:
            await post_message(self.client, SlackAddress.parse(recipient_id), line)
