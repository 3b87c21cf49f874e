"""The handoff ticket model and its state machine.

Tickets are frozen dataclasses. Every transition (claim, renew, transfer, resolve, ...) is a
pure method that returns a new ticket, or the same object when nothing changes, so both
backends share one set of rules and only differ in how they store the result atomically.

A ticket moves ``queued -> claimed -> resolved``; an expired lease moves it back to
``queued`` and ``reopen`` moves a resolved ticket back to ``queued``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from bot.handoff.errors import (
    ClaimConflictError,
    InvalidTicketError,
    LeaseExpiredError,
    MessageNotFoundError,
    TicketClosedError,
)
from common.conversation import Turn

MAX_PRIORITY = 9
"""Highest priority a ticket may carry (the Redis queue score packs it with the age)."""


class TicketStatus(str, Enum):
    """Where a ticket is in its life."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Priority(IntEnum):
    """Named priorities; any int from 0 to :data:`MAX_PRIORITY` is accepted."""

    NORMAL = 0
    HIGH = 1
    URGENT = 2


class MessageAuthor(str, Enum):
    """Who wrote a message appended during the handoff."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class EventKind(str, Enum):
    """Kinds of entries in a ticket's audit history."""

    ENQUEUED = "enqueued"
    CLAIMED = "claimed"
    LEASE_EXPIRED = "lease_expired"
    TRANSFERRED = "transferred"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SLA_BREACHED = "sla_breached"


@dataclass(frozen=True)
class HandoffMessage:
    """A message exchanged while a human handles the ticket.

    Attributes:
        message_id: Unique id; appending the same id twice stores the message once.
        author: Who wrote it.
        text: The message text.
        timestamp: Unix time the message was written.
        agent: The agent who wrote it, for agent messages.
        delivered_at: When the customer's channel confirmed delivery (agent messages only).
    """

    message_id: str
    author: MessageAuthor
    text: str
    timestamp: float
    agent: str | None = None
    delivered_at: float | None = None

    def __post_init__(self) -> None:
        if not self.message_id:
            raise InvalidTicketError("A handoff message needs a non-empty message_id.")
        try:
            object.__setattr__(self, "author", MessageAuthor(self.author))
        except ValueError as e:
            raise InvalidTicketError(f"Unknown message author {self.author!r}.") from e


@dataclass(frozen=True)
class TicketEvent:
    """One entry of a ticket's audit history.

    Attributes:
        kind: What happened.
        at: Unix time it happened.
        actor: The agent (or ``None`` for the system).
        detail: Extra context, e.g. the agent a ticket was transferred to.
    """

    kind: EventKind
    at: float
    actor: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))


@dataclass(frozen=True)
class Ticket:
    """A conversation waiting for, or handled by, a human agent.

    Attributes:
        id: Ticket id.
        conversation_id: Rasa sender id of the conversation.
        channel: Channel the customer is on (``webchat``, ``slack``, ...).
        customer_id: The customer's id on that channel.
        created_at: Unix time of escalation; ages in the queue count from here.
        status: Where the ticket is in its life.
        priority: Higher first; see :class:`Priority`.
        trigger: Why the bot escalated (e.g. ``low_confidence``, ``asked_for_human``).
        summary: Short summary for the agent.
        intents: Intents detected during the conversation.
        sentiment: Sentiment score of the conversation, if measured.
        transcript: The bot conversation before the handoff: turns with roles ``customer``
            and ``bot`` (stored tickets from before, whose customer turns say ``user``,
            load as ``customer``).
        assigned_agent: The agent holding (or last holding) the lease.
        lease_expiry: Unix time the agent's lease runs out.
        messages: Messages appended during the handoff, in arrival order.
        claimed_at: First time an agent claimed the ticket (SLA: time to claim).
        first_agent_reply_at: First agent message (SLA: time to first reply).
        resolved_at: When the ticket was last resolved.
        sla_alerts: Breach kinds already alerted, so each alerts once.
        events: Audit history, oldest first.
    """

    id: str
    conversation_id: str
    channel: str
    customer_id: str
    created_at: float
    status: TicketStatus = TicketStatus.QUEUED
    priority: int = Priority.NORMAL
    trigger: str = ""
    summary: str = ""
    intents: tuple[str, ...] = ()
    sentiment: float | None = None
    transcript: tuple[Turn, ...] = ()
    assigned_agent: str | None = None
    lease_expiry: float | None = None
    messages: tuple[HandoffMessage, ...] = ()
    claimed_at: float | None = None
    first_agent_reply_at: float | None = None
    resolved_at: float | None = None
    sla_alerts: tuple[str, ...] = ()
    events: tuple[TicketEvent, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", TicketStatus(self.status))
        object.__setattr__(self, "priority", int(self.priority))
        if not 0 <= self.priority <= MAX_PRIORITY:
            raise InvalidTicketError(f"Ticket priority must be in 0..{MAX_PRIORITY}.")
        if not self.id or not self.conversation_id:
            raise InvalidTicketError("A ticket needs an id and a conversation id.")
        for name in ("intents", "transcript", "messages", "sla_alerts", "events"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def new(
        cls,
        conversation_id: str,
        channel: str,
        customer_id: str,
        created_at: float,
        *,
        priority: int = Priority.NORMAL,
        trigger: str = "",
        summary: str = "",
        intents: Sequence[str] = (),
        sentiment: float | None = None,
        transcript: Sequence[Turn] = (),
        ticket_id: str | None = None,
    ) -> Ticket:
        """Build a queued ticket with a fresh id.

        Args:
            conversation_id: Rasa sender id.
            channel: Channel name.
            customer_id: Customer id on the channel.
            created_at: Unix time of escalation.
            priority: Higher first.
            trigger: Why the bot escalated.
            summary: Summary for the agent.
            intents: Detected intents.
            sentiment: Sentiment score, if any.
            transcript: Conversation so far.
            ticket_id: Explicit id; a random one when omitted.

        Returns:
            The new ticket.
        """
        return cls(
            id=ticket_id or uuid.uuid4().hex,
            conversation_id=conversation_id,
            channel=channel,
            customer_id=customer_id,
            created_at=created_at,
            priority=priority,
            trigger=trigger,
            summary=summary,
            intents=tuple(intents),
            sentiment=sentiment,
            transcript=tuple(transcript),
        )

    # -- queries -----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the ticket is queued or claimed."""
        return self.status is not TicketStatus.RESOLVED

    def lease_live(self, now: float) -> bool:
        """Whether the ticket is claimed with a lease that has not run out.

        Args:
            now: Current Unix time.

        Returns:
            ``True`` while the lease is live.
        """
        return (
            self.status is TicketStatus.CLAIMED
            and self.lease_expiry is not None
            and now < self.lease_expiry
        )

    def lease_expired(self, now: float) -> bool:
        """Whether the ticket is claimed but its lease ran out (it is due to be reaped).

        Args:
            now: Current Unix time.

        Returns:
            ``True`` when the ticket should go back to the queue.
        """
        return self.status is TicketStatus.CLAIMED and not self.lease_live(now)

    def message(self, message_id: str) -> HandoffMessage | None:
        """The message with this id, if any.

        Args:
            message_id: Message id.

        Returns:
            The message or ``None``.
        """
        return next((m for m in self.messages if m.message_id == message_id), None)

    def pending_deliveries(self) -> list[HandoffMessage]:
        """Agent messages not yet confirmed delivered to the customer, oldest first.

        Returns:
            The outbox.
        """
        return [
            m for m in self.messages if m.author is MessageAuthor.AGENT and m.delivered_at is None
        ]

    # -- transitions -------------------------------------------------------------------

    def _event(
        self, kind: EventKind, at: float, actor: str | None = None, detail: str | None = None
    ) -> tuple[TicketEvent, ...]:
        return (*self.events, TicketEvent(kind, at, actor, detail))

    def expire_lease(self, now: float) -> Ticket:
        """Return the ticket to the queue if its lease ran out.

        Args:
            now: Current Unix time.

        Returns:
            The requeued ticket, or ``self`` when the lease is live or there is none.
        """
        if not self.lease_expired(now):
            return self
        return dataclasses.replace(
            self,
            status=TicketStatus.QUEUED,
            lease_expiry=None,
            events=self._event(EventKind.LEASE_EXPIRED, now, self.assigned_agent),
        )

    def enqueued(self, now: float) -> Ticket:
        """Record the ticket entering the queue.

        Args:
            now: Current Unix time.

        Returns:
            The ticket with an ``enqueued`` event.

        Raises:
            InvalidTicketError: If the ticket is not queued.
        """
        if self.status is not TicketStatus.QUEUED:
            raise InvalidTicketError("Only a queued ticket can be enqueued.")
        return dataclasses.replace(self, events=self._event(EventKind.ENQUEUED, now))

    def claim(self, agent: str, now: float, lease_seconds: float) -> Ticket:
        """Give the ticket to ``agent`` for ``lease_seconds``.

        Claiming a ticket the agent already holds renews the lease.

        Args:
            agent: Agent id.
            now: Current Unix time.
            lease_seconds: Lease length.

        Returns:
            The claimed ticket.

        Raises:
            TicketClosedError: If the ticket is resolved.
            ClaimConflictError: If another agent holds a live lease.
        """
        _check_lease_seconds(lease_seconds)
        ticket = self.expire_lease(now)
        if ticket.status is TicketStatus.RESOLVED:
            raise TicketClosedError(self.id)
        if ticket.status is TicketStatus.CLAIMED:
            if ticket.assigned_agent != agent:
                raise ClaimConflictError(self.id, ticket.assigned_agent)
            return dataclasses.replace(ticket, lease_expiry=now + lease_seconds)
        return dataclasses.replace(
            ticket,
            status=TicketStatus.CLAIMED,
            assigned_agent=agent,
            lease_expiry=now + lease_seconds,
            claimed_at=ticket.claimed_at if ticket.claimed_at is not None else now,
            events=ticket._event(EventKind.CLAIMED, now, agent),
        )

    def _held_by(self, agent: str, now: float) -> Ticket:
        ticket = self.expire_lease(now)
        if ticket.status is TicketStatus.RESOLVED:
            raise TicketClosedError(self.id)
        if ticket.status is TicketStatus.QUEUED:
            raise LeaseExpiredError(self.id, agent)
        if ticket.assigned_agent != agent:
            raise ClaimConflictError(self.id, ticket.assigned_agent)
        return ticket

    def renew(self, agent: str, now: float, lease_seconds: float) -> Ticket:
        """Extend the lease of the agent holding the ticket.

        Args:
            agent: Agent id.
            now: Current Unix time.
            lease_seconds: New lease length, counted from ``now``.

        Returns:
            The ticket with the new lease expiry.

        Raises:
            LeaseExpiredError: If the agent's lease already ran out.
            ClaimConflictError: If another agent holds the ticket.
            TicketClosedError: If the ticket is resolved.
        """
        _check_lease_seconds(lease_seconds)
        ticket = self._held_by(agent, now)
        return dataclasses.replace(ticket, lease_expiry=now + lease_seconds)

    def transfer(
        self, from_agent: str, to_agent: str, now: float, lease_seconds: float | None
    ) -> Ticket:
        """Hand the ticket from one agent to another.

        Args:
            from_agent: Agent holding the lease.
            to_agent: Agent taking over.
            now: Current Unix time.
            lease_seconds: New lease length; ``None`` keeps the current expiry.

        Returns:
            The transferred ticket.

        Raises:
            LeaseExpiredError: If ``from_agent``'s lease ran out.
            ClaimConflictError: If another agent holds the ticket.
            TicketClosedError: If the ticket is resolved.
        """
        if lease_seconds is not None:
            _check_lease_seconds(lease_seconds)
        ticket = self._held_by(from_agent, now)
        expiry = ticket.lease_expiry if lease_seconds is None else now + lease_seconds
        return dataclasses.replace(
            ticket,
            assigned_agent=to_agent,
            lease_expiry=expiry,
            events=ticket._event(EventKind.TRANSFERRED, now, from_agent, to_agent),
        )

    def resolve(self, agent: str, now: float) -> Ticket:
        """Close the ticket. Resolving twice by the same agent is a no-op.

        Args:
            agent: Agent holding the lease.
            now: Current Unix time.

        Returns:
            The resolved ticket.

        Raises:
            LeaseExpiredError: If the agent's lease ran out.
            ClaimConflictError: If another agent holds the ticket.
            TicketClosedError: If another agent resolved it.
        """
        if self.status is TicketStatus.RESOLVED and self.assigned_agent == agent:
            return self
        ticket = self._held_by(agent, now)
        return dataclasses.replace(
            ticket,
            status=TicketStatus.RESOLVED,
            lease_expiry=None,
            resolved_at=now,
            events=ticket._event(EventKind.RESOLVED, now, agent),
        )

    def reopen(self, now: float) -> Ticket:
        """Put a resolved ticket back in the queue; an open ticket is returned unchanged.

        SLA timestamps keep their first values: reopening does not restart the timers.

        Args:
            now: Current Unix time.

        Returns:
            The queued ticket.
        """
        if self.is_open:
            return self
        return dataclasses.replace(
            self,
            status=TicketStatus.QUEUED,
            assigned_agent=None,
            lease_expiry=None,
            events=self._event(EventKind.REOPENED, now),
        )

    def append(self, message: HandoffMessage, now: float) -> Ticket:
        """Append a message; a message id already stored is ignored.

        Args:
            message: The message.
            now: Current Unix time (sets ``first_agent_reply_at``).

        Returns:
            The ticket with the message, or ``self`` if it was already there.

        Raises:
            TicketClosedError: If the ticket is resolved and the message is new.
        """
        if self.message(message.message_id) is not None:
            return self
        if not self.is_open:
            raise TicketClosedError(self.id)
        first_reply = self.first_agent_reply_at
        if message.author is MessageAuthor.AGENT and first_reply is None:
            first_reply = now
        stored = dataclasses.replace(message, delivered_at=None)
        return dataclasses.replace(
            self, messages=(*self.messages, stored), first_agent_reply_at=first_reply
        )

    def mark_delivered(self, message_id: str, now: float) -> Ticket:
        """Record that a message reached the customer. Marking twice is a no-op.

        Args:
            message_id: The delivered message.
            now: Current Unix time.

        Returns:
            The updated ticket.

        Raises:
            MessageNotFoundError: If the ticket has no such message.
        """
        found = self.message(message_id)
        if found is None:
            raise MessageNotFoundError(self.id, message_id)
        if found.delivered_at is not None:
            return self
        messages = tuple(
            dataclasses.replace(m, delivered_at=now) if m.message_id == message_id else m
            for m in self.messages
        )
        return dataclasses.replace(self, messages=messages)

    def sla_alerted(self, kind: str, now: float) -> Ticket:
        """Record that a breach of ``kind`` was alerted; a second call is a no-op.

        Args:
            kind: Breach kind (``claim`` or ``reply``).
            now: Current Unix time.

        Returns:
            The updated ticket, or ``self`` if the breach was already alerted.
        """
        if kind in self.sla_alerts:
            return self
        return dataclasses.replace(
            self,
            sla_alerts=(*self.sla_alerts, kind),
            events=self._event(EventKind.SLA_BREACHED, now, None, kind),
        )

    # -- serialisation -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the ticket.

        Returns:
            The ticket as built-in types.
        """
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["transcript"] = [t.to_dict() for t in self.transcript]
        data["messages"] = [{**m, "author": m["author"].value} for m in data["messages"]]
        data["events"] = [{**e, "kind": e["kind"].value} for e in data["events"]]
        return data

    def to_json(self) -> str:
        """JSON text of the ticket.

        Returns:
            The ticket as JSON.
        """
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """Rebuild a ticket from :meth:`to_dict` output.

        Args:
            data: The dict.

        Returns:
            The ticket.
        """
        values = dict(data)
        values["intents"] = tuple(values.get("intents", ()))
        values["sla_alerts"] = tuple(values.get("sla_alerts", ()))
        values["transcript"] = tuple(Turn.from_dict(t) for t in values.get("transcript", ()))
        values["messages"] = _build(HandoffMessage, values.get("messages", ()))
        values["events"] = _build(TicketEvent, values.get("events", ()))
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> Ticket:
        """Rebuild a ticket from :meth:`to_json` output.

        Args:
            text: The JSON text.

        Returns:
            The ticket.
        """
        return cls.from_dict(json.loads(text))


def _build(kind: Any, items: Iterable[Mapping[str, Any]]) -> tuple[Any, ...]:
    return tuple(kind(**item) for item in items)


def _check_lease_seconds(lease_seconds: float) -> None:
    if lease_seconds <= 0:
        raise InvalidTicketError("lease_seconds must be positive.")
