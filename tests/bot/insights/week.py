"""A simulated week of known conversations, for checking every metric by hand.

The figures each conversation contributes are listed in ``test_week.py``. Events are the
dicts Rasa streams to an event broker; tickets go through the real SQLite handoff queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.handoff.model import HandoffMessage, MessageAuthor, Ticket
from bot.handoff.sqlite_queue import SQLiteHandoffQueue

DAY = 86400.0
T0 = 1793577600.0  # 2026-11-02 00:00 UTC, a Monday
SINCE = T0
UNTIL = T0 + 8 * DAY


@dataclass
class Conversation:
    """Builds one session's events, one second apart."""

    sender: str
    start: float
    channel: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._t = self.start
        self._n = 0
        self._add({"event": "action", "name": "action_session_start"})
        self._add({"event": "session_started"})
        self._add({"event": "action", "name": "action_listen"})

    def _add(self, event: dict[str, Any], gap: float = 1.0) -> dict[str, Any]:
        event = {"sender_id": self.sender, "timestamp": self._t, **event}
        self.events.append(event)
        self._t += gap
        return event

    @property
    def now(self) -> float:
        return self._t

    def user(self, intent: str, text: str = "hello", confidence: float = 0.9) -> Conversation:
        self._n += 1
        self._add(
            {
                "event": "user",
                "text": text,
                "message_id": f"{self.sender}-{self._n}",
                "input_channel": self.channel,
                "parse_data": {"intent": {"name": intent, "confidence": confidence}},
                "metadata": {},
            }
        )
        return self

    def bot(
        self, utter: str = "utter_x", text: str = "ok", outcome: str | None = None
    ) -> Conversation:
        metadata: dict[str, Any] = {"utter_action": utter}
        if outcome is not None:
            metadata["knowledge"] = {"outcome": outcome}
        self._add({"event": "bot", "text": text, "metadata": metadata})
        return self

    def slot(self, name: str, value: Any) -> Conversation:
        self._add({"event": "slot", "name": name, "value": value})
        return self

    def loop(self, name: str | None) -> Conversation:
        self._add({"event": "active_loop", "name": name})
        return self

    def escalate(self, trigger: str) -> Conversation:
        self.slot("escalation_trigger", trigger)
        self._add({"event": "action", "name": "action_escalate"})
        self.slot("escalation_trigger", None)
        return self

    def rate(self, rating: int, comment: str | None = None) -> Conversation:
        self.slot("csat_rating", rating)
        if comment is not None:
            self.slot("csat_comment", comment)
        return self


def week() -> list[Conversation]:
    """The conversations (``c0`` is before the period and must be ignored)."""
    c = Conversation
    return [
        c("web:0", T0 - DAY, "webchat").user("order_status").bot().rate(1),
        c("web:1", T0 + 0.1 * DAY, "webchat")
        .user("greet")
        .bot()
        .user("order_status")
        .bot()
        .user("goodbye")
        .bot()
        .rate(5),
        c("web:2", T0 + 0.2 * DAY, "webchat").user("returns").bot(outcome="extract"),
        c("slack:3", T0 + 1 * DAY, "slack").user("order_status").bot(),
        c("slack:3", T0 + 1 * DAY + 7200, "slack").user("order_status").bot(),
        c("tg:4", T0 + 2 * DAY, "telegram")
        .user("request_human")
        .escalate("asked_for_human")
        .rate(4),
        c("web:5", T0 + 2.5 * DAY, "webchat")
        .user("nlu_fallback")
        .bot()
        .user("nlu_fallback", "my email is anna@example.com")
        .escalate("low_confidence"),
        c("mail:6", T0 + 3 * DAY, "email").user("complaint").escalate("negative_sentiment"),
        c("web:7", T0 + 3.5 * DAY, "webchat")
        .user("order_status")
        .bot()
        .user("payment_issue")
        .escalate("sensitive_topic:fraud")
        .rate(2, "slow"),
        c("web:8", T0 + 4 * DAY, "webchat")
        .user("product_question")
        .bot(outcome="answer")
        .user("product_question")
        .bot(outcome="dont_know")
        .user("nlu_fallback", "write to anna@example.com please")
        .bot(),
        c("slack:9", T0 + 5 * DAY, "slack").user("cancel_order").loop("cancel_form").bot(),
        c("tg:10", T0 + 6 * DAY, "telegram").user("order_status").bot().rate(3),
        c("web:11", T0 + 7.5 * DAY, "webchat").user("order_status").bot(),
        c("web:12", T0 + 6.5 * DAY, "webchat")
        .user("product_question")
        .bot(outcome="answer")
        .escalate("generation_guard_failed"),
    ]


def events(conversations: list[Conversation]) -> Iterator[dict[str, Any]]:
    """Every event, in time order."""
    yield from sorted(
        (e for conv in conversations for e in conv.events), key=lambda e: e["timestamp"]
    )


class Clock:
    """A settable clock for the queue."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def tickets(queue: SQLiteHandoffQueue, clock: Clock) -> None:
    """The five handoff tickets (times relative to their creation)."""

    async def ticket(sender: str, channel: str, at: float, trigger: str) -> Ticket:
        clock.now = at
        return await queue.enqueue(Ticket.new(sender, channel, sender, at, trigger=trigger))

    async def work(t: Ticket, agent: str, claim: float, reply: float, resolve: float) -> None:
        clock.now = t.created_at + claim
        await queue.claim(t.id, agent, 3600)
        clock.now = t.created_at + reply
        message = HandoffMessage(f"{t.id}-r", MessageAuthor.AGENT, "hi", clock.now, agent)
        await queue.append_message(t.id, message)
        clock.now = t.created_at + resolve
        await queue.resolve(t.id, agent)

    t4 = await ticket("tg:4", "telegram", T0 + 2 * DAY + 5, "asked_for_human")
    await work(t4, "alice", 60, 120, 600)
    t5 = await ticket("web:5", "webchat", T0 + 2.5 * DAY + 10, "low_confidence")
    await work(t5, "bob", 300, 360, 900)
    clock.now = t5.created_at + 2000
    await queue.reopen(t5.id)
    await ticket("mail:6", "email", T0 + 3 * DAY + 5, "negative_sentiment")
    t7 = await ticket("web:7", "webchat", T0 + 3.5 * DAY + 10, "sensitive_topic:fraud")
    await work(t7, "alice", 30, 90, 300)
    await ticket("web:12", "webchat", T0 + 6.5 * DAY + 10, "generation_guard_failed")
