"""Suggested replies: from a registered generator, else for the ticket's intent."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from bot.handoff import HandoffMessage, MessageAuthor, Ticket, Turn
from bot.inbox.suggest import COUNT, GENERIC, Suggester, fallback_suggestions
from bot.nlg.generation.generator import Generation
from bot.nlg.generation.registry import generator_registry
from common.conversation import from_unix


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


def _ticket(intents: tuple[str, ...] = ("order_status",)) -> Ticket:
    now = time.time()
    return Ticket(
        id="t1",
        conversation_id="web:c1",
        channel="web",
        customer_id="c1",
        created_at=now,
        intents=intents,
        transcript=(Turn("customer", "hi", from_unix(now)), Turn("bot", "Hello!", from_unix(now))),
        messages=(HandoffMessage("m1", MessageAuthor.CUSTOMER, "where's my tent?", now),),
    )


async def test_suggestions_come_from_the_generator_and_skip_guarded_replies() -> None:
    name = f"test-{uuid.uuid4().hex}"
    generator = EchoGenerator()
    generator_registry().register(generator, name)  # type: ignore[arg-type]
    try:
        replies = await Suggester(name).suggest(_ticket())
    finally:
        generator_registry().unregister(name)
    assert replies[:2] == ["re: where's my tent? #1", "re: where's my tent? #3"]
    assert len(replies) == COUNT and replies[2] == fallback_suggestions(_ticket())[0]
    context, message, channel = generator.calls[0]
    assert [(t.role, t.text) for t in context] == [("customer", "hi"), ("agent", "Hello!")]
    assert message == "where's my tent?" and channel == "web"


async def test_without_a_generator_suggestions_fit_the_intent() -> None:
    name = f"missing-{uuid.uuid4().hex}"
    order = await Suggester(name).suggest(_ticket(("order_status",)))
    other = await Suggester(name).suggest(_ticket(("bot_challenge",)))
    assert len(order) == len(other) == COUNT
    assert "order number" in order[0]
    assert other == list(GENERIC)
