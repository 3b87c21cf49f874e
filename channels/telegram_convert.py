"""Pure converters from Telegram updates to what the Telegram channel should do.

:func:`inbound_from_update` reads one :class:`telegram.Update` and returns an
:class:`Inbound`: a text for Rasa, a bot command, a button press, a message the bot
cannot read (sticker, photo, voice, ...), an edit, or something to ignore. It does no
I/O, so the webhook route and the tests share it.

Edited messages are ignored on purpose: the bot already answered the original text, and
running a second turn for the edit would answer twice and move the dialogue on as if
the customer had said something new. A customer who wants to change what they said
simply writes again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from telegram import InlineKeyboardMarkup, Message, Update

__all__ = ["COMMANDS", "Inbound", "InboundKind", "inbound_from_update", "parse_command"]

logger = logging.getLogger(__name__)

InboundKind: TypeAlias = Literal["text", "command", "callback", "unsupported", "edited", "ignored"]

_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s|$)", re.ASCII)

COMMANDS: tuple[str, ...] = ("start", "help", "agent")
"""The bot commands the channel answers (the list to give BotFather)."""


@dataclass(frozen=True)
class Inbound:
    """What one Telegram update asks of the channel.

    Attributes:
        kind: ``text`` (send ``text`` to Rasa), ``command`` (``command`` is set, e.g.
            ``start``, ``help``, ``agent`` or an unknown one), ``callback`` (a button
            press: ``callback_data`` and ``callback_query_id`` are set),
            ``unsupported`` (a sticker, photo, voice note, ...: answer that only text
            is read), ``edited`` (an edited message: ignored) or ``ignored``
            (service messages and update types the bot does not handle).
        update_id: Telegram's update id.
        chat_id: The chat to answer in, when there is one.
        message_id: The message the update is about, when there is one.
        text: The customer's text (``text`` kind only).
        command: The command's name, lower case, without ``/`` and ``@botname``;
            empty for slash text that is no valid command.
        callback_data: The pressed button's ``callback_data``.
        callback_query_id: The id to pass to ``answerCallbackQuery``.
        keyboard: The keyboard of the message whose button was pressed, if sent.
        detail: What the update was, for logs (never customer text).

    """

    kind: InboundKind
    update_id: int
    chat_id: int | None = None
    message_id: int | None = None
    text: str | None = None
    command: str | None = None
    callback_data: str | None = None
    callback_query_id: str | None = None
    keyboard: InlineKeyboardMarkup | None = None
    detail: str = ""


def parse_command(text: str) -> str | None:
    """Return the bot command a message starts with, if any.

    Args:
        text: A message's text, e.g. ``/start``, ``/Help@PinecrestBot`` or
            ``/start ref42``.

    Returns:
        The command's name in lower case (``start``, ``help``), or ``None`` when the
        text is not a command.

    """
    match = _COMMAND.match(text.strip())
    return match.group(1).lower() if match else None


def inbound_from_update(update: Update) -> Inbound:
    """Classify one update.

    Args:
        update: The update, as parsed by ``Update.de_json``.

    Returns:
        What the channel should do with it.

    """
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        keyboard = message.reply_markup if isinstance(message, Message) else None
        return Inbound(
            kind="callback",
            update_id=update.update_id,
            chat_id=message.chat.id if message is not None else None,
            message_id=message.message_id if message is not None else None,
            callback_data=query.data,
            callback_query_id=query.id,
            keyboard=keyboard,
            detail="callback_query",
        )
    if update.message is not None:
        return _from_message(update.update_id, update.message)
    edited = update.edited_message
    if edited is not None:
        return Inbound(
            kind="edited",
            update_id=update.update_id,
            chat_id=edited.chat.id,
            message_id=edited.message_id,
            detail="edited_message",
        )
    return Inbound(kind="ignored", update_id=update.update_id, detail=_update_type(update))


def _from_message(update_id: int, message: Message) -> Inbound:
    chat_id, message_id = message.chat.id, message.message_id
    if message.text is not None:
        if message.text.lstrip().startswith("/"):
            # Any slash text is a command; an unknown one gets the help text. Customers
            # cannot send Rasa's intent syntax (``/intent{"entity": ...}``) this way.
            return Inbound(
                kind="command",
                update_id=update_id,
                chat_id=chat_id,
                message_id=message_id,
                command=parse_command(message.text) or "",
                detail="command",
            )
        if message.text.strip():
            return Inbound(
                kind="text",
                update_id=update_id,
                chat_id=chat_id,
                message_id=message_id,
                text=message.text,
                detail="text",
            )
    attachment = message.effective_attachment
    if attachment is not None:
        kind = "photo" if isinstance(attachment, tuple) else type(attachment).__name__.lower()
        return Inbound(
            kind="unsupported",
            update_id=update_id,
            chat_id=chat_id,
            message_id=message_id,
            detail=kind,
        )
    return Inbound(
        kind="ignored",
        update_id=update_id,
        chat_id=chat_id,
        message_id=message_id,
        detail="service message",
    )


def _update_type(update: Update) -> str:
    for name in Update.ALL_TYPES:
        if getattr(update, str(name), None) is not None:
            return str(name)
    return "unknown"
