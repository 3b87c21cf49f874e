"""Pure functions that decide whether a conversation should go to a person.

They read a conversation as Rasa event dicts (``Event.as_dict()`` in Rasa, or
``tracker.events`` in rasa-sdk, which are the same dicts), so the policy inside Rasa and
``action_escalate`` in the action server share one set of rules. Only the latest user
turn is judged; counts ("N times in a row") start after the last handoff, resume,
restart or session start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.escalation.config import (
    EscalationConfig,
    ExplicitRequestConfig,
    GenerationGuardConfig,
    KnowledgeGapConfig,
    LowConfidenceConfig,
    RepeatedFallbackConfig,
)
from bot.escalation.sensitive import SensitiveTopicMatcher
from bot.escalation.sentiment import SentimentAnalyzer
from bot.knowledge.outcome import ANSWER, DONT_KNOW, EXTRACT, knowledge_outcome

Event = Mapping[str, Any]

ESCALATE_ACTION = "action_escalate"
TRIGGER_SLOT = "escalation_trigger"
"""Slot the policy fills with :attr:`FiredTrigger.key` for ``action_escalate``."""

EXPLICIT_REQUEST = "asked_for_human"
LOW_CONFIDENCE = "low_confidence"
NEGATIVE_SENTIMENT = "negative_sentiment"
SENSITIVE_TOPIC = "sensitive_topic"
GENERATION_GUARD = "generation_guard_failed"
KNOWLEDGE_GAP = "knowledge_gap"
"""The bot did not know (``bot.knowledge.gate.KNOWLEDGE_GAP_TRIGGER``)."""
REPEATED_FALLBACK = "repeated_fallback"

_RESET_EVENTS = frozenset({"resume", "restart", "session_started"})
_PAYLOAD = re.compile(r"^\s*/([\w.-]+)")


@dataclass(frozen=True)
class FiredTrigger:
    """A trigger that fired on the latest user turn.

    Attributes:
        name: Trigger name, e.g. ``low_confidence``.
        priority: Ticket priority it asks for.
        reason: Short explanation for the agent; never quotes the customer.
        detail: Extra key, e.g. the sensitive topic's name.
    """

    name: str
    priority: int
    reason: str
    detail: str | None = None

    @property
    def key(self) -> str:
        """``name`` or ``name:detail``; the value of the ``escalation_trigger`` slot."""
        return f"{self.name}:{self.detail}" if self.detail else self.name


# -- reading the conversation ----------------------------------------------------------


def since_last_handback(events: Sequence[Event]) -> list[Event]:
    """Events after the last escalation, resume, restart or session start.

    Args:
        events: The conversation.

    Returns:
        The events that count towards "N times" triggers.
    """
    start = 0
    for i, event in enumerate(events):
        kind = event.get("event")
        if kind in _RESET_EVENTS or (kind == "action" and event.get("name") == ESCALATE_ACTION):
            start = i + 1
    return list(events[start:])


def latest_user_index(events: Sequence[Event]) -> int | None:
    """Index of the latest user event, ``None`` when there is none."""
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "user":
            return i
    return None


def user_text(event: Event) -> str:
    """The text of a user event ("" when it has none)."""
    return str(event.get("text") or "")


def intent_of(event: Event) -> tuple[str | None, float]:
    """The top intent of a user event and its confidence.

    Args:
        event: A user event.

    Returns:
        ``(name, confidence)``; ``(None, 0.0)`` without NLU data.
    """
    parse = event.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name = intent.get("name")
    confidence = intent.get("confidence")
    return (str(name) if name else None, float(confidence) if confidence is not None else 0.0)


def is_payload(text: str) -> bool:
    """Whether a message is an intent payload such as ``/request_human`` (a button)."""
    return _PAYLOAD.match(text) is not None


def bot_turns(events: Sequence[Event]) -> list[list[Event]]:
    """Split events into bot turns: the non-user events between user events.

    Args:
        events: The conversation (or a slice of it).

    Returns:
        One list per gap between user events, including before the first one.
    """
    turns: list[list[Event]] = [[]]
    for event in events:
        if event.get("event") == "user":
            turns.append([])
        else:
            turns[-1].append(event)
    return turns


# -- the triggers ----------------------------------------------------------------------


def explicit_request(user: Event, cfg: ExplicitRequestConfig) -> FiredTrigger | None:
    """The customer asked for a person (intent or ``/request_human`` payload)."""
    name, _ = intent_of(user)
    payload = _PAYLOAD.match(user_text(user))
    if name in cfg.intents or (payload is not None and payload.group(1) in cfg.intents):
        return FiredTrigger(EXPLICIT_REQUEST, cfg.priority, "customer asked for a person")
    return None


def _low(user: Event, cfg: LowConfidenceConfig, explicit: tuple[str, ...]) -> bool:
    name, confidence = intent_of(user)
    if name is None or name in explicit:
        return False
    return name in cfg.intents or confidence < cfg.confidence_below


_HANDLED = (ANSWER, EXTRACT, DONT_KNOW)


def _answered_from_knowledge(events: Sequence[Event]) -> set[int]:
    """The user events (by ``id``) the knowledge base handled.

    An open question that no intent recognises (``nlu_fallback``) and that the help centre
    answered (``knowledge.outcome`` ``answer`` or ``extract`` on the bot's next message) was
    understood, so it does not count towards :func:`low_confidence`. One it could not
    answer (``dont_know``: the bot said so and offered a person) is counted by
    :func:`knowledge_gap` instead, so the two triggers do not count the same message.
    """
    answered: set[int] = set()
    last_user: Event | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            last_user = event
        elif kind == "bot" and last_user is not None:
            if knowledge_outcome(event.get("metadata")) in _HANDLED:
                answered.add(id(last_user))
    return answered


def low_confidence(
    events: Sequence[Event], cfg: LowConfidenceConfig, explicit_intents: tuple[str, ...] = ()
) -> FiredTrigger | None:
    """The last ``times_in_a_row`` user messages were all not understood.

    A message the knowledge base handled (answered, or honestly declined: see
    :func:`knowledge_gap`) does not count, whatever its intent.

    Args:
        events: Events since the last handback (see :func:`since_last_handback`).
        cfg: The trigger's config.
        explicit_intents: Intents that ask for a person; they never count as not understood.

    Returns:
        The fired trigger or ``None``.
    """
    users = [e for e in events if e.get("event") == "user"]
    answered = _answered_from_knowledge(events)
    recent = users[-cfg.times_in_a_row :]
    if len(recent) < cfg.times_in_a_row or not all(
        _low(u, cfg, explicit_intents) and id(u) not in answered for u in recent
    ):
        return None
    return FiredTrigger(
        LOW_CONFIDENCE,
        cfg.priority,
        f"bot did not understand {cfg.times_in_a_row} messages in a row",
    )


def generation_guard(events: Sequence[Event], cfg: GenerationGuardConfig) -> FiredTrigger | None:
    """The bot's last turn before the latest user message had failed generation guards.

    Args:
        events: The conversation, ending with (or after) the latest user message.
        cfg: The trigger's config.

    Returns:
        The fired trigger or ``None``.
    """
    last_user = latest_user_index(events)
    if last_user is None:
        return None
    turns = bot_turns(events[:last_user])
    failures: list[str] = []
    for event in turns[-1]:
        if event.get("event") != "bot":
            continue
        generation = (event.get("metadata") or {}).get("generation") or {}
        failures.extend(
            str(f)
            for f in generation.get("guard_failures") or ()
            if str(f) not in cfg.ignore_failures
        )
    if len(failures) < cfg.min_failures:
        return None
    checks = ", ".join(sorted(set(failures)))
    return FiredTrigger(GENERATION_GUARD, cfg.priority, f"generated reply failed guards: {checks}")


def knowledge_gap(events: Sequence[Event], cfg: KnowledgeGapConfig) -> FiredTrigger | None:
    """The bot said "I don't know" ``times`` times before the latest user message.

    A knowledge reply's ``knowledge.outcome`` metadata (written by the NLG endpoint,
    :mod:`bot.nlg.knowledge_reply`) is ``dont_know`` when the answer gate found no
    confident passage.

    Args:
        events: Events since the last handback (see :func:`since_last_handback`).
        cfg: The trigger's config.

    Returns:
        The fired trigger or ``None``.
    """
    last_user = latest_user_index(events)
    if last_user is None:
        return None
    count = sum(
        1
        for event in events[:last_user]
        if event.get("event") == "bot" and knowledge_outcome(event.get("metadata")) == DONT_KNOW
    )
    if count < cfg.times:
        return None
    return FiredTrigger(
        KNOWLEDGE_GAP, cfg.priority, f"the bot did not know the answer {count} times"
    )


def _is_fallback(event: Event, actions: tuple[str, ...]) -> bool:
    kind = event.get("event")
    if kind == "action":
        return event.get("name") in actions
    if kind == "bot":
        return (event.get("metadata") or {}).get("utter_action") in actions
    return False


def repeated_fallback(events: Sequence[Event], cfg: RepeatedFallbackConfig) -> FiredTrigger | None:
    """The bot fell back in ``times`` turns before the latest user message.

    Args:
        events: Events since the last handback (see :func:`since_last_handback`).
        cfg: The trigger's config.

    Returns:
        The fired trigger or ``None``.
    """
    last_user = latest_user_index(events)
    if last_user is None:
        return None
    count = sum(
        1
        for turn in bot_turns(events[:last_user])
        if any(_is_fallback(e, cfg.actions) for e in turn)
    )
    if count < cfg.times:
        return None
    return FiredTrigger(REPEATED_FALLBACK, cfg.priority, f"bot fell back {count} times")


def configured_priority(config: EscalationConfig, key: str) -> int:
    """The priority ``escalation.yml`` gives a trigger key such as ``sensitive_topic:fraud``.

    Args:
        config: The escalation config.
        key: A :attr:`FiredTrigger.key`.

    Returns:
        The priority; 0 for an unknown key.
    """
    name, _, detail = key.partition(":")
    if name == SENSITIVE_TOPIC:
        return next((t.priority for t in config.sensitive_topics.topics if t.name == detail), 0)
    by_name = {
        EXPLICIT_REQUEST: config.explicit_request.priority,
        LOW_CONFIDENCE: config.low_confidence.priority,
        NEGATIVE_SENTIMENT: config.negative_sentiment.priority,
        GENERATION_GUARD: config.generation_guard.priority,
        KNOWLEDGE_GAP: config.knowledge_gap.priority,
        REPEATED_FALLBACK: config.repeated_fallback.priority,
    }
    return by_name.get(name, 0)


# -- all together ----------------------------------------------------------------------


class TriggerEvaluator:
    """Evaluates every configured trigger on a conversation.

    Args:
        config: The escalation config.
        analyzer: Sentiment analyzer; built from the config when omitted.
    """

    def __init__(self, config: EscalationConfig, analyzer: SentimentAnalyzer | None = None) -> None:
        self.config = config
        self._analyzer = analyzer
        self._matcher = SensitiveTopicMatcher(config.sensitive_topics.topics)

    @property
    def analyzer(self) -> SentimentAnalyzer:
        """The sentiment analyzer (VADER's lexicon is loaded on first use)."""
        if self._analyzer is None:
            self._analyzer = SentimentAnalyzer(self.config.negative_sentiment)
        return self._analyzer

    def evaluate(self, events: Sequence[Event]) -> list[FiredTrigger]:
        """Every trigger that fires on the latest user turn, highest priority first.

        Args:
            events: The whole conversation as event dicts.

        Returns:
            The fired triggers; ties keep the order explicit request, sensitive topic,
            negative sentiment, generation guard, knowledge gap, low confidence, repeated
            fallback.
        """
        recent = since_last_handback(events)
        index = latest_user_index(recent)
        if index is None:
            return []
        user = recent[index]
        text = user_text(user)
        cfg = self.config
        fired: list[FiredTrigger] = []
        if cfg.explicit_request.enabled:
            fired.extend(_present(explicit_request(user, cfg.explicit_request)))
        if text and not is_payload(text):
            if cfg.sensitive_topics.enabled:
                fired.extend(
                    FiredTrigger(
                        SENSITIVE_TOPIC, m.priority, f"sensitive topic: {m.topic}", m.topic
                    )
                    for m in self._matcher.matches(text)
                )
            if cfg.negative_sentiment.enabled:
                score = self.analyzer.score(text)
                if score.escalate:
                    cues = f"; cues: {', '.join(score.cues)}" if score.cues else ""
                    fired.append(
                        FiredTrigger(
                            NEGATIVE_SENTIMENT,
                            cfg.negative_sentiment.priority,
                            f"negative sentiment (compound {score.compound:.2f}{cues})",
                        )
                    )
        if cfg.generation_guard.enabled:
            fired.extend(_present(generation_guard(recent, cfg.generation_guard)))
        if cfg.knowledge_gap.enabled:
            fired.extend(_present(knowledge_gap(recent, cfg.knowledge_gap)))
        if cfg.low_confidence.enabled:
            fired.extend(
                _present(low_confidence(recent, cfg.low_confidence, cfg.explicit_request.intents))
            )
        if cfg.repeated_fallback.enabled:
            fired.extend(_present(repeated_fallback(recent, cfg.repeated_fallback)))
        return sorted(fired, key=lambda t: -t.priority)

    def first(self, events: Sequence[Event]) -> FiredTrigger | None:
        """The highest-priority trigger that fires on the latest user turn, if any.

        Args:
            events: The whole conversation as event dicts.

        Returns:
            The trigger or ``None``.
        """
        fired = self.evaluate(events)
        return fired[0] if fired else None


def _present(trigger: FiredTrigger | None) -> Iterable[FiredTrigger]:
    return () if trigger is None else (trigger,)
