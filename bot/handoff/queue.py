"""The handoff queue seam: the :class:`HandoffQueue` protocol and the shared store logic.

Both backends (:mod:`bot.handoff.sqlite_queue`, :mod:`bot.handoff.redis_queue`) subclass
:class:`StoreHandoffQueue`: they keep every ticket as one JSON document and apply the pure
transitions of :class:`~bot.handoff.model.Ticket` inside a storage transaction, so they
share every rule and differ only in how they store documents and index them.

The dependencies run one way: the backends import this module, and
:mod:`bot.handoff.factory` imports the backends to build the one an endpoint config asks
for.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

from bot.handoff import sla
from bot.handoff.errors import TicketNotFoundError
from bot.handoff.model import HandoffMessage, Ticket
from bot.handoff.sla import SLABreach, SLAHook, SLAPolicy

__all__ = ["Clock", "HandoffQueue", "StoreHandoffQueue"]

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Returns the current Unix time; injectable so tests control leases and SLAs."""

_Self = TypeVar("_Self", bound="StoreHandoffQueue")


@runtime_checkable
class HandoffQueue(Protocol):
    """A durable queue of conversations waiting for, or handled by, human agents."""

    async def initialize(self) -> None:
        """Open connections and create the schema if needed."""
        ...

    async def close(self) -> None:
        """Release connections. The queue can be initialized again afterwards."""
        ...

    async def __aenter__(self) -> HandoffQueue: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def enqueue(self, ticket: Ticket) -> Ticket:
        """Add a queued ticket; a conversation may have one open ticket at a time."""
        ...

    async def get(self, ticket_id: str) -> Ticket:
        """The ticket with this id (an expired lease is returned to the queue first)."""
        ...

    async def list_queued(self) -> list[Ticket]:
        """Queued tickets, highest priority first, then oldest first."""
        ...

    async def list_open(self) -> list[Ticket]:
        """Queued tickets in queue order, then claimed tickets, oldest first."""
        ...

    async def position(self, ticket_id: str) -> int | None:
        """1-based place of the ticket in the queue, ``None`` when it is not queued."""
        ...

    async def claim(self, ticket_id: str, agent: str, lease_seconds: float) -> Ticket:
        """Give the ticket to ``agent`` unless another agent holds a live lease."""
        ...

    async def renew(self, ticket_id: str, agent: str, lease_seconds: float) -> Ticket:
        """Extend the lease ``agent`` holds on the ticket."""
        ...

    async def transfer(
        self, ticket_id: str, from_agent: str, to_agent: str, lease_seconds: float | None = None
    ) -> Ticket:
        """Hand the ticket from the agent holding it to another agent."""
        ...

    async def resolve(self, ticket_id: str, agent: str) -> Ticket:
        """Close the ticket held by ``agent``."""
        ...

    async def reopen(self, ticket_id: str) -> Ticket:
        """Put a resolved ticket back in the queue."""
        ...

    async def append_message(self, ticket_id: str, message: HandoffMessage) -> Ticket:
        """Append a message; the same message id is stored once."""
        ...

    async def open_ticket_for(self, conversation_id: str) -> Ticket | None:
        """The queued or claimed ticket of a conversation, if any."""
        ...

    async def pending_deliveries(self, ticket_id: str) -> list[HandoffMessage]:
        """Agent messages not yet marked delivered, oldest first."""
        ...

    async def mark_delivered(self, ticket_id: str, message_id: str) -> Ticket:
        """Record that a message reached the customer; it is never pending again."""
        ...

    async def reap_expired(self, now: float | None = None) -> list[str]:
        """Return tickets with expired leases to the queue; gives their ids."""
        ...

    async def check_sla(self, now: float | None = None) -> list[SLABreach]:
        """Current SLA breaches; the alert hook is awaited once per ticket and kind."""
        ...

    async def tickets_created(self, since: float, until: float) -> list[Ticket]:
        """Every ticket (resolved ones too) created in ``[since, until)``, oldest first."""
        ...


class StoreHandoffQueue(abc.ABC):
    """Queue operations written once over a small set of storage primitives.

    Backends implement the abstract methods; every public operation of
    :class:`HandoffQueue` lives here.

    Args:
        clock: Returns the current Unix time.
        claim_sla_seconds: Claim SLA; ``None`` disables it.
        reply_sla_seconds: First-reply SLA; ``None`` disables it.
        sla_hook: Awaited once per ticket and breach kind.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        claim_sla_seconds: float | None = None,
        reply_sla_seconds: float | None = None,
        sla_hook: SLAHook | None = None,
    ) -> None:
        self._clock: Clock = clock or time.time
        self._policy = SLAPolicy(claim_sla_seconds, reply_sla_seconds)
        self._sla_hook = sla_hook

    # -- storage primitives ------------------------------------------------------------

    @abc.abstractmethod
    async def initialize(self) -> None:
        """Open connections and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def _insert(self, ticket: Ticket) -> None:
        """Store a new ticket; raise ``DuplicateTicketError`` on an id or open conflict."""

    @abc.abstractmethod
    async def _load(self, ticket_id: str) -> Ticket | None:
        """The stored ticket, without reaping."""

    @abc.abstractmethod
    async def _mutate(self, ticket_id: str, change: Callable[[Ticket], Ticket]) -> Ticket:
        """Atomically replace a ticket with ``change(ticket)`` and update the indexes.

        ``change`` returns its argument unchanged (the same object) for a no-op, may raise,
        and may run more than once (optimistic retries).
        """

    @abc.abstractmethod
    async def _queued(self) -> list[Ticket]:
        """Queued tickets in queue order."""

    @abc.abstractmethod
    async def _rank(self, ticket_id: str) -> int | None:
        """0-based rank of a queued ticket, ``None`` when not queued."""

    @abc.abstractmethod
    async def _open_ticket_id(self, conversation_id: str) -> str | None:
        """Id of the conversation's open ticket."""

    @abc.abstractmethod
    async def _expired_lease_ids(self, now: float) -> list[str]:
        """Ids of claimed tickets whose lease ran out at ``now``."""

    @abc.abstractmethod
    async def _open_tickets(self) -> list[Ticket]:
        """All queued and claimed tickets."""

    @abc.abstractmethod
    async def _created_between(self, since: float, until: float) -> list[Ticket]:
        """Every ticket created in ``[since, until)``, oldest first, as stored."""

    async def tickets_created(self, since: float, until: float) -> list[Ticket]:
        """Every ticket (resolved ones too) created in ``[since, until)``, oldest first.

        The insights read agent figures from these; leases are not reaped here.

        Args:
            since: Unix time, inclusive.
            until: Unix time, exclusive.

        Returns:
            The tickets.
        """
        return await self._created_between(since, until)

    # -- context manager ---------------------------------------------------------------

    async def __aenter__(self: _Self) -> _Self:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- operations --------------------------------------------------------------------

    async def _mutate_tracked(
        self, ticket_id: str, change: Callable[[Ticket], Ticket]
    ) -> tuple[Ticket, bool]:
        changed = False

        def tracked(ticket: Ticket) -> Ticket:
            nonlocal changed
            result = change(ticket)
            changed = result is not ticket
            return result

        ticket = await self._mutate(ticket_id, tracked)
        return ticket, changed

    async def enqueue(self, ticket: Ticket) -> Ticket:
        """Add a queued ticket.

        Args:
            ticket: A ticket in status ``queued``.

        Returns:
            The stored ticket, with its ``enqueued`` event.

        Raises:
            DuplicateTicketError: If the id exists or the conversation has an open ticket.
            InvalidTicketError: If the ticket is not queued.
        """
        stored = ticket.enqueued(self._clock())
        await self._insert(stored)
        logger.info("Handoff ticket %s enqueued (priority %d).", stored.id, stored.priority)
        return stored

    async def get(self, ticket_id: str) -> Ticket:
        """The ticket with this id; an expired lease is returned to the queue first.

        Args:
            ticket_id: Ticket id.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
        """
        ticket = await self._load(ticket_id)
        if ticket is None:
            raise TicketNotFoundError(ticket_id)
        now = self._clock()
        if ticket.lease_expired(now):
            ticket = await self._mutate(ticket_id, lambda t: t.expire_lease(now))
        return ticket

    async def list_queued(self) -> list[Ticket]:
        """Queued tickets, highest priority first, then oldest first.

        Returns:
            The queue, after returning expired leases to it.
        """
        await self.reap_expired()
        return await self._queued()

    async def list_open(self) -> list[Ticket]:
        """Every open ticket: the queue, then the claimed tickets, oldest first.

        Every process sharing the store sees the same list, whichever process enqueued
        or claimed a ticket.

        Returns:
            Open tickets, after returning expired leases to the queue.
        """
        await self.reap_expired()
        queued = await self._queued()
        seen = {t.id for t in queued}
        claimed = [t for t in await self._open_tickets() if t.id not in seen and t.is_open]
        claimed.sort(key=lambda t: (t.created_at, t.id))
        return queued + claimed

    async def position(self, ticket_id: str) -> int | None:
        """1-based place of a ticket in the queue.

        Args:
            ticket_id: Ticket id.

        Returns:
            The place, or ``None`` when the ticket is claimed or resolved.

        Raises:
            TicketNotFoundError: If there is no such ticket.
        """
        await self.reap_expired()
        rank = await self._rank(ticket_id)
        if rank is None:
            await self.get(ticket_id)
            return None
        return rank + 1

    async def claim(self, ticket_id: str, agent: str, lease_seconds: float) -> Ticket:
        """Give the ticket to ``agent`` for ``lease_seconds``.

        Claiming a ticket the agent already holds renews its lease. A ticket whose lease
        expired can be claimed by anyone.

        Args:
            ticket_id: Ticket id.
            agent: Agent id.
            lease_seconds: Lease length.

        Returns:
            The claimed ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            ClaimConflictError: If another agent holds a live lease.
            TicketClosedError: If the ticket is resolved.
        """
        now = self._clock()
        ticket = await self._mutate(ticket_id, lambda t: t.claim(agent, now, lease_seconds))
        logger.info("Handoff ticket %s claimed by agent %s.", ticket_id, agent)
        return ticket

    async def renew(self, ticket_id: str, agent: str, lease_seconds: float) -> Ticket:
        """Extend the lease ``agent`` holds to ``lease_seconds`` from now.

        Args:
            ticket_id: Ticket id.
            agent: Agent id.
            lease_seconds: New lease length.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            LeaseExpiredError: If the lease already ran out.
            ClaimConflictError: If another agent holds the ticket.
            TicketClosedError: If the ticket is resolved.
        """
        now = self._clock()
        return await self._mutate(ticket_id, lambda t: t.renew(agent, now, lease_seconds))

    async def transfer(
        self, ticket_id: str, from_agent: str, to_agent: str, lease_seconds: float | None = None
    ) -> Ticket:
        """Hand the ticket from the agent holding it to another agent.

        Args:
            ticket_id: Ticket id.
            from_agent: Agent holding the lease.
            to_agent: Agent taking over.
            lease_seconds: New lease length; ``None`` keeps the current expiry.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            LeaseExpiredError: If ``from_agent``'s lease ran out.
            ClaimConflictError: If another agent holds the ticket.
            TicketClosedError: If the ticket is resolved.
        """
        now = self._clock()
        ticket = await self._mutate(
            ticket_id, lambda t: t.transfer(from_agent, to_agent, now, lease_seconds)
        )
        logger.info("Handoff ticket %s transferred from %s to %s.", ticket_id, from_agent, to_agent)
        return ticket

    async def resolve(self, ticket_id: str, agent: str) -> Ticket:
        """Close the ticket held by ``agent``; resolving twice is a no-op.

        Args:
            ticket_id: Ticket id.
            agent: Agent holding the lease.

        Returns:
            The resolved ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            LeaseExpiredError: If the lease ran out.
            ClaimConflictError: If another agent holds the ticket.
        """
        now = self._clock()
        ticket = await self._mutate(ticket_id, lambda t: t.resolve(agent, now))
        logger.info("Handoff ticket %s resolved by agent %s.", ticket_id, agent)
        return ticket

    async def reopen(self, ticket_id: str) -> Ticket:
        """Put a resolved ticket back in the queue; an open ticket is returned unchanged.

        Args:
            ticket_id: Ticket id.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            DuplicateTicketError: If the conversation opened another ticket meanwhile.
        """
        now = self._clock()
        ticket = await self._mutate(ticket_id, lambda t: t.reopen(now))
        logger.info("Handoff ticket %s reopened.", ticket_id)
        return ticket

    async def append_message(self, ticket_id: str, message: HandoffMessage) -> Ticket:
        """Append a message; appending the same message id again is a no-op.

        Args:
            ticket_id: Ticket id.
            message: The message.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            TicketClosedError: If the ticket is resolved and the message is new.
        """
        now = self._clock()
        ticket, added = await self._mutate_tracked(ticket_id, lambda t: t.append(message, now))
        if added:
            logger.debug(
                "Handoff ticket %s: %s message %s appended.",
                ticket_id,
                message.author.value,
                message.message_id,
            )
        return ticket

    async def open_ticket_for(self, conversation_id: str) -> Ticket | None:
        """The queued or claimed ticket of a conversation.

        Args:
            conversation_id: Rasa sender id.

        Returns:
            The ticket, or ``None`` when the conversation has no open ticket.
        """
        ticket_id = await self._open_ticket_id(conversation_id)
        if ticket_id is None:
            return None
        try:
            ticket = await self.get(ticket_id)
        except TicketNotFoundError:
            return None
        return ticket if ticket.is_open else None

    async def pending_deliveries(self, ticket_id: str) -> list[HandoffMessage]:
        """Agent messages not yet marked delivered, oldest first.

        Args:
            ticket_id: Ticket id.

        Returns:
            The outbox; a message stays here until :meth:`mark_delivered`.

        Raises:
            TicketNotFoundError: If there is no such ticket.
        """
        ticket = await self._load(ticket_id)
        if ticket is None:
            raise TicketNotFoundError(ticket_id)
        return ticket.pending_deliveries()

    async def mark_delivered(self, ticket_id: str, message_id: str) -> Ticket:
        """Record that a message reached the customer; it is never pending again.

        Args:
            ticket_id: Ticket id.
            message_id: The delivered message.

        Returns:
            The ticket.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            MessageNotFoundError: If the ticket has no such message.
        """
        now = self._clock()
        return await self._mutate(ticket_id, lambda t: t.mark_delivered(message_id, now))

    async def reap_expired(self, now: float | None = None) -> list[str]:
        """Return every ticket whose lease ran out to the queue.

        Args:
            now: Unix time to check against; the clock when omitted.

        Returns:
            Ids of the tickets this call requeued.
        """
        at = self._clock() if now is None else now
        requeued: list[str] = []
        for ticket_id in await self._expired_lease_ids(at):
            try:
                _, changed = await self._mutate_tracked(ticket_id, lambda t: t.expire_lease(at))
            except TicketNotFoundError:
                continue
            if changed:
                requeued.append(ticket_id)
                logger.info("Handoff ticket %s: lease expired, back in the queue.", ticket_id)
        return requeued

    async def check_sla(self, now: float | None = None) -> list[SLABreach]:
        """Find SLA breaches and alert each new one once.

        The breach is recorded on the ticket before the hook is awaited, so an alert is
        raised at most once per ticket and kind, even with several processes checking.

        Args:
            now: Unix time to check against; the clock when omitted.

        Returns:
            Every current breach; those alerted by this call have ``new=True``.
        """
        at = self._clock() if now is None else now
        found: list[SLABreach] = []
        for ticket in await self._open_tickets():
            for breach in sla.breaches(ticket, at, self._policy):
                if breach.new:
                    mark = functools.partial(Ticket.sla_alerted, kind=breach.kind.value, now=at)
                    _, marked = await self._mutate_tracked(ticket.id, mark)
                    breach = dataclasses.replace(breach, new=marked)
                    if marked:
                        await self._alert(breach)
                found.append(breach)
        return found

    async def _alert(self, breach: SLABreach) -> None:
        logger.warning(
            "Handoff ticket %s broke the %s SLA (%.0fs > %.0fs).",
            breach.ticket_id,
            breach.kind.value,
            breach.waited_seconds,
            breach.limit_seconds,
        )
        if self._sla_hook is None:
            return
        try:
            await self._sla_hook(breach)
        except Exception:
            logger.exception("SLA alert hook failed for handoff ticket %s.", breach.ticket_id)
