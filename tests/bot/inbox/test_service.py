"""Inbox operations over a real SQLite handoff queue: access, actions, audit, feedback."""

from __future__ import annotations

import asyncio

import pytest

from bot.handoff import ClaimConflictError, TicketStatus
from bot.inbox.access import TicketHiddenError
from bot.inbox.auth import ForbiddenError
from bot.inbox.feedback import read_feedback
from common.errors import BadRequestError
from tests.support.inbox import Inbox, make_ticket


async def test_agent_sees_queued_and_own_tickets_admin_sees_all(inbox: Inbox) -> None:
    s = inbox.service
    t1 = await make_ticket(inbox.queue, 1)
    t2 = await make_ticket(inbox.queue, 2)
    t3 = await make_ticket(inbox.queue, 3)
    await s.claim(inbox.alice, t1.id)
    await s.claim(inbox.bob, t2.id)

    alice_ids = {t.id for t in await s.list_tickets(inbox.alice)}
    bob_ids = {t.id for t in await s.list_tickets(inbox.bob)}
    root_ids = {t.id for t in await s.list_tickets(inbox.root)}
    assert alice_ids == {t1.id, t3.id}
    assert bob_ids == {t2.id, t3.id}
    assert root_ids == {t1.id, t2.id, t3.id}

    with pytest.raises(TicketHiddenError):
        await s.ticket(inbox.alice, t2.id)
    assert (await s.ticket(inbox.root, t2.id)).assigned_agent == "bob"


async def test_agent_cannot_act_on_someone_elses_ticket(inbox: Inbox) -> None:
    s = inbox.service
    ticket = await make_ticket(inbox.queue)
    await s.claim(inbox.alice, ticket.id)
    for action in (
        s.reply(inbox.bob, ticket.id, "I'll take it from here"),
        s.resolve(inbox.bob, ticket.id),
        s.transfer(inbox.bob, ticket.id, "bob"),
    ):
        with pytest.raises(TicketHiddenError):
            await action
    with pytest.raises(TicketHiddenError):  # hidden from bob, so not claimable either
        await s.claim(inbox.bob, ticket.id)
    with pytest.raises(ClaimConflictError):  # the admin sees it, but alice holds it
        await s.claim(inbox.root, ticket.id)
    # An admin sees the ticket but does not hold it.
    with pytest.raises(ForbiddenError):
        await s.reply(inbox.root, ticket.id, "hello")
    # Queued but unclaimed: nobody may reply yet.
    other = await make_ticket(inbox.queue, 2)
    with pytest.raises(ForbiddenError):
        await s.reply(inbox.alice, other.id, "hello")
    assert (await inbox.queue.get(ticket.id)).messages == ()
    assert inbox.deliverer.sent == []


async def test_claim_reply_transfer_resolve_with_audit_and_feedback(inbox: Inbox) -> None:
    s = inbox.service
    ticket = await make_ticket(inbox.queue, text="my mail is jo@example.com, where is PC-123456?")
    await s.claim(inbox.alice, ticket.id)
    assert inbox.deliverer.states == [(ticket.conversation_id, "agent")]

    suggestion = (await s.suggestions(inbox.alice, ticket.id))[0]
    message = await s.reply(inbox.alice, ticket.id, "Hi, Alice here. It ships today.", suggestion)
    assert await s.delivery.run_once() == 1
    assert inbox.deliverer.sent == [
        (ticket.conversation_id, "Hi, Alice here. It ships today.", "agent")
    ]
    stored = await inbox.queue.get(ticket.id)
    assert stored.message(message.message_id) is not None
    assert stored.message(message.message_id).delivered_at is not None  # type: ignore[union-attr]

    with pytest.raises(BadRequestError):
        await s.transfer(inbox.alice, ticket.id, "nobody")
    await s.transfer(inbox.alice, ticket.id, "bob")
    assert (await inbox.queue.get(ticket.id)).assigned_agent == "bob"
    with pytest.raises(TicketHiddenError):
        await s.reply(inbox.alice, ticket.id, "still me")

    resolved = await s.resolve(inbox.bob, ticket.id)
    assert resolved.status is TicketStatus.RESOLVED

    entries = await s.audit.entries(ticket.id)
    assert [(e.actor, e.action) for e in entries] == [
        ("alice", "claim"),
        ("alice", "reply"),
        ("alice", "transfer"),
        ("bob", "resolve"),
    ]
    assert entries[2].detail == "bob"
    assert entries[1].detail == message.message_id  # ids only, never text
    assert all("Alice here" not in (e.detail or "") for e in entries)

    pairs, corrections, edits = await asyncio.to_thread(read_feedback, inbox.db)
    assert len(pairs) == 1
    pair = pairs[0]
    assert "jo@example.com" not in pair.customer and "[EMAIL_1]" in pair.customer
    assert pair.agent == "Hi, Alice here. It ships today."
    assert pair.intent == "order_status"
    assert [t.role for t in pair.context] == ["customer", "agent"]
    assert [(e.suggestion, e.final) for e in edits] == [
        (suggestion, "Hi, Alice here. It ships today.")
    ]
    assert corrections == []


async def test_mark_a_bot_turn_wrong_stores_the_customer_text_with_the_right_intent(
    inbox: Inbox,
) -> None:
    s = inbox.service
    ticket = await make_ticket(inbox.queue, text="call me on +44 20 7946 0958 about my box")
    await s.claim(inbox.alice, ticket.id)
    with pytest.raises(BadRequestError):
        await s.correct(inbox.alice, ticket.id, 3, "not_an_intent")
    predicted = await s.correct(inbox.alice, ticket.id, 3, "order_status")
    assert predicted == "order_status"  # second user turn <- second intent
    _, corrections, _ = await asyncio.to_thread(read_feedback, inbox.db)
    assert len(corrections) == 1
    assert corrections[0].intent == "order_status"
    assert "7946" not in corrections[0].text and "about my box" in corrections[0].text
    assert [e.action for e in await s.audit.entries(ticket.id)] == ["claim", "correct"]


async def test_tickets_claimed_through_another_inbox_process_are_listed(inbox: Inbox) -> None:
    """The list comes from the shared queue, not from what this process happened to see."""
    s = inbox.service
    queued = await make_ticket(inbox.queue, 1)
    elsewhere = await make_ticket(inbox.queue, 2)
    await inbox.queue.claim(elsewhere.id, "alice", 600)  # claimed by another inbox process
    assert [t.id for t in await s.list_tickets(inbox.alice)] == [queued.id, elsewhere.id]
    assert [t.id for t in await s.list_tickets(inbox.bob)] == [queued.id]
    await inbox.queue.resolve(elsewhere.id, "alice")
    assert [t.id for t in await s.list_tickets(inbox.root)] == [queued.id]
