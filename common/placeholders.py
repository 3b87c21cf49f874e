"""Placeholders in redacted agent replies, and replies made safe to send.

Redacted transcripts say ``[ORDER_ID_1]``, ``{{Order Number}}`` or ``<NAME>`` where the
customer's data was. Such a placeholder must never reach a customer:

- :func:`placeholders`: the placeholders of a reply, each with the slot that can fill it
  (``order_number``) or ``None`` when nothing the bot knows can (a person's name, the
  support hours);
- :func:`sanitise`: a reply a customer may receive: slot placeholders become Rasa's
  ``{slot}`` interpolation, sentences with a placeholder no slot can fill are dropped, and a
  reply that loses too much is refused;
- :func:`fill_slots`: the sanitised text with its ``{slot}`` interpolations filled, or
  ``None`` when a slot has no value.

``training build-bot`` mines responses with them; the NLG endpoint's past-reply route
(:mod:`bot.nlg.past_reply`) checks each past reply with them before sending it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.privacy.detectors import PLACEHOLDER_RE

# Placeholder name (upper-cased, spaces and dashes as underscores, trailing _N removed)
# -> the slot that fills it. Anything else cannot be filled by the bot.
SLOT_OF_PLACEHOLDER: dict[str, str] = {
    "ORDER_ID": "order_number",
    "ORDER_NUMBER": "order_number",
    "ORDER_NO": "order_number",
    "INVOICE_NUMBER": "invoice_number",
    "TRACKING_NUMBER": "tracking_number",
    "ACCOUNT_NUMBER": "account_number",
    "ACCOUNT_ID": "account_number",
    "EMAIL": "email",
    "EMAIL_ADDRESS": "email",
    "PHONE": "phone_number",
    "PHONE_NUMBER": "phone_number",
}

# A numbered step: "2. Navigate to...", "3) Click...".
_STEP_RE = re.compile(r"(\d{1,2})([.)])\s")
# A sentence, with a list marker ("2. ") kept in front of its item, so that dropping an
# item never leaves its number behind.
_SENTENCE_RE = re.compile(
    r"(?:\b\d{1,2}\.\s+)?(?:(?!\s\d{1,2}\.\s)[^.!?\n])+(?:[.!?]+|\n|$|(?=\s\d{1,2}\.\s))"
)


@dataclass(frozen=True)
class Placeholder:
    """A placeholder found in a reply.

    Attributes:
        text: The placeholder as written (``[ORDER_ID_1]``, ``{{Order Number}}``).
        slot: The slot that can fill it, or None.

    """

    text: str
    slot: str | None


def placeholder_key(text: str) -> str:
    """A placeholder's name: ``{{Order Number}}`` -> ``ORDER_NUMBER``, ``[EMAIL_2]``->``EMAIL``."""
    inner = text.strip("{}[]<>").strip()
    key = re.sub(r"[\s\-]+", "_", inner).upper()
    return re.sub(r"_\d{1,6}$", "", key)


def placeholders(reply: str) -> list[Placeholder]:
    """Return the placeholders of a reply, in order, with the slot that fills each.

    Args:
        reply: A redacted agent reply.

    Returns:
        The placeholders (empty when the reply can be sent as it is).

    """
    found = []
    for match in PLACEHOLDER_RE.finditer(reply):
        found.append(
            Placeholder(match.group(0), SLOT_OF_PLACEHOLDER.get(placeholder_key(match.group(0))))
        )
    return found


@dataclass(frozen=True)
class Sanitised:
    """A reply made safe to send.

    Attributes:
        text: The text, with ``{slot}`` where a slot fills a placeholder.
        slots: The slots the text interpolates (they must be set before it is sent).
        dropped_sentences: Sentences removed for a placeholder no slot can fill.

    """

    text: str
    slots: tuple[str, ...]
    dropped_sentences: int


def sanitise(reply: str, min_kept: float = 0.6) -> Sanitised | None:
    """Make a reply sendable, or refuse it.

    Slot placeholders become ``{slot}``; each sentence that holds a placeholder no slot can
    fill is dropped. The reply is refused when nothing is left or when the kept sentences
    hold less than ``min_kept`` of its characters (too much of the answer was in them).

    Args:
        reply: A redacted agent reply.
        min_kept: The share of characters that must survive.

    Returns:
        The sendable reply, or None.

    """
    text = " ".join(reply.split())
    if not text:
        return None
    kept: list[str] = []
    slots: list[str] = []
    dropped = 0
    for match in _SENTENCE_RE.finditer(text):
        sentence = match.group(0).strip()
        if not sentence:
            continue
        found = placeholders(sentence)
        if any(p.slot is None for p in found):
            dropped += 1
            continue
        for p in found:
            sentence = sentence.replace(p.text, "{" + str(p.slot) + "}")
            if p.slot not in slots:
                slots.append(str(p.slot))
        kept.append(sentence)
    result = " ".join(renumber(kept)).strip()
    if not result or len(result) < min_kept * len(text):
        return None
    return Sanitised(result, tuple(slots), dropped)


def renumber(sentences: Sequence[str]) -> list[str]:
    """Number each run of numbered steps 1, 2, 3... again once some were dropped.

    A reply whose "1. Go to {{Website Name}}." was dropped must not start its steps at "2.".
    A run is consecutive sentences that start with a number and ``.`` or ``)``; any other
    sentence ends it.

    Args:
        sentences: The kept sentences, in order.

    Returns:
        The sentences, steps renumbered.
    """
    out: list[str] = []
    step = 0
    for sentence in sentences:
        match = _STEP_RE.match(sentence)
        if match is None:
            step = 0
            out.append(sentence)
            continue
        step += 1
        out.append(f"{step}{match.group(2)}{sentence[match.end(1) + 1 :]}")
    return out


def fill_slots(sanitised: Sanitised, values: Mapping[str, object]) -> str | None:
    """Fill a sanitised reply's ``{slot}`` interpolations with the conversation's slots.

    Args:
        sanitised: A reply from :func:`sanitise`.
        values: Slot values of the conversation.

    Returns:
        The text to send, or None when one of its slots has no value.

    """
    text = sanitised.text
    for slot in sanitised.slots:
        value = values.get(slot)
        if value is None or not str(value).strip():
            return None
        text = text.replace("{" + slot + "}", " ".join(str(value).split()))
    return text
