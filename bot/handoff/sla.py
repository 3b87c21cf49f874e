"""Service-level timers of the handoff queue: time to claim and time to first agent reply.

The rules are pure functions over a :class:`~bot.handoff.model.Ticket`; the queues call
:func:`breaches` from ``check_sla`` and fire the alert hook once per ticket and kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from bot.handoff.model import Ticket


class BreachKind(str, Enum):
    """Which SLA a ticket broke."""

    CLAIM = "claim"
    REPLY = "reply"


@dataclass(frozen=True)
class SLAPolicy:
    """SLA limits; ``None`` disables a timer.

    Attributes:
        claim_sla_seconds: Longest a ticket may wait unclaimed, counted from ``created_at``.
        reply_sla_seconds: Longest a claimed ticket may wait for the first agent message,
            counted from ``claimed_at``.
    """

    claim_sla_seconds: float | None = None
    reply_sla_seconds: float | None = None


@dataclass(frozen=True)
class SLABreach:
    """A ticket that broke an SLA.

    Attributes:
        ticket: The ticket as it was when checked.
        kind: Which SLA.
        waited_seconds: How long it has waited so far.
        limit_seconds: The limit it broke.
        new: ``True`` when this check raised the alert (the hook was called for it).
    """

    ticket: Ticket
    kind: BreachKind
    waited_seconds: float
    limit_seconds: float
    new: bool = True

    @property
    def ticket_id(self) -> str:
        """Id of the breached ticket."""
        return self.ticket.id


SLAHook = Callable[[SLABreach], Awaitable[None]]
"""Async callable the queue awaits once per ticket and breach kind."""


def breaches(ticket: Ticket, now: float, policy: SLAPolicy) -> list[SLABreach]:
    """The SLAs an open ticket breaks at ``now``.

    A ticket breaks the claim SLA while it has never been claimed and has waited longer than
    ``claim_sla_seconds``. It breaks the reply SLA while no agent has written yet and its
    first claim is longer ago than ``reply_sla_seconds`` (even if the lease has since expired,
    since the customer is still waiting).

    Args:
        ticket: The ticket.
        now: Current Unix time.
        policy: The limits.

    Returns:
        The breaches, each marked ``new`` unless the ticket records it as alerted.
    """
    if not ticket.is_open:
        return []
    found: list[SLABreach] = []
    if ticket.claimed_at is None and policy.claim_sla_seconds is not None:
        waited = now - ticket.created_at
        if waited > policy.claim_sla_seconds:
            found.append(
                _breach(ticket, BreachKind.CLAIM, waited, policy.claim_sla_seconds),
            )
    if (
        ticket.claimed_at is not None
        and ticket.first_agent_reply_at is None
        and policy.reply_sla_seconds is not None
    ):
        waited = now - ticket.claimed_at
        if waited > policy.reply_sla_seconds:
            found.append(
                _breach(ticket, BreachKind.REPLY, waited, policy.reply_sla_seconds),
            )
    return found


def _breach(ticket: Ticket, kind: BreachKind, waited: float, limit: float) -> SLABreach:
    return SLABreach(ticket, kind, waited, limit, new=kind.value not in ticket.sla_alerts)
