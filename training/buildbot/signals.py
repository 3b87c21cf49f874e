"""What an agent's reply asks or does besides its content: a question, a handoff.

Pure functions over one redacted reply, so mining and its tests share them (placeholders
and :func:`~common.placeholders.sanitise` live in :mod:`common.placeholders`, which the
runtime's past-reply route shares):

- :func:`asked_slot`: the slot a reply asks the customer for ("What's your order number?").
- :func:`is_handoff`: whether a reply hands the conversation to another person or team.
"""

from __future__ import annotations

import re

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
# A request to confirm what the bot or the screen shows ("Is the order correct on the
# screen?", "Just confirm the order all looks correct", "Let me know if that looks right").
# Its own wording is a request, so it needs no question mark or "please".
_CONFIRM = re.compile(
    r"\b(?:confirm|double-?check|verify|make sure|let me know if|check (?:if|whether|that|on))"
    r"\b[^.?!]{0,80}?\b(?:correct|right|accurate|ok(?:ay)?|good)\b"
    r"|\b(?:is|does|do|are)\b[^.?!]{0,60}?\b(?:correct|right|accurate)\b[^.?!]{0,30}\?",
    re.IGNORECASE,
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


def asked_slot(reply: str) -> str | None:
    """Return the slot a reply asks the customer for, or None.

    Only replies with a question mark, or a polite request ("please send your order
    number."), count; the first slot pattern that matches wins. A request to confirm what
    the customer sees ("Is the order correct on the screen?") asks for ``confirmation``
    when no other slot is asked for.

    Args:
        reply: A redacted agent reply.

    Returns:
        A slot name such as ``order_number``, or None.

    """
    lowered = reply.lower()
    if "?" in reply or "please" in lowered:
        if _HOW_MANY.search(reply):
            return "party_size"
        for slot, pattern in _ASKS:
            if pattern.search(reply):
                return slot
    return "confirmation" if _CONFIRM.search(reply) else None


def is_handoff(reply: str) -> bool:
    """Whether a reply hands the conversation over to another person or team.

    Args:
        reply: A redacted agent reply.

    Returns:
        True for "I'm transferring you to a colleague", "let me escalate this" and the like.

    """
    return bool(_HANDOFF.search(reply))
