"""Conversations rebuilt from generation pairs: each customer turn with the agent's answer.

``prepare`` writes one pair per customer turn that an agent answered, in conversation order
(redacted). Grouping them by conversation id gives the exchanges that mining needs (the
opener and the agent's first reply, the customer's answer and the agent's second reply) and
the held-out conversations that ``python -m training.evaluate conversations`` replays.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bot.nlg.generation.pairs import GenerationPair, read_pairs
from training.rasa_yaml import example_text


@dataclass(frozen=True)
class Exchange:
    """A customer turn and the agent's reply to it (both redacted).

    Attributes:
        customer: The customer's message.
        agent: The agent's reply.
        intent: The customer message's intent, if known.

    """

    customer: str
    agent: str
    intent: str | None


@dataclass(frozen=True)
class Flow:
    """One conversation as exchanges, oldest first.

    Attributes:
        conversation_id: The conversation's id.
        channel: Its channel, if known.
        exchanges: The answered customer turns.

    """

    conversation_id: str
    channel: str | None
    exchanges: tuple[Exchange, ...]

    @property
    def opener(self) -> Exchange:
        """The first answered customer turn."""
        return self.exchanges[0]


def opener_key(text: str) -> str:
    """The key under which an opener is matched to its discovered intent."""
    return example_text(text).casefold()


def flows_from_pairs(pairs: Iterable[GenerationPair]) -> list[Flow]:
    """Group pairs (in file order) into conversations, in order of first appearance.

    Args:
        pairs: Generation pairs.

    Returns:
        One flow per conversation id.

    """
    grouped: dict[str, list[GenerationPair]] = {}
    for pair in pairs:
        grouped.setdefault(pair.conversation_id, []).append(pair)
    return [
        Flow(cid, group[0].channel, tuple(Exchange(p.customer, p.agent, p.intent) for p in group))
        for cid, group in grouped.items()
    ]


def read_flows(path: Path) -> list[Flow]:
    """Read a pairs file into flows (an absent file gives none)."""
    return flows_from_pairs(read_pairs(path)) if path.is_file() else []


def label_openers(flows: Iterable[Flow], intent_of: Mapping[str, str]) -> list[Flow]:
    """Give each unlabelled opener the intent its text was assigned in discovery.

    Args:
        flows: The conversations.
        intent_of: :func:`opener_key` of an opener's text -> intent.

    Returns:
        The flows, openers labelled where discovery placed them.

    """
    labelled = []
    for flow in flows:
        first = flow.opener
        intent = first.intent or intent_of.get(opener_key(first.customer))
        if intent != first.intent:
            first = replace(first, intent=intent)
            flow = replace(flow, exchanges=(first, *flow.exchanges[1:]))
        labelled.append(flow)
    return labelled


def conversations_jsonl(flows: Iterable[Flow]) -> str:
    """Render flows in the ingest JSONL layout (customer and agent turns, intents kept).

    Args:
        flows: The conversations.

    Returns:
        One JSON conversation per line.

    """
    lines = []
    for flow in flows:
        turns: list[dict[str, str]] = []
        for exchange in flow.exchanges:
            turn = {"role": "customer", "text": exchange.customer}
            if exchange.intent:
                turn["intent"] = exchange.intent
            turns.append(turn)
            turns.append({"role": "agent", "text": exchange.agent})
        record = {"id": flow.conversation_id, "channel": flow.channel or "unknown", "turns": turns}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def pairs_jsonl(flows: Iterable[Flow], source: Iterable[GenerationPair]) -> str:
    """The pairs file with discovered opener intents filled in.

    Args:
        flows: Labelled flows (from :func:`label_openers`).
        source: The pairs they were built from, in the same order.

    Returns:
        The JSONL text.

    """
    opener_intent = {f.conversation_id: f.opener.intent for f in flows}
    seen: set[str] = set()
    lines = []
    for pair in source:
        if pair.conversation_id not in seen:
            seen.add(pair.conversation_id)
            if pair.intent is None and opener_intent.get(pair.conversation_id):
                pair = replace(pair, intent=opener_intent[pair.conversation_id])
        lines.append(pair.to_json() + "\n")
    return "".join(lines)
