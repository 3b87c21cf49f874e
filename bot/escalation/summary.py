"""A short extractive summary of the conversation for the agent who picks it up.

Nothing is generated: the summary quotes the customer's most informative messages (those
with an order number, the most negative, the longest; greetings, thanks and yes/no are
skipped) in their original order, and lists
the detected intents, the order numbers, why the bot escalated and the sentiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.escalation.config import SummaryConfig
from bot.escalation.sentiment import SentimentAnalyzer
from bot.escalation.triggers import Event, FiredTrigger, intent_of, is_payload, user_text

_IGNORED_INTENTS = frozenset({"greet", "goodbye", "thank_you", "affirm", "deny"})


@dataclass(frozen=True)
class ConversationSummary:
    """What the agent reads first.

    Attributes:
        key_messages: Customer messages quoted, in conversation order.
        intents: Detected intents, first occurrence order.
        order_numbers: Order numbers found, canonical ``PC-123456`` form.
        sentiment: Lowest VADER compound score of the customer's messages.
        text: The summary as one short text.
    """

    key_messages: tuple[str, ...]
    intents: tuple[str, ...]
    order_numbers: tuple[str, ...]
    sentiment: float | None
    text: str


def detected_intents(events: Sequence[Event]) -> tuple[str, ...]:
    """Intents of the customer's messages, each once, in first-seen order.

    Args:
        events: The conversation as event dicts.

    Returns:
        The intents.
    """
    seen: dict[str, None] = {}
    for event in events:
        if event.get("event") == "user":
            name, _ = intent_of(event)
            if name:
                seen.setdefault(name, None)
    return tuple(seen)


def order_numbers(events: Sequence[Event], cfg: SummaryConfig) -> tuple[str, ...]:
    """Order numbers the customer mentioned (entities first, then the regex).

    Args:
        events: The conversation as event dicts.
        cfg: Summary config with the order number pattern.

    Returns:
        Canonical order numbers (``PC-`` and six digits), each once.
    """
    found: dict[str, None] = {}
    for event in events:
        if event.get("event") != "user":
            continue
        entities = (event.get("parse_data") or {}).get("entities") or []
        raw = [str(e.get("value")) for e in entities if e.get("entity") == "order_number"]
        raw.extend(m.group(0) for m in cfg.order_number_pattern.finditer(user_text(event)))
        for value in raw:
            digits = "".join(ch for ch in value if ch.isdigit())
            if len(digits) == 6:
                found.setdefault(f"PC-{digits}", None)
    return tuple(found)


def summarize(
    events: Sequence[Event],
    cfg: SummaryConfig,
    analyzer: SentimentAnalyzer,
    triggers: Sequence[FiredTrigger] = (),
) -> ConversationSummary:
    """Summarize a conversation for the agent.

    Args:
        events: The conversation as event dicts.
        cfg: Summary config.
        analyzer: Scores each customer message.
        triggers: Triggers that fired, highest priority first.

    Returns:
        The summary.
    """
    messages = [
        user_text(e)
        for e in events
        if e.get("event") == "user"
        and user_text(e).strip()
        and not is_payload(user_text(e))
        and intent_of(e)[0] not in _IGNORED_INTENTS
    ]
    scores = [analyzer.compound(m) for m in messages]
    # Messages with an order number first, then the most negative, then the longest.
    ranked = sorted(
        range(len(messages)),
        key=lambda i: (
            cfg.order_number_pattern.search(messages[i]) is None,
            scores[i],
            -len(messages[i]),
        ),
    )
    keep = sorted(ranked[: cfg.max_messages])
    quoted = tuple(_clip(messages[i], cfg.max_chars) for i in keep)
    intents = detected_intents(events)
    orders = order_numbers(events, cfg)
    sentiment = min(scores) if scores else None

    lines: list[str] = []
    if triggers:
        lines.append("Escalated: " + "; ".join(t.reason for t in triggers) + ".")
    shown = [i for i in intents if i not in _IGNORED_INTENTS]
    if shown:
        lines.append("Intents: " + ", ".join(shown) + ".")
    if orders:
        lines.append("Orders: " + ", ".join(orders) + ".")
    if sentiment is not None:
        lines.append(f"Sentiment: {sentiment:.2f} ({_label(sentiment)}).")
    if quoted:
        lines.append("Customer said: " + " / ".join(f'"{q}"' for q in quoted))
    return ConversationSummary(quoted, intents, orders, sentiment, "\n".join(lines))


def _label(compound: float) -> str:
    if compound <= -0.5:
        return "very negative"
    if compound < -0.05:
        return "negative"
    if compound > 0.05:
        return "positive"
    return "neutral"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
