"""An inbox over a real SQLite handoff queue, with a recording deliverer.

Shared by the inbox tests and the feedback export and retraining tests; their conftest
files import the ``inbox`` fixture from here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.handoff import Ticket, Turn, create_handoff_queue
from bot.handoff.queue import HandoffQueue
from bot.inbox.audit import AuditLog
from bot.inbox.auth import User, UserStore
from bot.inbox.db import InboxDB
from bot.inbox.delivery import DeliveryWorker
from bot.inbox.feedback import FeedbackStore
from bot.inbox.service import InboxService
from bot.inbox.suggest import Suggester
from common.conversation import from_unix
from common.privacy import PlaceholderSession, RedactionConfig, Redactor

INTENTS = ("greet", "order_status", "cancel_order", "request_human", "complaint")


@dataclass
class RecordingDeliverer:
    """Records deliveries; fails the first ``fail`` calls."""

    fail: int = 0
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    states: list[tuple[str, str]] = field(default_factory=list)

    async def deliver(self, sender_id: str, text: str, *, author: str = "agent") -> str:
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("channel down")
        self.sent.append((sender_id, text, author))
        return sender_id.split(":", 1)[0]

    async def notify(self, sender_id: str, state: str) -> None:
        self.states.append((sender_id, state))

    async def notify_state(self, sender_id: str, state: str) -> None:
        self.states.append((sender_id, state))


def email_redactor() -> object:
    redactor = Redactor(RedactionConfig(types=frozenset({"EMAIL", "PHONE"})))

    def redact(texts: Sequence[str]) -> list[str]:
        return [r.text for r in redactor.redact_many(texts, PlaceholderSession())]

    return redact


@dataclass
class Inbox:
    service: InboxService
    queue: HandoffQueue
    deliverer: RecordingDeliverer
    db: InboxDB
    alice: User
    bob: User
    root: User


async def make_ticket(queue: HandoffQueue, n: int = 1, text: str = "where is my parcel?") -> Ticket:
    now = time.time()
    ticket = Ticket.new(
        f"web:customer-{n}",
        "web",
        f"customer-{n}",
        now,
        trigger="asked_for_human",
        summary="Customer asks about an order.",
        intents=("greet", "order_status"),
        sentiment=-0.2,
        transcript=(
            Turn("customer", "hello", from_unix(now - 5)),
            Turn("bot", "Hi! How can I help?", from_unix(now - 4)),
            Turn("customer", text, from_unix(now - 3)),
            Turn("bot", "I can't find that, let me get a person.", from_unix(now - 2)),
        ),
    )
    return await queue.enqueue(ticket)


@pytest.fixture
async def inbox(tmp_path: Path) -> AsyncIterator[Inbox]:
    queue = create_handoff_queue({"type": "sqlite", "path": str(tmp_path / "handoff.db")})
    await queue.initialize()
    db = InboxDB(tmp_path / "inbox.db")
    users = UserStore(db, bcrypt_rounds=4)
    deliverer = RecordingDeliverer()
    delivery = DeliveryWorker(queue, db, deliverer, retry_seconds=0.0)
    service = InboxService(
        queue=queue,
        db=db,
        users=users,
        audit=AuditLog(db),
        feedback=FeedbackStore(db, email_redactor()),  # type: ignore[arg-type]
        delivery=delivery,
        suggester=Suggester(),
        notifier=deliverer,  # type: ignore[arg-type]
        intents=INTENTS,
    )
    await service.initialize()
    alice = await users.add_user("alice", "alice-password", "agent")
    bob = await users.add_user("bob", "bob-password", "agent")
    root = await users.add_user("root", "root-password", "admin")
    try:
        yield Inbox(service, queue, deliverer, db, alice, bob, root)
    finally:
        await queue.close()
