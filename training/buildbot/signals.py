"""What an agent's reply says besides its content: placeholders, a question, a handoff.

Pure functions over one redacted reply, so mining and its tests share them:

- :func:`placeholders`: ``[ORDER_ID_1]``, ``{{Order Number}}``, ``<NAME>`` in a reply, each
  with the slot that can fill it (``order_number``) or ``None`` when nothing the bot knows
  can (a person's name, the support hours).
- :func:`sanitise`: a reply a customer may receive: slot placeholders become Rasa's
  ``{slot}`` interpolation, sentences with a placeholder no slot can fill are dropped, and a
  reply that loses too much is refused.
- :func:`asked_slot`: the slot a reply asks the customer for ("What's your order number?").
- :func:`is_handoff`: whether a reply hands the conversation to another person or team.
"""

from __future__ import annotations

import re
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

# What agents ask for, as (slot, pattern). The first match wins; the patterns look for a
# request ("what is", "could you", "please send") near the thing asked for.
_REQUEST = (
    r"(?:what(?:'s| is| was)|could you|can you|would you|may i (?:have|ask)|"
    r"please (?:send|share|provide|give|confirm|tell)|provide|share|send|confirm|"
    r"let me know|tell me|do you have)"
)
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (slot, re.compile(rf"\b{_REQUEST}\b[^.?!]{{0,60}}?\b(?:{noun})\b", re.IGNORECASE))
    for slot, noun in (
        ("order_number", r"order (?:number|no|id|reference)|order #"),
        ("tracking_number", r"tracking (?:number|code|id)"),
        ("invoice_number", r"invoice (?:number|no)"),
        ("account_number", r"account (?:number|id)"),
        ("email", r"e-?mail(?: address)?"),
        ("phone_number", r"phone number|mobile number|contact number"),
        ("postcode", r"post ?code|zip(?: code)?"),
        ("address", r"(?:delivery |shipping |postal )?address"),
        ("date", r"date|which day|what day"),
        ("time", r"what time|which time|time"),
        ("party_size", r"how many (?:people|guests|persons|tickets|seats)"),
        ("city", r"city|location|where (?:are|will) you"),
    )
)
_HOW_MANY = re.compile(
    r"\bhow many (?:people|guests|persons|tickets|seats|adults)\b", re.IGNORECASE
)
_HANDOFF = re.compile(
    r"\b(?:transfer(?:ring)? you|connect(?:ing)? you (?:with|to)|escalat(?:e|ed|ing)|"
    r"pass(?:ing)? (?:you|this|your (?:case|request|query)) (?:on |over )?to|"
    r"hand(?:ing)? (?:you|this) over|forward(?:ing|ed)? (?:this|your (?:case|request|query)) to|"
    r"(?:a|my|our) (?:colleague|specialist|supervisor|manager|team member|human agent|"
    r"live agent) will (?:contact|call|reach|get back|help|be with|join)|"
    r"put you through)\b",
    re.IGNORECASE,
)
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
    result = " ".join(kept).strip()
    if not result or len(result) < min_kept * len(text):
        return None
    return Sanitised(result, tuple(slots), dropped)


def asked_slot(reply: str) -> str | None:
    """Return the slot a reply asks the customer for, or None.

    Only replies with a question mark, or a polite request ("please send your order
    number."), count; the first slot pattern that matches wins.

    Args:
        reply: A redacted agent reply.

    Returns:
        A slot name such as ``order_number``, or None.

    """
    lowered = reply.lower()
    if "?" not in reply and "please" not in lowered:
        return None
    if _HOW_MANY.search(reply):
        return "party_size"
    for slot, pattern in _ASKS:
        if pattern.search(reply):
            return slot
    return None


def is_handoff(reply: str) -> bool:
    """Whether a reply hands the conversation over to another person or team.

    Args:
        reply: A redacted agent reply.

    Returns:
        True for "I'm transferring you to a colleague", "let me escalate this" and the like.

    """
    return bool(_HANDOFF.search(reply))
