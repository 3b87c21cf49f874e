"""The satisfaction survey: ``action_ask_rating``, ``action_back_to_bot``, ``action_record_rating``.

After a conversation ends (the customer says goodbye: ``action_ask_rating``; an agent
resolved the ticket and gave the conversation back: ``action_back_to_bot``, which says so
and asks in one message) the bot asks for a 1–5 rating, in each channel's way: buttons
on the web widget, Slack and Telegram (payload ``/csat_rate{"csat_rating": N}``), a reply
line in email ("reply with a number from 1 to 5"). A comment may follow the number in the
same reply ("4 quick and friendly"); it is stored redacted.

Rules (docs/insights.md):

- asked at most once per conversation (Rasa session), and a conversation is rated once;
- never after an angry escalation (trigger ``negative_sentiment``) unless an agent
  resolved the ticket afterwards (intent ``handoff_resolved``);
- an answer counts within :data:`WINDOW_SECONDS` of the question, in the same session;
  out-of-range numbers and replies without a number are asked again once, politely;
  answers after the window, or without a question, are thanked and not recorded.

The rating lands in slot ``csat_rating`` and the comment in ``csat_comment``, which the
insights read from the event stream.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from common.privacy import Redactor

logger = logging.getLogger(__name__)

RATING_SLOT = "csat_rating"
COMMENT_SLOT = "csat_comment"
ASKED_SLOT = "csat_asked_at"
RATE_INTENT = "csat_rate"
WINDOW_SECONDS = 30 * 60
MAX_COMMENT_CHARS = 500
BUTTON_CHANNELS = frozenset({"web", "webchat", "slack", "telegram", "socketio"})
TEXT_CHANNELS = frozenset({"email"})
ANGRY_TRIGGER = "negative_sentiment"
RESOLVED_INTENT = "handoff_resolved"

_NUMBER = re.compile(
    r"^\s*(?:rating\s*[:=]?\s*)?(-?\d+)(?:\s*(?:/\s*5|out of 5|stars?))?\b[\s.,:;!\-–—]*(.*)$",
    re.I | re.S,
)


_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def parse_rating(text: str) -> tuple[int | None, str]:
    """The number a reply starts with, and the rest of its first paragraph (the comment).

    Args:
        text: The customer's reply.

    Returns:
        ``(number, comment)``; ``(None, "")`` when the reply does not start with a number.
    """
    first = text.strip().split("\n\n", 1)[0]
    word = first.split(maxsplit=1)
    if word and word[0].lower().strip(".,!") in _WORDS:
        first = f"{_WORDS[word[0].lower().strip('.,!')]} {word[1] if len(word) > 1 else ''}"
    match = _NUMBER.match(first)
    if match is None:
        return None, ""
    return int(match.group(1)), " ".join(match.group(2).split())[:MAX_COMMENT_CHARS]


def _session_events(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events of the current session (after the last ``session_started``)."""
    start = max(
        (i for i, e in enumerate(events) if e.get("event") == "session_started"), default=-1
    )
    return list(events[start + 1 :])


def _slot_events(events: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [e for e in events if e.get("event") == "slot" and e.get("name") == name]


def angry_unresolved(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the session escalated for anger with no agent resolve after it."""
    angry = -1
    for i, e in enumerate(events):
        value = e.get("value")
        if e.get("event") == "slot" and e.get("name") == "escalation_trigger":
            if isinstance(value, str) and value.split(":")[0] == ANGRY_TRIGGER:
                angry = i
    if angry < 0:
        return False
    return not any(
        e.get("event") == "user"
        and ((e.get("parse_data") or {}).get("intent") or {}).get("name") == RESOLVED_INTENT
        for e in events[angry + 1 :]
    )


def may_ask(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the survey may be asked now (see the module docstring)."""
    session = _session_events(events)
    asked = any(e.get("value") is not None for e in _slot_events(session, ASKED_SLOT))
    return not asked and not angry_unresolved(session)


def rating_question(channel: str | None, prefix: str = "utter_csat_ask") -> dict[str, Any]:
    """The survey message for a channel: buttons, or a reply line for email and others.

    Args:
        channel: The customer's input channel.
        prefix: The response; ``{prefix}_reply_line`` is its text-channel form.
    """
    if channel in TEXT_CHANNELS or channel not in BUTTON_CHANNELS:
        return {"response": f"{prefix}_reply_line"}
    buttons = [
        {"title": str(n), "payload": f'/{RATE_INTENT}{{"{RATING_SLOT}": {n}}}'} for n in range(1, 6)
    ]
    return {"response": prefix, "buttons": buttons}


class ActionAskRating(Action):
    """Ask for a 1–5 rating when the conversation may be surveyed.

    Args:
        clock: Returns the current Unix time.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def name(self) -> str:
        """Return the action's name in the domain."""
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the question (buttons or reply line) and remember when it was asked."""
        if not may_ask(tracker.events):
            logger.debug("No survey for %s.", tracker.sender_id)
            return []
        dispatcher.utter_message(**rating_question(tracker.get_latest_input_channel()))
        return [SlotSet(ASKED_SLOT, self.clock())]


class ActionBackToBot(Action):
    """After the agent's resolve: one message that hands back and, if allowed, asks.

    One message rather than ``utter_back_to_bot`` followed by the question, so that the
    customer sees a single reply when the conversation comes back to the bot.

    Args:
        clock: Returns the current Unix time.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def name(self) -> str:
        """Return the action's name in the domain."""
        return "action_back_to_bot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Say the bot is back; with the rating question when the survey may be asked."""
        if not may_ask(tracker.events):
            dispatcher.utter_message(response="utter_back_to_bot")
            return []
        channel = tracker.get_latest_input_channel()
        dispatcher.utter_message(**rating_question(channel, "utter_back_to_bot_rate"))
        return [SlotSet(ASKED_SLOT, self.clock())]


class ActionRecordRating(Action):
    """Record the customer's answer to the survey, or say why it was not recorded.

    Args:
        clock: Returns the current Unix time.
        redactor: Redacts the comment; built on first use by default.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, redactor: Redactor | None = None
    ) -> None:
        self.clock = clock
        self._redactor = redactor

    def name(self) -> str:
        """Return the action's name in the domain."""
        return "action_record_rating"

    def _redact(self, text: str) -> str:
        if self._redactor is None:
            self._redactor = Redactor()
        return self._redactor.redact(text).text

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Validate the answer and store it (rating slot, redacted comment slot)."""
        session = _session_events(tracker.events)
        asked = _slot_events(session, ASKED_SLOT)
        if (
            not asked
            or asked[-1].get("value") is None
            or self.clock() - float(asked[-1]["value"]) > WINDOW_SECONDS
        ):
            dispatcher.utter_message(response="utter_csat_closed")
            return []
        ratings = _slot_events(session, RATING_SLOT)
        if any(e.get("value") is not None for e in ratings):
            dispatcher.utter_message(response="utter_csat_already")
            return []
        rating, comment = self._answer(tracker)
        if rating is None or not 1 <= rating <= 5:
            if ratings:  # the second bad answer: stop asking
                dispatcher.utter_message(response="utter_csat_closed")
                return [SlotSet(ASKED_SLOT, None)]
            question = rating_question(tracker.get_latest_input_channel())
            question["response"] = (
                "utter_csat_out_of_range" if rating is not None else "utter_csat_not_a_number"
            )
            dispatcher.utter_message(**question)
            return [SlotSet(RATING_SLOT, None)]
        dispatcher.utter_message(response="utter_csat_thanks")
        events = [SlotSet(RATING_SLOT, rating)]
        if comment:
            events.append(SlotSet(COMMENT_SLOT, self._redact(comment)))
        logger.info("Rating stored for %s.", tracker.sender_id)
        return events

    @staticmethod
    def _answer(tracker: Tracker) -> tuple[int | None, str]:
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == RATING_SLOT:
                try:
                    return int(float(entity.get("value"))), ""
                except (TypeError, ValueError):
                    return None, ""
        return parse_rating(str(tracker.latest_message.get("text") or ""))
