"""Suggested replies: from a registered generator, else for the ticket's intent."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from bot.handoff import HandoffMessage, MessageAuthor, Ticket, Turn
from bot.inbox.suggest import COUNT, GENERIC, Suggester, fallback_suggestions
from bot.knowledge.chunks import Chunk
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.registry import knowledge_registry
from bot.nlg.generation.generator import Generation
from bot.nlg.generation.registry import generator_registry
from common.conversation import from_unix
from tests.support.generation import HashingEmbedder


class EchoGenerator:
    """Answers with the customer's latest message and the context size; fails guards once."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], str, str | None]] = []

    def generate(
        self, context: Sequence[Any], message: str, channel: str | None = None, **_: Any
    ) -> Generation:
        self.calls.append((list(context), message, channel))
        n = len(self.calls)
        failures = ("unsafe",) if n == 2 else ()
        return Generation(f"re: {message} #{n}", -0.5, 4, 1.0, guard_failures=failures)


def _ticket(
    intents: tuple[str, ...] = ("order_status",), latest: str = "where's my tent?"
) -> Ticket:
    now = time.time()
    return Ticket(
        id="t1",
        conversation_id="web:c1",
        channel="web",
        customer_id="c1",
        created_at=now,
        intents=intents,
        transcript=(Turn("customer", "hi", from_unix(now)), Turn("bot", "Hello!", from_unix(now))),
        messages=(HandoffMessage("m1", MessageAuthor.CUSTOMER, latest, now),),
    )


async def test_suggestions_come_from_the_generator_and_skip_guarded_replies() -> None:
    name = f"test-{uuid.uuid4().hex}"
    generator = EchoGenerator()
    generator_registry().register(generator, name)  # type: ignore[arg-type]
    try:
        replies = await Suggester(name, knowledge_name=name).suggest(_ticket())
    finally:
        generator_registry().unregister(name)
    assert replies[:2] == ["re: where's my tent? #1", "re: where's my tent? #3"]
    assert len(replies) == COUNT and replies[2] == fallback_suggestions(_ticket())[0]
    context, message, channel = generator.calls[0]
    assert [(t.role, t.text) for t in context] == [("customer", "hi"), ("agent", "Hello!")]
    assert message == "where's my tent?" and channel == "web"


async def test_without_a_generator_suggestions_fit_the_intent() -> None:
    name = f"missing-{uuid.uuid4().hex}"
    order = await Suggester(name, knowledge_name=name).suggest(_ticket(("order_status",)))
    other = await Suggester(name, knowledge_name=name).suggest(_ticket(("bot_challenge",)))
    assert len(order) == len(other) == COUNT
    assert "order number" in order[0]
    assert other == list(GENERIC)


async def test_the_help_centre_answer_comes_first_with_its_source() -> None:
    name = f"kb-{uuid.uuid4().hex}"
    chunk = Chunk.build(
        "care/down.md#0",
        "care/down.md",
        "Washing a down jacket",
        "Machine washing",
        "Yes. Wash a down jacket in a front-loading machine on a gentle cycle at 30 degrees "
        "with a down wash, then tumble dry on low with dryer balls.",
        "https://help.example/care/down",
    )
    other = Chunk.build(
        "shipping.md#0", "shipping.md", "Shipping", "", "We ship to the EU and UK.", "shipping.md"
    )
    knowledge_registry().register(KnowledgeIndex.build([chunk, other], HashingEmbedder()), name)
    try:
        ticket = _ticket(latest="can I wash a down jacket in a machine?")
        found = await Suggester(name, knowledge_name=name).suggest_with_sources(ticket)
        unanswerable = await Suggester(name, knowledge_name=name).suggest_with_sources(
            _ticket(latest="do you rent kayaks")
        )
    finally:
        knowledge_registry().unregister(name)
    assert len(found) == COUNT
    assert "front-loading machine" in found[0].text
    assert [c.source for c in found[0].sources] == ["https://help.example/care/down"]
    assert all(not s.sources for s in found[1:])
    # No confident passage: no help-centre suggestion, only the usual ones.
    assert all(not s.sources for s in unanswerable)
    assert [s.text for s in unanswerable] == fallback_suggestions(_ticket())
