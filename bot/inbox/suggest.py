"""Three suggested replies for the agent, with the help-centre sources behind them.

When the model has a knowledge index (:mod:`bot.knowledge.registry`), the first suggestion
is the help centre's answer to the customer's latest message, made by the bot's own
answering step (:func:`bot.knowledge.answering.answer_question`: the cited extract, or
with ``knowledge_writer`` the fine-tuned writer checked by the guardrails and the gate),
with its sources, so the agent
sees where it comes from. It is left out when the help centre has no confident passage.
Then, with a loaded generator (:mod:`bot.nlg.generation.registry`), the grounding index's
top past replies and replies sampled with different seeds; as a last resort replies
written for the ticket's intents. Everything runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.handoff.model import MessageAuthor, Ticket
from bot.knowledge.answering import AnswerKind, Citation
from common.conversation import Role, Turn

logger = logging.getLogger(__name__)

COUNT = 3

# Last-resort suggestions, by the ticket's latest intent.
FALLBACK: Mapping[str, Sequence[str]] = {
    "order_status": (
        "Let me check that order for you. Could you share the order number (PC-123456)?",
        "I'm looking into your order now, one moment please.",
        "Thanks for waiting. Here's what I can see about your order:",
    ),
    "complaint": (
        "I'm sorry about this, and I'll sort it out with you now.",
        "Thanks for telling us. Could you give me a few more details so I can fix it?",
        "I understand how frustrating that is. Let me see what I can do.",
    ),
}
GENERIC: Sequence[str] = (
    "Hi, I'm a member of the Pinecrest team. How can I help you today?",
    "Thanks for waiting. I've read your conversation with the assistant; let me help.",
    "Could you tell me a bit more so I can look into it?",
)


@dataclass(frozen=True)
class Suggestion:
    """A suggested reply and the help-centre passages it comes from.

    Attributes:
        text: The reply.
        sources: Its sources (empty for a past reply or a generated one).
    """

    text: str
    sources: tuple[Citation, ...] = ()


def _knowledge(
    ticket: Ticket, knowledge_name: str, generator_name: str, use_writer: bool
) -> Suggestion | None:
    """The help centre's answer to the customer's latest message, with its sources.

    The bot's own knowledge step (:class:`bot.nlg.knowledge_reply.KnowledgeResponder`),
    with the agent's channel and the friendly tone.
    """
    from bot.knowledge.registry import knowledge_registry
    from bot.nlg.generation.registry import generator_registry
    from bot.nlg.knowledge_reply import KnowledgeResponder, KnowledgeSettings

    index = knowledge_registry().get(knowledge_name)
    context, message = _conversation(ticket)
    if index is None or not message.strip():
        return None
    responder = KnowledgeResponder(
        index, generator_registry().get(generator_name), KnowledgeSettings(writer=use_writer)
    )
    answer = responder.answer(
        message,
        ticket.channel,
        "friendly",
        [text for role, text in context if role == "customer"],
    )
    if answer.kind is AnswerKind.DONT_KNOW:
        return None
    return Suggestion(answer.text, answer.citations)


def _conversation(ticket: Ticket) -> tuple[list[tuple[str, str]], str]:
    """Earlier turns as ``(role, text)`` and the customer's latest message."""
    turns: list[tuple[str, str]] = [
        ("customer" if t.role is Role.CUSTOMER else "bot", t.text) for t in ticket.transcript
    ]
    for m in ticket.messages:
        role = "customer" if m.author is MessageAuthor.CUSTOMER else m.author.value
        turns.append((role, m.text))
    for i in range(len(turns) - 1, -1, -1):
        if turns[i][0] == "customer":
            return turns[:i], turns[i][1]
    return turns, ""


def _generated(ticket: Ticket, name: str) -> list[str]:
    from bot.nlg.generation.generator import Generator
    from bot.nlg.generation.registry import generator_registry

    generator = generator_registry().get(name)
    if generator is None:
        return []
    context, message = _conversation(ticket)
    if not message:
        return []
    turns = _turns(context)
    replies: list[str] = []
    if isinstance(generator, Generator) and generator.index is not None:
        replies.extend(hit.reply for hit in generator.index.search([message], COUNT)[0])
    for seed in range(COUNT):
        if len(replies) >= COUNT:
            break
        sampler = generator
        if isinstance(generator, Generator):
            sampler = copy.copy(generator)  # shares the model and its lock
            sampler.options = dataclasses.replace(
                generator.options, temperature=max(0.7, generator.options.temperature), seed=seed
            )
        result = sampler.generate(turns, message, ticket.channel)
        if result.ok and result.text and result.text not in replies:
            replies.append(result.text)
    return replies[:COUNT]


def _turns(context: Sequence[tuple[str, str]]) -> list[Turn]:
    return [
        Turn(Role.CUSTOMER if role == "customer" else Role.AGENT, text) for role, text in context
    ]


def fallback_suggestions(ticket: Ticket) -> list[str]:
    """Suggestions for the ticket's latest intent, filled up with generic ones."""
    intent = ticket.intents[-1] if ticket.intents else ""
    replies = list(FALLBACK.get(intent, ()))
    for reply in GENERIC:
        if len(replies) >= COUNT:
            break
        if reply not in replies:
            replies.append(reply)
    return replies[:COUNT]


class Suggester:
    """Makes three suggestions per ticket.

    Args:
        generator_name: The generator's name in the process's generator registry.
        knowledge_name: The knowledge index's name in the knowledge registry.
        knowledge_writer: Let the generator write the help-centre suggestion (off: the
            cited extract, as the bot answers by default).
    """

    def __init__(
        self,
        generator_name: str = "default",
        knowledge_name: str = "default",
        knowledge_writer: bool = False,
    ) -> None:
        self.generator_name = generator_name
        self.knowledge_name = knowledge_name
        self.knowledge_writer = knowledge_writer

    async def suggest(self, ticket: Ticket) -> list[str]:
        """Three suggested replies to the customer's latest message.

        Args:
            ticket: The ticket, with transcript and messages.

        Returns:
            Three replies, best first.
        """
        return [s.text for s in await self.suggest_with_sources(ticket)]

    async def suggest_with_sources(self, ticket: Ticket) -> list[Suggestion]:
        """Three suggested replies, each with the help-centre sources behind it.

        Args:
            ticket: The ticket, with transcript and messages.

        Returns:
            Three suggestions, best first: the help centre's answer (when it has one),
            then past and generated replies, then replies for the ticket's intent.
        """
        suggestions: list[Suggestion] = []
        try:
            found = await asyncio.to_thread(
                _knowledge, ticket, self.knowledge_name, self.generator_name, self.knowledge_writer
            )
            if found is not None:
                suggestions.append(found)
        except Exception as e:  # a broken index must not break the inbox
            logger.warning(
                "Knowledge suggestion for ticket %s failed (%s).", ticket.id, type(e).__name__
            )
        try:
            replies = await asyncio.to_thread(_generated, ticket, self.generator_name)
        except Exception as e:  # a broken model must not break the inbox
            logger.warning(
                "Suggestions for ticket %s not generated (%s).", ticket.id, type(e).__name__
            )
            replies = []
        for reply in [*replies, *fallback_suggestions(ticket)]:
            if len(suggestions) >= COUNT:
                break
            if all(reply != s.text for s in suggestions):
                suggestions.append(Suggestion(reply))
        return suggestions[:COUNT]
