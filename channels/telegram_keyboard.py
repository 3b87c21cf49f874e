"""Rasa buttons as Telegram inline keyboards, and button presses back as Rasa payloads.

Telegram carries a button's ``callback_data`` back to the bot when it is pressed, but
accepts at most 64 bytes of it. A Rasa payload that fits is sent as it is. A longer one
(``/inform_order_number{"order_number": ...}``) is replaced by a short token made from
its hash, and :class:`CallbackPayloads` remembers which payload the token stands for.
When the token is no longer known (the server restarted, or the memory was full), the
pressed button's title, which Telegram sends back with the keyboard, is used as the
user's message instead, so that a press is never silently lost.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

__all__ = [
    "MAX_BUTTON_TEXT_CHARS",
    "MAX_CALLBACK_DATA_BYTES",
    "TOKEN_PREFIX",
    "CallbackPayloads",
    "inline_keyboard",
]

logger = logging.getLogger(__name__)

MAX_CALLBACK_DATA_BYTES = 64
"""Telegram's limit on an inline button's ``callback_data``, in UTF-8 bytes."""

MAX_BUTTON_TEXT_CHARS = 64
"""How much of a button's title we show; longer titles are cut with an ellipsis."""

TOKEN_PREFIX = "#p:"
"""Starts the ``callback_data`` that stands for a payload too long to send as it is.

Rasa payloads start with ``/`` (an intent) or are plain text, so no real payload that
fits in 64 bytes is mistaken for a token; one that starts with the prefix anyway is
sent as a token too.
"""

_DIGEST_HEX_CHARS = 32


@dataclass
class CallbackPayloads:
    """Maps the tokens of long button payloads back to the payloads, in bounded memory.

    Tokens are derived from the payload (a SHA-256 prefix), so the same payload always
    gets the same token, and a token survives being forgotten and re-learnt.

    Attributes:
        max_entries: How many long payloads to remember; the least recently used
            go first.

    """

    max_entries: int = 10_000
    _payloads: OrderedDict[str, str] = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("max_entries must be >= 1")

    def encode(self, payload: str) -> str:
        """Return the ``callback_data`` for a button's payload.

        Args:
            payload: The Rasa payload (an intent like ``/greet`` or any text).

        Returns:
            The payload itself when it fits in 64 bytes, otherwise a token.

        """
        if _fits(payload) and not payload.startswith(TOKEN_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:_DIGEST_HEX_CHARS]
        token = TOKEN_PREFIX + digest
        self._payloads[token] = payload
        self._payloads.move_to_end(token)
        while len(self._payloads) > self.max_entries:
            self._payloads.popitem(last=False)
        logger.debug("Long button payload stored as token %s.", token)
        return token

    def decode(self, data: str, keyboard: InlineKeyboardMarkup | None = None) -> str | None:
        """Return the Rasa payload for a pressed button's ``callback_data``.

        Args:
            data: The ``callback_data`` Telegram sent back.
            keyboard: The keyboard of the message the button was on, if Telegram sent
                it; its button titles are the fallback for forgotten tokens.

        Returns:
            The payload, the button's title for a forgotten token, or ``None`` when
            neither is known.

        """
        if not data.startswith(TOKEN_PREFIX):
            return data
        payload = self._payloads.get(data)
        if payload is not None:
            self._payloads.move_to_end(data)
            return payload
        title = _title_for(data, keyboard)
        if title is not None:
            logger.info("Button token %s is no longer known; using the button's title.", data)
        else:
            logger.warning("Button token %s is not known and has no title.", data)
        return title


def inline_keyboard(
    buttons: Sequence[Mapping[str, Any]] | None,
    payloads: CallbackPayloads,
    *,
    per_row: int = 1,
) -> InlineKeyboardMarkup | None:
    """Build the inline keyboard for Rasa buttons (or quick replies).

    Buttons with a ``url`` become link buttons; the others carry their payload (or
    their title, when the payload is empty) as ``callback_data``. Buttons without a
    title are skipped.

    Args:
        buttons: Rasa buttons: ``{"title": ..., "payload": ...}`` or ``{"title": ...,
            "url": ...}``.
        payloads: Where long payloads are remembered.
        per_row: Buttons per keyboard row.

    Returns:
        The keyboard, or ``None`` when there is no usable button.

    """
    keys = list(_keys(buttons or (), payloads))
    if not keys:
        return None
    rows = [keys[i : i + max(1, per_row)] for i in range(0, len(keys), max(1, per_row))]
    return InlineKeyboardMarkup(rows)


def _keys(
    buttons: Iterable[Mapping[str, Any]], payloads: CallbackPayloads
) -> Iterable[InlineKeyboardButton]:
    for button in buttons:
        title = str(button.get("title") or "").strip()
        if not title:
            logger.warning("Skipping a button without a title.")
            continue
        text = _short_title(title)
        url = button.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://", "tg://")):
            yield InlineKeyboardButton(text, url=url)
            continue
        payload = str(button.get("payload") or "").strip() or title
        yield InlineKeyboardButton(text, callback_data=payloads.encode(payload))


def _fits(payload: str) -> bool:
    return 0 < len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES


def _short_title(title: str) -> str:
    if len(title) <= MAX_BUTTON_TEXT_CHARS:
        return title
    return title[: MAX_BUTTON_TEXT_CHARS - 1].rstrip() + "\u2026"


def _title_for(data: str, keyboard: InlineKeyboardMarkup | None) -> str | None:
    if keyboard is None:
        return None
    for row in keyboard.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
