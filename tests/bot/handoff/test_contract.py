"""The contract every handoff queue backend passes (SQLite and a real Redis server)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.handoff import (
    BreachKind,
    ClaimConflictError,
    DuplicateTicketError,
    EventKind,
    HandoffMessage,
    HandoffQueue,
    InvalidTicketError,
    LeaseExpiredError,
    MessageAuthor,
    MessageNotFoundError,
    Priority,
    SLABreach,
    Ticket,
    TicketClosedError,
    TicketNotFoundError,
    TicketStatus,
    Turn,
)
from common.conversation import from_unix

from .conftest import START, FakeClock, OpenQueue


def make_ticket(
    conversation_id: str = "conv-1",
    *,
    created_at: float = START,
    priority: int = Priority.NORMAL,
    ticket_id: str | None = None,
) -> Ticket:
    return Ticket.new(
        conversation_id,
        "webchat",
        f"customer-{conversation_id}",
        created_at,
        priority=priority,
        trigger="asked_for_human",
        summary="Wants a refund for damaged boots",
        intents=("request_refund", "complain"),
        sentiment=-0.6,
        transcript=(
            Turn("customer", "my boots arrived broken", from_unix(created_at - 20)),
            Turn("bot", "Sorry to hear that!", from_unix(created_at - 19)),
        ),
        ticket_id=ticket_id,
    )


def agent_msg(message_id: str, text: str = "Hi, I'm on it", at: float = START) -> HandoffMessage:
    return HandoffMessage(message_id, MessageAuthor.AGENT, text, at, agent="alice")


def customer_msg(message_id: str, text: str = "thanks", at: float = START) -> HandoffMessage:
    return HandoffMessage(message_id, MessageAuthor.CUSTOMER, text, at)


async def test_is_a_handoff_queue(queue: HandoffQueue) -> None:
    assert isinstance(queue, HandoffQueue)


async def test_enqueue_and_get_round_trip(queue: HandoffQueue) -> None:
    ticket = make_ticket()
    stored = await queue.enqueue(ticket)
    got = await queue.get(ticket.id)
    assert got == stored
    assert got.status is TicketStatus.QUEUED
    assert got.transcript == ticket.transcript
    assert got.intents == ("request_refund", "complain")
    assert got.sentiment == -0.6
    assert [e.kind for e in got.events] == [EventKind.ENQUEUED]


async def test_get_unknown_ticket(queue: HandoffQueue) -> None:
    with pytest.raises(TicketNotFoundError) as info:
        await queue.get("nope")
    assert info.value.status_code == 404


async def test_duplicate_id_and_second_open_ticket_rejected(queue: HandoffQueue) -> None:
    ticket = await queue.enqueue(make_ticket())
    with pytest.raises(DuplicateTicketError):
        await queue.enqueue(make_ticket("conv-2", ticket_id=ticket.id))
    with pytest.raises(DuplicateTicketError) as info:
        await queue.enqueue(make_ticket("conv-1"))
    assert info.value.status_code == 409


async def test_enqueue_rejects_non_queued_ticket(queue: HandoffQueue) -> None:
    ticket = make_ticket()
    with pytest.raises(InvalidTicketError):
        await queue.enqueue(Ticket(**{**ticket.__dict__, "status": TicketStatus.CLAIMED}))
    with pytest.raises(InvalidTicketError):
        make_ticket(priority=10)


async def test_list_queued_orders_by_priority_then_age(queue: HandoffQueue) -> None:
    old_normal = await queue.enqueue(make_ticket("a", created_at=START))
    new_normal = await queue.enqueue(make_ticket("b", created_at=START + 10))
    new_urgent = await queue.enqueue(make_ticket("c", created_at=START + 20, priority=2))
    old_high = await queue.enqueue(make_ticket("d", created_at=START + 5, priority=1))
    new_high = await queue.enqueue(make_ticket("e", created_at=START + 30, priority=1))
    expected = [new_urgent, old_high, new_high, old_normal, new_normal]
    assert [t.id for t in await queue.list_queued()] == [t.id for t in expected]
    for place, ticket in enumerate(expected, start=1):
        assert await queue.position(ticket.id) == place


async def test_position_of_claimed_and_unknown(queue: HandoffQueue) -> None:
    first = await queue.enqueue(make_ticket("a", created_at=START))
    second = await queue.enqueue(make_ticket("b", created_at=START + 1))
    await queue.claim(first.id, "alice", 60)
    assert await queue.position(first.id) is None
    assert await queue.position(second.id) == 1
    with pytest.raises(TicketNotFoundError):
        await queue.position("nope")


async def test_list_open_is_the_queue_then_claimed_oldest_first(
    queue: HandoffQueue, clock: FakeClock
) -> None:
    old = await queue.enqueue(make_ticket("a", created_at=START))
    mid = await queue.enqueue(make_ticket("b", created_at=START + 1))
    new = await queue.enqueue(make_ticket("c", created_at=START + 2))
    done = await queue.enqueue(make_ticket("d", created_at=START + 3, priority=2))
    await queue.claim(mid.id, "bob", 600)
    await queue.claim(old.id, "alice", 60)
    await queue.claim(done.id, "carol", 600)
    await queue.resolve(done.id, "carol")
    assert [t.id for t in await queue.list_open()] == [new.id, old.id, mid.id]
    clock.advance(60)  # alice's lease runs out: her ticket is queued again
    listed = await queue.list_open()
    assert [t.id for t in listed] == [old.id, new.id, mid.id]
    assert [t.status for t in listed] == [
        TicketStatus.QUEUED,
        TicketStatus.QUEUED,
        TicketStatus.CLAIMED,
    ]


async def test_claim_and_conflict(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    clock.advance(30)
    claimed = await queue.claim(ticket.id, "alice", 60)
    assert claimed.status is TicketStatus.CLAIMED
    assert claimed.assigned_agent == "alice"
    assert claimed.lease_expiry == clock.now + 60
    assert claimed.claimed_at == clock.now
    assert await queue.list_queued() == []
    with pytest.raises(ClaimConflictError) as info:
        await queue.claim(ticket.id, "bob", 60)
    assert info.value.status_code == 409
    clock.advance(10)
    again = await queue.claim(ticket.id, "alice", 60)
    assert again.lease_expiry == clock.now + 60
    assert again.claimed_at == claimed.claimed_at


async def test_claim_unknown(queue: HandoffQueue) -> None:
    with pytest.raises(TicketNotFoundError):
        await queue.claim("nope", "alice", 60)


async def test_expired_lease_returns_ticket_to_queue(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    clock.advance(59)
    assert await queue.list_queued() == []
    clock.advance(1)
    queued = await queue.list_queued()
    assert [t.id for t in queued] == [ticket.id]
    assert queued[0].status is TicketStatus.QUEUED
    assert await queue.position(ticket.id) == 1
    bob = await queue.claim(ticket.id, "bob", 60)
    assert bob.assigned_agent == "bob"
    kinds = [e.kind for e in bob.events]
    assert kinds == [
        EventKind.ENQUEUED,
        EventKind.CLAIMED,
        EventKind.LEASE_EXPIRED,
        EventKind.CLAIMED,
    ]


async def test_expired_lease_claimable_without_reap(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    clock.advance(61)
    assert (await queue.claim(ticket.id, "bob", 60)).assigned_agent == "bob"


async def test_reap_expired(queue: HandoffQueue, clock: FakeClock) -> None:
    a = await queue.enqueue(make_ticket("a"))
    b = await queue.enqueue(make_ticket("b"))
    await queue.claim(a.id, "alice", 30)
    await queue.claim(b.id, "bob", 90)
    assert await queue.reap_expired() == []
    assert await queue.reap_expired(clock.now + 31) == [a.id]
    assert await queue.reap_expired(clock.now + 31) == []
    assert (await queue.get(a.id)).status is TicketStatus.QUEUED
    assert (await queue.get(b.id)).status is TicketStatus.CLAIMED


async def test_get_shows_expired_lease_as_queued(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    clock.advance(120)
    got = await queue.get(ticket.id)
    assert got.status is TicketStatus.QUEUED
    assert got.lease_expiry is None


async def test_renew(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    clock.advance(50)
    renewed = await queue.renew(ticket.id, "alice", 60)
    assert renewed.lease_expiry == clock.now + 60
    clock.advance(50)
    assert await queue.list_queued() == []
    with pytest.raises(ClaimConflictError):
        await queue.renew(ticket.id, "bob", 60)
    clock.advance(11)
    with pytest.raises(LeaseExpiredError) as info:
        await queue.renew(ticket.id, "alice", 60)
    assert info.value.status_code == 409
    with pytest.raises(InvalidTicketError):
        await queue.claim(ticket.id, "alice", 0)


async def test_append_message_is_idempotent(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.append_message(ticket.id, customer_msg("m1"))
    await queue.append_message(ticket.id, customer_msg("m1"))
    await queue.claim(ticket.id, "alice", 60)
    clock.advance(5)
    first = await queue.append_message(ticket.id, agent_msg("m2"))
    clock.advance(5)
    again = await queue.append_message(ticket.id, agent_msg("m2", text="edited"))
    await queue.append_message(ticket.id, agent_msg("m3"))
    got = await queue.get(ticket.id)
    assert [m.message_id for m in got.messages] == ["m1", "m2", "m3"]
    assert got.messages[1].text == "Hi, I'm on it"
    assert got.messages[0].author is MessageAuthor.CUSTOMER
    assert first.first_agent_reply_at == again.first_agent_reply_at == START + 5


async def test_append_to_unknown_and_resolved(queue: HandoffQueue) -> None:
    with pytest.raises(TicketNotFoundError):
        await queue.append_message("nope", customer_msg("m1"))
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    await queue.append_message(ticket.id, agent_msg("m1"))
    await queue.resolve(ticket.id, "alice")
    await queue.append_message(ticket.id, agent_msg("m1"))  # a retry is still fine
    with pytest.raises(TicketClosedError):
        await queue.append_message(ticket.id, customer_msg("m2"))


async def test_transfer(queue: HandoffQueue, clock: FakeClock) -> None:
    ticket = await queue.enqueue(make_ticket())
    claimed = await queue.claim(ticket.id, "alice", 60)
    moved = await queue.transfer(ticket.id, "alice", "bob")
    assert moved.assigned_agent == "bob"
    assert moved.lease_expiry == claimed.lease_expiry
    assert moved.events[-1].kind is EventKind.TRANSFERRED
    assert moved.events[-1].actor == "alice"
    assert moved.events[-1].detail == "bob"
    with pytest.raises(ClaimConflictError):
        await queue.renew(ticket.id, "alice", 60)
    with pytest.raises(ClaimConflictError):
        await queue.transfer(ticket.id, "alice", "carol")
    back = await queue.transfer(ticket.id, "bob", "alice", lease_seconds=300)
    assert back.lease_expiry == clock.now + 300
    clock.advance(301)
    with pytest.raises(LeaseExpiredError):
        await queue.transfer(ticket.id, "alice", "bob")


async def test_resolve_and_reopen(queue: HandoffQueue) -> None:
    ticket = await queue.enqueue(make_ticket())
    with pytest.raises(LeaseExpiredError):
        await queue.resolve(ticket.id, "alice")
    await queue.claim(ticket.id, "alice", 60)
    with pytest.raises(ClaimConflictError):
        await queue.resolve(ticket.id, "bob")
    resolved = await queue.resolve(ticket.id, "alice")
    assert resolved.status is TicketStatus.RESOLVED
    assert await queue.resolve(ticket.id, "alice") == resolved
    assert await queue.open_ticket_for("conv-1") is None
    assert await queue.list_queued() == []
    with pytest.raises(TicketClosedError):
        await queue.claim(ticket.id, "bob", 60)

    reopened = await queue.reopen(ticket.id)
    assert reopened.status is TicketStatus.QUEUED
    assert reopened.assigned_agent is None
    assert await queue.reopen(ticket.id) == reopened
    assert [t.id for t in await queue.list_queued()] == [ticket.id]
    assert (await queue.open_ticket_for("conv-1")) == reopened
    assert [e.kind for e in reopened.events][-2:] == [EventKind.RESOLVED, EventKind.REOPENED]


async def test_new_ticket_after_resolve_blocks_reopen(queue: HandoffQueue) -> None:
    first = await queue.enqueue(make_ticket())
    await queue.claim(first.id, "alice", 60)
    await queue.resolve(first.id, "alice")
    second = await queue.enqueue(make_ticket())
    assert (await queue.open_ticket_for("conv-1")) == second
    with pytest.raises(DuplicateTicketError):
        await queue.reopen(first.id)
    assert (await queue.get(first.id)).status is TicketStatus.RESOLVED


async def test_open_ticket_for(queue: HandoffQueue) -> None:
    assert await queue.open_ticket_for("conv-1") is None
    ticket = await queue.enqueue(make_ticket())
    await queue.enqueue(make_ticket("conv-2"))
    assert await queue.open_ticket_for("conv-1") == ticket
    claimed = await queue.claim(ticket.id, "alice", 60)
    assert await queue.open_ticket_for("conv-1") == claimed


async def test_outbox_delivers_each_agent_message_once(queue: HandoffQueue) -> None:
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    await queue.append_message(ticket.id, customer_msg("c1"))
    await queue.append_message(ticket.id, agent_msg("a1"))
    await queue.append_message(ticket.id, agent_msg("a2"))
    pending = await queue.pending_deliveries(ticket.id)
    assert [m.message_id for m in pending] == ["a1", "a2"]
    await queue.mark_delivered(ticket.id, "a1")
    await queue.mark_delivered(ticket.id, "a1")
    # a re-append of a delivered message (a retry) does not make it pending again
    await queue.append_message(ticket.id, agent_msg("a1"))
    assert [m.message_id for m in await queue.pending_deliveries(ticket.id)] == ["a2"]
    with pytest.raises(MessageNotFoundError):
        await queue.mark_delivered(ticket.id, "zzz")
    with pytest.raises(TicketNotFoundError):
        await queue.pending_deliveries("nope")


async def test_undelivered_messages_survive_a_restart(open_queue: OpenQueue) -> None:
    queue = await open_queue()
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    await queue.append_message(ticket.id, agent_msg("a1"))
    await queue.append_message(ticket.id, agent_msg("a2"))
    await queue.mark_delivered(ticket.id, "a1")
    await queue.close()  # "crash" before a2 is confirmed

    restarted = await open_queue()
    assert [m.message_id for m in await restarted.pending_deliveries(ticket.id)] == ["a2"]
    got = await restarted.get(ticket.id)
    assert got.status is TicketStatus.CLAIMED
    assert got.assigned_agent == "alice"
    assert [m.message_id for m in got.messages] == ["a1", "a2"]


async def test_sla_alerts_once_per_ticket_and_kind(open_queue: OpenQueue, clock: FakeClock) -> None:
    alerts: list[SLABreach] = []

    async def hook(breach: SLABreach) -> None:
        alerts.append(breach)

    queue = await open_queue(claim_sla_seconds=60, reply_sla_seconds=120, sla_hook=hook)
    slow = await queue.enqueue(make_ticket("slow"))
    fast = await queue.enqueue(make_ticket("fast"))
    await queue.claim(fast.id, "bob", 600)
    clock.advance(60)
    assert await queue.check_sla() == []

    clock.advance(1)
    breaches = await queue.check_sla()
    assert [(b.ticket_id, b.kind, b.new) for b in breaches] == [(slow.id, BreachKind.CLAIM, True)]
    assert breaches[0].waited_seconds == 61
    repeat = await queue.check_sla()
    assert [(b.ticket_id, b.new) for b in repeat] == [(slow.id, False)]
    assert [(a.ticket_id, a.kind) for a in alerts] == [(slow.id, BreachKind.CLAIM)]

    # A second process checking does not alert again either.
    other = await open_queue(claim_sla_seconds=60, reply_sla_seconds=120, sla_hook=hook)
    await other.check_sla()
    assert len(alerts) == 1

    await queue.claim(slow.id, "alice", 600)  # claimed 61s after fast
    clock.advance(59)  # fast: 120s without a reply
    assert await queue.check_sla() == []
    clock.advance(1)
    assert [(b.ticket_id, b.kind) for b in await queue.check_sla()] == [(fast.id, BreachKind.REPLY)]
    clock.advance(61)  # slow: 121s without a reply
    await queue.check_sla()
    await queue.check_sla(clock.now + 100)
    assert [(a.ticket_id, a.kind) for a in alerts] == [
        (slow.id, BreachKind.CLAIM),
        (fast.id, BreachKind.REPLY),
        (slow.id, BreachKind.REPLY),
    ]
    await queue.append_message(slow.id, agent_msg("a1"))
    assert [b.ticket_id for b in await queue.check_sla()] == [fast.id]
    got = await queue.get(slow.id)
    assert got.sla_alerts == ("claim", "reply")
    assert [e.detail for e in got.events if e.kind is EventKind.SLA_BREACHED] == [
        "claim",
        "reply",
    ]


async def test_failing_sla_hook_does_not_break_the_check(
    open_queue: OpenQueue, clock: FakeClock
) -> None:
    async def hook(breach: SLABreach) -> None:
        raise RuntimeError("pager down")

    queue = await open_queue(claim_sla_seconds=10, sla_hook=hook)
    await queue.enqueue(make_ticket())
    clock.advance(11)
    assert len(await queue.check_sla()) == 1


async def test_two_clients_race_to_claim(open_queue: OpenQueue) -> None:
    first = await open_queue()
    second = await open_queue()
    for round_ in range(20):
        ticket = await first.enqueue(make_ticket(f"race-{round_}"))
        results: list[Any] = await asyncio.gather(
            first.claim(ticket.id, "alice", 60),
            second.claim(ticket.id, "bob", 60),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, Ticket)]
        losers = [r for r in results if isinstance(r, ClaimConflictError)]
        assert len(winners) == 1 and len(losers) == 1, results
        stored = await second.get(ticket.id)
        assert stored.assigned_agent == winners[0].assigned_agent
        assert [e.kind for e in stored.events].count(EventKind.CLAIMED) == 1


async def test_logs_carry_ids_not_message_text(
    queue: HandoffQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.handoff")
    ticket = await queue.enqueue(make_ticket())
    await queue.claim(ticket.id, "alice", 60)
    await queue.append_message(ticket.id, customer_msg("m1", text="card 4111 1111 1111 1111"))
    await queue.resolve(ticket.id, "alice")
    assert ticket.id in caplog.text
    assert "4111" not in caplog.text
    assert "customer-conv-1" not in caplog.text


async def test_tickets_created_lists_resolved_tickets_in_the_window(
    queue: HandoffQueue, clock: FakeClock
) -> None:
    early = await queue.enqueue(make_ticket("conv-a", created_at=START - 100))
    inside = await queue.enqueue(make_ticket("conv-b", created_at=START + 10))
    await queue.enqueue(make_ticket("conv-c", created_at=START + 200))
    await queue.claim(inside.id, "alice", 60)
    await queue.resolve(inside.id, "alice")
    found = await queue.tickets_created(START, START + 200)
    assert [t.id for t in found] == [inside.id]
    assert found[0].status is TicketStatus.RESOLVED
    assert [t.id for t in await queue.tickets_created(START - 100, START)] == [early.id]
