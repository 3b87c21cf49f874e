"""The past-reply route: answer with what the company's agents said to the nearest question.

For an intent whose agents' replies disagree too much for one fixed response (``training
build-bot`` routes it here, see docs/build-bot.md), the bot answers as a retrieval system:
among the past conversations *of the intent the bot recognised*, it finds the customer
message nearest to the customer's (MiniLM cosine, the generator's grounding index) and
sends the agent's reply to it. Nothing is written by a model, so nothing can be invented.

A past reply is sent only when it is safe:

- its question is at least ``min_score`` similar to the customer's (below that, the caller
  generates instead);
- it is made sendable by :func:`common.placeholders.sanitise` (sentences with a placeholder
  no slot fills are dropped, and a reply that loses too much is skipped);
- its ``{slot}`` interpolations are filled from the conversation's slots (a reply needing a
  slot the conversation lacks is skipped);
- the generator's PII guard passes (no personal data the customer did not give).

The first of the ``candidates`` nearest replies that passes is sent.

After a form (the customer answered the bot's question, "yes, that's right" or an order
number), the NLG endpoint searches without an intent: the answer is matched against other
customers' answers to the same question, and the agents' replies to them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rasa.shared.core.events import ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg.generation.grounding import GroundingIndex
from common.errors import ConfigError
from common.placeholders import fill_slots, sanitise

logger = logging.getLogger(__name__)

PAST_REPLY_KEY = "past_reply"


class PiiGuard(Protocol):
    """The PII check of the generator's guardrails (:class:`Guardrails`)."""

    def pii(self, text: str, customer_texts: Sequence[str]) -> list[str]:
        """Return failures for personal data in ``text`` that the customer did not give."""
        ...


@dataclass(frozen=True)
class PastReplySettings:
    """Settings of the past-reply route.

    Attributes:
        min_score: Least cosine similarity of the past question to the customer's message
            (the grounding floor of the generator's prompt, 0.35, by default).
        candidates: Nearest past replies tried, best first, before giving up.
        min_kept: Share of a reply's characters that must survive placeholder removal.
        within_intent: Search only the recognised intent's conversations when the index
            has pairs labelled with it.
    """

    min_score: float = 0.35
    candidates: int = 10
    min_kept: float = 0.6
    within_intent: bool = True

    def __post_init__(self) -> None:
        if not -1.0 <= self.min_score <= 1.0:
            raise ConfigError("past reply: min_score must be in [-1, 1]")
        if self.candidates < 1:
            raise ConfigError("past reply: candidates must be at least 1")
        if not 0.0 < self.min_kept <= 1.0:
            raise ConfigError("past reply: min_kept must be in (0, 1]")


@dataclass(frozen=True)
class PastReply:
    """A past agent reply chosen for a customer message.

    Attributes:
        text: The reply to send (placeholders removed, slots filled).
        score: Cosine similarity of its question to the customer's message.
        conversation_id: The conversation it comes from.
        intent: The intent the search was restricted to, if any.
        rank: Its rank among the nearest replies (0: the nearest).
        dropped_sentences: Sentences removed for a placeholder no slot fills.
    """

    text: str
    score: float
    conversation_id: str
    intent: str | None
    rank: int
    dropped_sentences: int

    def metadata(self) -> dict[str, object]:
        """The reply's facts for the message's metadata (no text)."""
        return {
            "score": round(self.score, 4),
            "conversation_id": self.conversation_id,
            "intent": self.intent,
            "rank": self.rank,
            "dropped_sentences": self.dropped_sentences,
        }


def answered_a_form(tracker: DialogueStateTracker) -> bool:
    """Whether a form (an active loop) handled the latest user message.

    Such a message answered the bot's question: it is a slot value, whatever intent NLU
    gave it. The NLG endpoint then searches past replies without an intent, and the
    conversation replay does not count the turn as a fallback.

    Args:
        tracker: The conversation.

    Returns:
        True when an active-loop event follows the latest user message.
    """
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, ActiveLoop):
            return True
    return False


def find_past_reply(
    index: GroundingIndex,
    message: str,
    *,
    intent: str | None,
    slots: Mapping[str, object],
    customer_texts: Sequence[str],
    guard: PiiGuard | None,
    settings: PastReplySettings,
) -> PastReply | None:
    """Return the nearest sendable past reply to ``message``, or None.

    Blocking (one MiniLM encoding): call it from a worker thread in async code.

    Args:
        index: The generator's grounding index.
        message: The customer's latest message.
        intent: The recognised intent.
        slots: The conversation's slot values.
        customer_texts: Everything the customer wrote (personal data in them may be repeated).
        guard: The PII guard; None: no PII check (the replies are redacted already).
        settings: Thresholds.

    Returns:
        The reply, or None when no near enough past reply can be sent.
    """
    restrict = intent if settings.within_intent and intent in index.intents() else None
    hits = index.search([message], settings.candidates, settings.min_score, intent=restrict)[0]
    for rank, hit in enumerate(hits):
        sendable = sanitise(hit.reply, settings.min_kept)
        if sendable is None:
            continue
        text = fill_slots(sendable, slots)
        if text is None:
            continue
        if guard is not None and guard.pii(text, customer_texts):
            continue
        return PastReply(
            text, hit.score, hit.conversation_id, restrict, rank, sendable.dropped_sentences
        )
    logger.debug(
        "No sendable past reply among %d candidates (intent restricted: %s).",
        len(hits),
        restrict is not None,
    )
    return None
