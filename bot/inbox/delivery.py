"""Sends agents' replies to customers: the queue's outbox through the channels' senders.

Each pending agent message is first claimed in the inbox database (one row per message,
taken atomically), then sent with ``deliver(sender_id, text, author="agent")``, recorded
as sent, and finally marked delivered on the ticket. So several workers (threads,
processes, or a worker started twice) never send a message twice, a message whose send
failed is retried after a back-off, and a worker that dies mid-send leaves a claim that
runs out, after which the message is sent again (at least once).

A ticket that no longer exists in the queue (its store was reset, or the ticket was
purged) cannot be delivered from: its messages lived on it. Its waiting rows are marked
dropped (``done = -1``) and logged once as an error, instead of being retried every pass.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Protocol

from bot.handoff.errors import HandoffError, TicketNotFoundError
from bot.handoff.outbound import outbound_registry
from bot.handoff.queue import HandoffQueue
from bot.inbox.db import InboxDB
from common.errors import BotError

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    owner TEXT,
    until REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""


class Deliverer(Protocol):
    """Sends a text to a conversation (:class:`~bot.handoff.outbound.OutboundRegistry` is one)."""

    async def deliver(self, sender_id: str, text: str, *, author: str = "agent") -> str:
        """Send ``text`` to ``sender_id``; returns the channel used."""
        ...


class _Claim(str, Enum):
    TAKEN = "taken"
    BUSY = "busy"
    SENT = "sent"


class DeliveryWorker:
    """Delivers pending agent messages of the tickets ``tickets()`` names.

    Args:
        queue: The handoff queue (initialized by its owner).
        db: The inbox database, where claims are kept.
        deliverer: Sends the text; default: the process's outbound registry.
        tickets: Returns the ids of tickets that may have pending messages; default:
            :meth:`ticket_ids` (every open ticket, and closed ones with a send to retry).
        claim_seconds: How long a send may take before another worker may retry it.
        retry_seconds: Back-off after a failed send (doubles per attempt, up to 60 s).
        clock: Returns the current Unix time.
    """

    def __init__(
        self,
        queue: HandoffQueue,
        db: InboxDB,
        deliverer: Deliverer | None = None,
        *,
        tickets: Callable[[], Awaitable[list[str]]] | None = None,
        claim_seconds: float = 60.0,
        retry_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.db = db
        self._deliverer = deliverer
        self._tickets = tickets
        self.claim_seconds = claim_seconds
        self.retry_seconds = retry_seconds
        self._clock = clock
        self.worker_id = uuid.uuid4().hex
        self._wake = asyncio.Event()

    async def initialize(self) -> None:
        """Create the claims table."""
        await self.db.ensure_schema(SCHEMA)

    def _sender(self) -> Deliverer:
        if self._deliverer is None:
            return outbound_registry()
        return self._deliverer

    def wake(self) -> None:
        """Run the next pass now (a reply was just queued)."""
        self._wake.set()

    async def _claim(self, ticket_id: str, message_id: str) -> _Claim:
        now = self._clock()
        until = now + self.claim_seconds

        def claim(conn: sqlite3.Connection) -> _Claim:
            cursor = conn.execute(
                "INSERT INTO deliveries(message_id, ticket_id, owner, until, done, attempts)"
                " VALUES (?,?,?,?,0,1) ON CONFLICT(message_id) DO UPDATE SET"
                " owner=excluded.owner, until=excluded.until, attempts=attempts+1"
                " WHERE deliveries.done=0 AND deliveries.until <= ?",
                (message_id, ticket_id, self.worker_id, until, now),
            )
            if cursor.rowcount == 1:
                return _Claim.TAKEN
            row = conn.execute(
                "SELECT done FROM deliveries WHERE message_id=?", (message_id,)
            ).fetchone()
            return _Claim.SENT if row is not None and row["done"] else _Claim.BUSY

        return await self.db.run(claim)

    async def _release(self, message_id: str) -> None:
        def release(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT attempts FROM deliveries WHERE message_id=?", (message_id,)
            ).fetchone()
            attempts = int(row["attempts"]) if row is not None else 1
            delay = min(60.0, self.retry_seconds * 2 ** max(0, attempts - 1))
            conn.execute(
                "UPDATE deliveries SET owner=NULL, until=? WHERE message_id=? AND owner=?",
                (self._clock() + delay, message_id, self.worker_id),
            )

        await self.db.run(release)

    async def _sent(self, message_id: str) -> None:
        await self.db.run(
            lambda conn: conn.execute(
                "UPDATE deliveries SET done=1 WHERE message_id=?", (message_id,)
            )
        )

    async def _drop(self, ticket_id: str) -> int:
        """Stop retrying a missing ticket's messages; returns how many were waiting."""
        return await self.db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE deliveries SET done=-1, owner=NULL WHERE ticket_id=? AND done=0",
                    (ticket_id,),
                ).rowcount
            )
        )

    async def deliver_ticket(self, ticket_id: str) -> int:
        """Send the ticket's pending agent messages, oldest first.

        Stops at the first message another worker is sending or that failed, so the
        customer sees messages in order.

        Args:
            ticket_id: The ticket.

        Returns:
            How many messages this call sent.
        """
        try:
            ticket = await self.queue.get(ticket_id)
        except TicketNotFoundError:
            dropped = await self._drop(ticket_id)
            if dropped:
                logger.error(
                    "Delivery: ticket %s no longer exists; %d unsent agent message(s) dropped.",
                    ticket_id,
                    dropped,
                )
            return 0
        except HandoffError as e:
            logger.warning("Delivery: ticket %s unavailable (%s).", ticket_id, type(e).__name__)
            return 0
        sent = 0
        for message in ticket.pending_deliveries():
            state = await self._claim(ticket_id, message.message_id)
            if state is _Claim.BUSY:
                break
            if state is _Claim.TAKEN:
                try:
                    await self._sender().deliver(
                        ticket.conversation_id, message.text, author="agent"
                    )
                except Exception as e:  # any channel failure: retry later
                    logger.warning(
                        "Delivery of message %s (ticket %s) failed (%s); will retry.",
                        message.message_id,
                        ticket_id,
                        type(e).__name__,
                    )
                    await self._release(message.message_id)
                    break
                await self._sent(message.message_id)
                sent += 1
            await self.queue.mark_delivered(ticket_id, message.message_id)
        return sent

    async def ticket_ids(self) -> list[str]:
        """Tickets that may have messages to send.

        Every open ticket in the queue (whichever process enqueued or claimed it), and
        every ticket, resolved ones included, with a message whose send failed and waits
        for its retry: resolving flushes the replies first, so a reply still unsent then
        has a failed attempt recorded here.

        Returns:
            Ticket ids, open ones first.
        """
        open_ids = [t.id for t in await self.queue.list_open()]

        def retrying(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT DISTINCT ticket_id FROM deliveries WHERE done=0 ORDER BY ticket_id"
            ).fetchall()
            return [r["ticket_id"] for r in rows]

        return list(dict.fromkeys([*open_ids, *await self.db.run(retrying, write=False)]))

    async def run_once(self) -> int:
        """One pass over every ticket ``tickets()`` names.

        Returns:
            Messages sent.
        """
        source = self._tickets or self.ticket_ids
        total = 0
        for ticket_id in await source():
            try:
                total += await self.deliver_ticket(ticket_id)
            except BotError as e:
                logger.error(
                    "Delivery pass failed for ticket %s (%s).", ticket_id, type(e).__name__
                )
        return total

    async def run(self, interval: float = 1.0) -> None:
        """Deliver until cancelled: a pass every ``interval`` seconds or when woken."""
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("Delivery pass failed.")
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
