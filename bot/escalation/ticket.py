"""Build a handoff :class:`~bot.handoff.model.Ticket` from a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.escalation.config import EscalationConfig
from bot.escalation.sentiment import SentimentAnalyzer
from bot.escalation.summary import summarize
from bot.escalation.triggers import Event, FiredTrigger, is_payload
from bot.handoff.model import Priority, Ticket
from bot.sender_id import CHANNEL_KEY, split_sender_id
from common.conversation import Role, Turn, from_unix

MAX_TRANSCRIPT_TURNS = 60
"""Turns of the bot conversation kept on the ticket (the most recent)."""

UNKNOWN_CHANNEL = "unknown"


@dataclass(frozen=True)
class Origin:
    """Where a conversation comes from.

    Attributes:
        channel: Channel name (``webchat``, ``slack``, ...).
        customer_id: The customer's id on that channel.
    """

    channel: str
    customer_id: str


def origin_of(sender_id: str, events: Sequence[Event]) -> Origin:
    """The channel and customer id of a conversation.

    The channel comes from the latest user message's metadata ``channel``, else from the
    sender id's namespace (``slack:U123``); the customer id from metadata ``customer_id``,
    else the sender id without its namespace.

    Args:
        sender_id: Rasa sender id.
        events: The conversation as event dicts.

    Returns:
        The origin.
    """
    metadata: dict[str, object] = {}
    for event in reversed(events):
        if event.get("event") == "user":
            metadata = dict(event.get("metadata") or {})
            break
    namespace, platform_id = split_sender_id(sender_id)
    channel = str(metadata.get(CHANNEL_KEY) or namespace or UNKNOWN_CHANNEL)
    customer = str(metadata.get("customer_id") or platform_id or sender_id)
    return Origin(channel, customer)


def transcript_of(events: Sequence[Event]) -> tuple[Turn, ...]:
    """The user and bot turns that have text, most recent :data:`MAX_TRANSCRIPT_TURNS`.

    Rasa's ``user`` events become :attr:`Role.CUSTOMER` turns, its ``bot`` events
    :attr:`Role.BOT` turns.

    Args:
        events: The conversation as event dicts.

    Returns:
        The transcript; button payloads such as ``/request_human`` are left out.
    """
    turns: list[Turn] = []
    for event in events:
        kind = event.get("event")
        text = str(event.get("text") or "")
        if kind not in ("user", "bot") or not text.strip():
            continue
        if kind == "user" and is_payload(text):
            continue
        role = Role.CUSTOMER if kind == "user" else Role.BOT
        turns.append(Turn(role, text, from_unix(float(event.get("timestamp") or 0))))
    return tuple(turns[-MAX_TRANSCRIPT_TURNS:])


def build_ticket(
    sender_id: str,
    events: Sequence[Event],
    triggers: Sequence[FiredTrigger],
    config: EscalationConfig,
    analyzer: SentimentAnalyzer,
    *,
    now: float,
) -> Ticket:
    """Build the queued ticket for a conversation that escalates.

    Args:
        sender_id: Rasa sender id (the ticket's conversation id).
        events: The conversation as event dicts.
        triggers: Triggers that fired, highest priority first; the first names the ticket's
            trigger, the highest priority becomes the ticket's priority.
        config: Escalation config (summary options).
        analyzer: Sentiment analyzer.
        now: Unix time of the escalation.

    Returns:
        The ticket, not yet enqueued.
    """
    origin = origin_of(sender_id, events)
    summary = summarize(events, config.summary, analyzer, triggers)
    priority = max((t.priority for t in triggers), default=int(Priority.NORMAL))
    return Ticket.new(
        conversation_id=sender_id,
        channel=origin.channel,
        customer_id=origin.customer_id,
        created_at=now,
        priority=priority,
        trigger=triggers[0].key if triggers else "",
        summary=summary.text,
        intents=summary.intents,
        sentiment=summary.sentiment,
        transcript=transcript_of(events),
    )
