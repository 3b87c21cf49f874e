"""Audits of the handoff benchmark: were handoffs or agent messages lost or duplicated?

Used by ``bench/handoff.py`` and ``tests/integration/test_handoff_fleet.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis

from bot.handoff.model import EventKind, MessageAuthor, TicketStatus
from bot.handoff.redis_queue import RedisHandoffQueue

# -- results -----------------------------------------------------------------------------


@dataclass
class HandoffReply:
    """What one conversation's handoff request got back.

    Attributes:
        sender: Rasa sender id.
        instance: Index of the Rasa server the request went to.
        status: HTTP status.
        latency_s: Seconds from sending the request to the full reply.
        state: ``handoff.state`` of the custom JSON reply (``waiting``), if any.
        position: ``handoff.position`` of the custom JSON reply, if any.
        texts: Number of text messages in the reply.
    """

    sender: str
    instance: int
    status: int
    latency_s: float
    state: str | None = None
    position: int | None = None
    texts: int = 0


@dataclass
class AgentWork:
    """What the agents did to the queue.

    Attributes:
        claims: Ticket id -> agents whose claim succeeded.
        conflicts: Claims refused because another agent held the ticket.
        appended: Ticket id -> agent message ids appended.
        delivered: Message id -> times an agent marked it delivered.
        latencies_s: Per ticket, seconds from the winning claim to the resolve.
        wall_s: Wall-clock seconds of the whole phase.
    """

    claims: dict[str, list[str]] = field(default_factory=dict)
    conflicts: int = 0
    appended: dict[str, list[str]] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0


async def ticket_documents(queue: RedisHandoffQueue) -> list[dict[str, Any]]:
    """Every ticket stored in Redis, whatever its state, read straight from the keys."""
    url = str(queue._url)  # noqa: SLF001 - the benchmark audits the queue's own storage
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(f"{queue.key_prefix}ticket:*", count=500)]
        docs = await client.mget(keys) if keys else []
    finally:
        await client.close(close_connection_pool=True)
    return [json.loads(doc) for doc in docs if doc is not None]


async def check_handoffs(
    replies: Sequence[HandoffReply],
    trackers: Mapping[str, Mapping[str, Any]],
    queue: RedisHandoffQueue,
) -> dict[str, Any]:
    """Audit the handoff phase: nothing lost, nothing duplicated.

    Args:
        replies: The customers' replies.
        trackers: Sender id -> tracker.
        queue: The shared handoff queue (initialized).

    Returns:
        Counts and problems; ``problems`` is empty when everything holds.
    """
    senders = {r.sender for r in replies}
    problems: list[str] = []
    failed = [r.sender for r in replies if r.status != 200 or r.state != "waiting"]
    if failed:
        problems.append(f"{len(failed)} requests got no 'waiting' reply")
    queued = await queue.list_queued()
    by_conversation = Counter(t.conversation_id for t in queued)
    if len(queued) != len(replies):
        problems.append(f"{len(queued)} tickets queued for {len(replies)} handoffs")
    if set(by_conversation) != senders:
        problems.append("queued tickets do not match the conversations")
    doubles = [c for c, n in by_conversation.items() if n > 1]
    if doubles:
        problems.append(f"{len(doubles)} conversations have more than one queued ticket")
    stored = Counter(
        doc["conversation_id"]
        for doc in await ticket_documents(queue)
        if doc["conversation_id"] in senders
    )
    not_one = len(senders) - sum(1 for n in stored.values() if n == 1)
    if not_one:
        problems.append(f"{not_one} conversations do not have exactly one stored ticket")
    unpaused = [
        s
        for s in senders
        if trackers[s].get("paused") is not True
        or sum(e.get("event") == "pause" for e in trackers[s].get("events", [])) != 1
    ]
    if unpaused:
        problems.append(f"{len(unpaused)} conversations are not paused exactly once")
    ranks = {t.conversation_id: i + 1 for i, t in enumerate(queued)}
    positions = [await queue.position(t.id) for t in queued]
    if positions != list(range(1, len(queued) + 1)):
        problems.append("position() disagrees with the queue order")
    announced = [r.position for r in replies if r.position is not None]
    announced_doubles = sum(n - 1 for n in Counter(announced).values() if n > 1)
    ahead_of_announced = [
        r.sender for r in replies if r.position is not None and r.position > ranks.get(r.sender, 0)
    ]
    if ahead_of_announced:
        # Nobody leaves the queue in this phase, so a place can only grow after it is told.
        problems.append(f"{len(ahead_of_announced)} customers were told a place beyond their rank")
    return {
        "queued": len(queued),
        "stored_tickets": sum(stored.values()),
        "paused": len(senders) - len(unpaused),
        "final_positions_1_to_n": positions == list(range(1, len(queued) + 1)),
        "announced_positions_distinct": len(set(announced)),
        "announced_position_collisions": announced_doubles,
        "announced_min": min(announced, default=None),
        "announced_max": max(announced, default=None),
        "announced_equals_final_rank": sum(
            1 for r in replies if r.position is not None and r.position == ranks.get(r.sender)
        ),
        "problems": problems,
    }


async def check_agent_work(
    work: AgentWork, ticket_ids: Sequence[str], queue: RedisHandoffQueue
) -> dict[str, Any]:
    """Audit the agent phase: one claim per ticket, one delivery per message, all resolved.

    Args:
        work: What the agents did.
        ticket_ids: The tickets of the handoff phase.
        queue: The shared queue (initialized).

    Returns:
        Counts and problems; ``problems`` is empty when everything holds.
    """
    problems: list[str] = []
    claimed_once = [t for t in ticket_ids if len(work.claims.get(t, [])) == 1]
    if len(claimed_once) != len(ticket_ids) or len(work.claims) != len(ticket_ids):
        problems.append(f"{len(ticket_ids) - len(claimed_once)} tickets not claimed exactly once")
    messages = [m for t in ticket_ids for m in work.appended.get(t, [])]
    if len(messages) != len(ticket_ids):
        problems.append(f"{len(messages)} agent messages for {len(ticket_ids)} tickets")
    delivered_once = sum(1 for m in messages if work.delivered[m] == 1)
    if delivered_once != len(messages) or sum(work.delivered.values()) != len(messages):
        problems.append(f"{len(messages) - delivered_once} messages not delivered exactly once")
    resolved = 0
    for ticket_id in ticket_ids:
        ticket = await queue.get(ticket_id)
        claims = [e for e in ticket.events if e.kind is EventKind.CLAIMED]
        agent_messages = [m for m in ticket.messages if m.author is MessageAuthor.AGENT]
        ok = (
            ticket.status is TicketStatus.RESOLVED
            and len(claims) == 1
            and claims[0].actor == work.claims.get(ticket_id, [None])[0] == ticket.assigned_agent
            and len(agent_messages) == 1
            and agent_messages[0].delivered_at is not None
            and not ticket.pending_deliveries()
        )
        resolved += ok
    if resolved != len(ticket_ids):
        problems.append(f"{len(ticket_ids) - resolved} tickets not resolved cleanly")
    if await queue.list_queued():
        problems.append("tickets are left in the queue")
    return {
        "claimed_once": len(claimed_once),
        "claim_conflicts": work.conflicts,
        "messages_delivered_once": delivered_once,
        "resolved": resolved,
        "problems": problems,
    }
