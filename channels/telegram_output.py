"""Sending to Telegram: the Bot API client, Rasa's output channel and the agents' sender.

Every text goes out as Telegram HTML (``parse_mode=HTML``), as the channel adapter
(:func:`channels.base.adapted_reply`) rendered, escaped and split it to fit the
4,096-character limit of ``sendMessage``. Buttons become an inline keyboard on the last
message of a reply (:mod:`channels.telegram_keyboard`).

:class:`TelegramClient` owns python-telegram-bot's :class:`telegram.Bot` and its HTTP
connection pool. Making it does no I/O, and nothing calls ``getMe``: the webhook only
needs to send.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rasa.core.channels.channel import OutputChannel
from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.request import BaseRequest, HTTPXRequest

from bot.nlg.adapter import adapt_reply
from bot.nlg.channel_style import ChannelStyles
from channels.base import HandoffState, adapted_reply, channel_styles, split_sender_id
from channels.telegram_keyboard import CallbackPayloads, inline_keyboard
from common.errors import BadRequestError, BotError

__all__ = [
    "CHANNEL",
    "DEFAULT_API_BASE_URL",
    "TelegramClient",
    "TelegramDeliveryError",
    "TelegramOutboundSender",
    "TelegramOutput",
    "chat_id_from_recipient",
    "full_reply",
]

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
"""The channel's name: Rasa's input channel name, the sender-id namespace, the style."""

DEFAULT_API_BASE_URL = "https://api.telegram.org"

BUTTONS_ONLY_TEXT = "Please choose:"
"""Text for a reply that has buttons but no text (Telegram needs a text)."""


DEFAULT_HTTP_TIMEOUT_S = 30.0
"""Connect, read, write and pool timeouts of the Bot API client, in seconds."""


class _RedactToken(logging.Filter):
    """Hides the bot token in log records (httpx logs each request's URL, token included)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token in record.getMessage():
            record.msg = record.getMessage().replace(self.token, "<bot-token>")
            record.args = None
        return True


def _redact_in_logs(
    token: str,
    logger_names: tuple[str, ...] = ("httpx", "telegram.Bot", "telegram.request.BaseRequest"),
) -> None:
    for name in logger_names:
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in target.filters):
            target.addFilter(_RedactToken(token))


class TelegramDeliveryError(BotError):
    """The Bot API refused a message or could not be reached."""

    status_code = 502


class TelegramClient:
    """The Bot API client one channel uses, made when first needed.

    Args:
        access_token: The bot's token from BotFather.
        api_base_url: The Bot API server (``https://api.telegram.org``, or a local
            Bot API server or a test fake).
        request: The HTTP backend; an :class:`~telegram.request.HTTPXRequest` when
            ``None`` (tests pass a recording fake).

    """

    def __init__(
        self,
        access_token: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        request: BaseRequest | None = None,
        timeout_s: float = DEFAULT_HTTP_TIMEOUT_S,
    ) -> None:
        self._token = access_token
        self._timeout_s = timeout_s
        self._api_base_url = api_base_url.rstrip("/")
        self._request = request
        self._bot: Bot | None = None
        self.payloads = CallbackPayloads()

    @property
    def bot(self) -> Bot:
        """The PTB bot; built on first use (no I/O), inside the server's event loop."""
        if self._bot is None:
            _redact_in_logs(self._token)
            # PTB's 5 s defaults fire when the event loop is busy with inference on a
            # loaded machine; a connect timeout means nothing was sent, so be patient.
            request = self._request or HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=self._timeout_s,
                read_timeout=self._timeout_s,
                write_timeout=self._timeout_s,
                pool_timeout=self._timeout_s,
            )
            self._request = request
            self._bot = Bot(
                self._token,
                base_url=f"{self._api_base_url}/bot",
                base_file_url=f"{self._api_base_url}/file/bot",
                request=request,
                get_updates_request=request,
            )
        return self._bot

    async def close(self) -> None:
        """Close the HTTP connection pool, if one was opened."""
        if self._bot is not None and self._request is not None:
            await self._request.shutdown()
            self._bot = None
            logger.debug("Telegram client closed.")

    async def send_html(
        self, chat_id: int, html: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> None:
        """Send one message that is already Telegram HTML.

        Raises:
            TelegramDeliveryError: If the Bot API refuses it or cannot be reached.

        """
        try:
            await self.bot.send_message(
                chat_id, html, parse_mode=ParseMode.HTML, reply_markup=keyboard
            )
        except TelegramError as e:
            raise TelegramDeliveryError(
                f"sendMessage to chat {chat_id} failed: {type(e).__name__}: {e.message}"
            ) from e

    async def send_messages(
        self, chat_id: int, messages: Sequence[str], keyboard: InlineKeyboardMarkup | None = None
    ) -> int:
        """Send HTML messages in order; the keyboard goes on the last one.

        Returns:
            How many messages were sent.

        """
        if not messages and keyboard is not None:
            messages = (BUTTONS_ONLY_TEXT,)
        for index, html in enumerate(messages):
            last = index == len(messages) - 1
            await self.send_html(chat_id, html, keyboard if last else None)
        return len(messages)

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> None:
        """Answer a button press, so that the customer's client stops its spinner.

        Raises:
            TelegramDeliveryError: If the Bot API refuses it or cannot be reached.

        """
        try:
            await self.bot.answer_callback_query(callback_query_id, text=text)
        except TelegramError as e:
            raise TelegramDeliveryError(
                f"answerCallbackQuery failed: {type(e).__name__}: {e.message}"
            ) from e

    async def send_photo(self, chat_id: int, url: str) -> None:
        """Send an image by URL.

        Raises:
            TelegramDeliveryError: If the Bot API refuses it or cannot be reached.

        """
        try:
            await self.bot.send_photo(chat_id, url)
        except TelegramError as e:
            raise TelegramDeliveryError(
                f"sendPhoto to chat {chat_id} failed: {type(e).__name__}: {e.message}"
            ) from e


def chat_id_from_recipient(recipient_id: str) -> int:
    """Return the Telegram chat id behind a Rasa recipient id.

    Args:
        recipient_id: ``telegram:<chat_id>`` or the bare chat id.

    Returns:
        The chat id.

    Raises:
        BadRequestError: If it is not a Telegram chat id.

    """
    channel, platform_id = split_sender_id(recipient_id)
    if channel not in ("", CHANNEL):
        raise BadRequestError(f"recipient {recipient_id!r} is not a Telegram chat")
    try:
        return int(platform_id)
    except ValueError as e:
        raise BadRequestError(f"recipient {recipient_id!r} is not a Telegram chat id") from e


def _unbudgeted_styles(styles: ChannelStyles) -> ChannelStyles:
    style = dataclasses.replace(styles.for_channel(CHANNEL), max_chars=None)
    return ChannelStyles({CHANNEL: style}, source=f"{styles.source} (telegram, no budget)")


def full_reply(text: str) -> tuple[str, ...]:
    """Render light Markdown in Telegram's style without dropping sentences.

    Used for what people write and the channel's own notices (agents' replies, the
    help text), which must never be shortened; they are still split at 4,096
    characters.

    Args:
        text: Light Markdown.

    Returns:
        The HTML messages to send.

    """
    return adapt_reply(text, CHANNEL, _unbudgeted_styles(channel_styles())).messages


class TelegramOutput(OutputChannel):
    """Rasa's output channel for Telegram: the bot's replies to one conversation.

    Args:
        client: The channel's Bot API client.

    """

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    @classmethod
    def name(cls) -> str:
        """The channel's name, ``telegram``."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Send one bot message: its text as HTML messages, buttons as a keyboard.

        Args:
            recipient_id: The Rasa sender id (``telegram:<chat_id>``).
            message: The message as Rasa's NLG produced it.

        Raises:
            TelegramDeliveryError: If the Bot API refuses a message.

        """
        chat_id = chat_id_from_recipient(recipient_id)
        reply = adapted_reply(message, CHANNEL)
        buttons = message.get("buttons") or message.get("quick_replies")
        keyboard = inline_keyboard(
            buttons if isinstance(buttons, Sequence) else None, self._client.payloads
        )
        sent = await self._client.send_messages(chat_id, reply.messages, keyboard)
        if message.get("image"):
            await self._client.send_photo(chat_id, str(message["image"]))
            sent += 1
        if message.get("attachment"):
            sent += await self._client.send_messages(
                chat_id, full_reply(str(message["attachment"]))
            )
        if message.get("custom"):
            logger.info("Custom payload for chat %s is not supported on Telegram.", chat_id)
        logger.debug(
            "Sent %d Telegram message(s) to chat %s (shortened=%s).",
            sent,
            chat_id,
            reply.shortened,
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text (light Markdown), adapted to Telegram."""
        await self.send_response(recipient_id, {"text": text})

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        """Send a text with an inline keyboard."""
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by URL."""
        await self._client.send_photo(chat_id_from_recipient(recipient_id), image)

    async def send_custom_json(
        self, recipient_id: str, json_message: Mapping[str, Any], **kwargs: Any
    ) -> None:
        """Custom payloads have no Telegram form; they are logged and skipped."""
        logger.info("Custom payload for %s is not supported on Telegram.", recipient_id)


class TelegramOutboundSender:
    """Sends agents' replies to Telegram chats (registered in the outbound registry).

    Args:
        client: The channel's Bot API client.

    """

    channel = CHANNEL

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    async def send_text(self, recipient_id: str, text: str, *, author: str = "agent") -> None:
        """Send ``text`` to a chat, headed "Agent:" in bold when a person wrote it.

        Args:
            recipient_id: The chat id (a namespaced sender id is accepted too).
            text: Light Markdown; never shortened, split at 4,096 characters.
            author: ``agent`` or ``bot``.

        Raises:
            TelegramDeliveryError: If the Bot API refuses a message.

        """
        chat_id = chat_id_from_recipient(recipient_id)
        markdown = f"**Agent:** {text}" if author == "agent" else text
        sent = await self._client.send_messages(chat_id, full_reply(markdown))
        logger.info("Sent %d %s message(s) to Telegram chat %s.", sent, author, chat_id)

    async def send_handoff_state(self, recipient_id: str, state: HandoffState) -> None:
        """Telegram has no status line; the bot's own messages say it in words."""
        logger.debug("Handoff state %s for Telegram chat %s not shown.", state, recipient_id)
