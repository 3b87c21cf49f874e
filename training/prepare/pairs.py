"""Generation pairs: recent context, a customer message and the agent's reply.

One JSON object per line, the format the response generator trains on
(:class:`bot.nlg.generation.pairs.GenerationPair`, which owns the layout)::

    {"conversation_id": "c-1", "channel": "web",
     "context": [{"role": "customer", "text": "..."}, {"role": "agent", "text": "..."}],
     "customer": "...", "agent": "...", "intent": "order_status"}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from bot.nlg.generation.pairs import GenerationPair, turns_from
from training.prepare.redact import RedactedConversation


@dataclass(frozen=True)
class Pair:
    """One generation example (all texts already redacted).

    Attributes:
        conversation_id: The conversation it comes from.
        channel: The channel, or None if unknown.
        context: Up to N earlier turns, oldest first, as ``(role, text)``.
        customer: The customer's message.
        agent: The agent's reply to it.
        intent: The customer message's intent, if labelled.

    """

    conversation_id: str
    channel: str | None
    context: tuple[tuple[str, str], ...]
    customer: str
    agent: str
    intent: str | None

    def to_generation_pair(self) -> GenerationPair:
        """The pair as the generator reads it."""
        context = turns_from(self.context)
        return GenerationPair(
            self.conversation_id, self.channel, context, self.customer, self.agent, self.intent
        )

    def to_json(self) -> str:
        """Serialise as one JSON line (no trailing newline), in the generator's layout."""
        return self.to_generation_pair().to_json()

    def digest(self) -> bytes:
        """A hash of the texts, for exact-duplicate removal of pairs."""
        parts = [f"{r}\0{t}" for r, t in self.context] + [self.customer, self.agent]
        return hashlib.blake2b("\x1e".join(parts).encode(), digest_size=16).digest()


def conversation_pairs(conversation: RedactedConversation, context_turns: int) -> Iterator[Pair]:
    """Yield a pair for every customer turn answered by an agent turn.

    Args:
        conversation: A redacted conversation.
        context_turns: How many turns before the customer message to include.

    Yields:
        The pairs, in conversation order.

    """
    turns = conversation.turns
    channel = None if conversation.channel in ("", "unknown") else conversation.channel
    for i in range(len(turns) - 1):
        customer, reply = turns[i], turns[i + 1]
        if customer.role != "customer" or reply.role != "agent":
            continue
        start = max(0, i - context_turns)
        context = tuple((t.role, t.text) for t in turns[start:i]) if context_turns else ()
        yield Pair(conversation.id, channel, context, customer.text, reply.text, customer.intent)
