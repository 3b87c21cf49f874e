"""What a knowledge reply did, as its bot message records it (no heavy imports).

The NLG endpoint (:mod:`bot.nlg.knowledge_reply`) writes ``metadata.knowledge`` on every
knowledge reply; the escalation triggers, the insights and the conversation replay read
its ``outcome`` back with :func:`knowledge_outcome`. The action server imports this module
through the triggers, so it must stay free of torch and the models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KNOWLEDGE_KEY = "knowledge"
"""The message metadata key (``BotUttered.metadata``) of a knowledge reply."""

ANSWER = "answer"
"""The written answer passed every check."""
EXTRACT = "extract"
"""An extract of the best passage, cited."""
DONT_KNOW = "dont_know"
"""No confident passage: the honest "I don't know" and the offer of a person."""


def knowledge_outcome(metadata: Mapping[str, Any] | None) -> str | None:
    """Return the ``knowledge.outcome`` of a bot message's metadata, if it has one.

    Args:
        metadata: The bot message's metadata (None or anything else: no outcome).

    Returns:
        ``answer``, ``extract``, ``dont_know``, ``unavailable``, ``no_message``,
        ``timeout``, or None for a message that was not a knowledge reply.
    """
    if not isinstance(metadata, Mapping):
        return None
    knowledge = metadata.get(KNOWLEDGE_KEY)
    if not isinstance(knowledge, Mapping):
        return None
    outcome = knowledge.get("outcome")
    return str(outcome) if outcome else None
