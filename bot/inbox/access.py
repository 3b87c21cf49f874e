"""Who may see and act on which ticket.

Nothing is visible without a login (the HTTP layer enforces it). An agent sees queued
tickets and the tickets they hold; an admin sees every ticket. Only the agent holding a
ticket may reply to, resolve or transfer it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.handoff.model import Ticket, TicketStatus
from bot.inbox.auth import ForbiddenError, User


class TicketHiddenError(ForbiddenError):
    """The ticket is not visible to this user; reported as not found."""

    status_code = 404


def can_view(user: User, ticket: Ticket) -> bool:
    """Whether ``user`` may see ``ticket``.

    Args:
        user: The logged-in user.
        ticket: The ticket.

    Returns:
        ``True`` for admins, for queued tickets, and for the holder's own tickets.
    """
    if user.is_admin or ticket.status is TicketStatus.QUEUED:
        return True
    return ticket.assigned_agent == user.username


def visible(user: User, tickets: Iterable[Ticket]) -> list[Ticket]:
    """The tickets ``user`` may see, in the given order."""
    return [t for t in tickets if can_view(user, t)]


def require_view(user: User, ticket: Ticket) -> None:
    """Raise unless ``user`` may see ``ticket``.

    Raises:
        TicketHiddenError: If not (a 404, so ids of others' tickets are not confirmed).
    """
    if not can_view(user, ticket):
        raise TicketHiddenError(f"no ticket {ticket.id}")


def require_holder(user: User, ticket: Ticket) -> None:
    """Raise unless ``user`` holds ``ticket`` (claimed by them).

    Raises:
        TicketHiddenError: If the user may not even see it.
        ForbiddenError: If they see it but do not hold it.
    """
    require_view(user, ticket)
    if ticket.status is not TicketStatus.CLAIMED or ticket.assigned_agent != user.username:
        raise ForbiddenError("claim the ticket before acting on it")
