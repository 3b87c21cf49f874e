"""Errors raised by the human handoff queue.

Each carries the HTTP status it maps to, so the agent inbox can return it unchanged.
Messages name ticket ids and agent ids only, never customer text or personal data.
"""

from __future__ import annotations

from common.errors import BadRequestError, BotError


class HandoffError(BotError):
    """Base of every error raised by the handoff queue."""

    status_code = 500


class TicketNotFoundError(HandoffError):
    """No ticket has the given id.

    Args:
        ticket_id: The id that was looked up.
    """

    status_code = 404

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"Handoff ticket '{ticket_id}' does not exist.")
        self.ticket_id = ticket_id


class MessageNotFoundError(HandoffError):
    """A ticket has no message with the given id.

    Args:
        ticket_id: The ticket that was searched.
        message_id: The message id that was looked up.
    """

    status_code = 404

    def __init__(self, ticket_id: str, message_id: str) -> None:
        super().__init__(f"Handoff ticket '{ticket_id}' has no message '{message_id}'.")
        self.ticket_id = ticket_id
        self.message_id = message_id


class DuplicateTicketError(HandoffError):
    """A ticket with this id exists, or the conversation already has an open ticket.

    Args:
        ticket_id: The ticket that could not be enqueued or reopened.
        reason: Why, for the message.
    """

    status_code = 409

    def __init__(self, ticket_id: str, reason: str) -> None:
        super().__init__(f"Handoff ticket '{ticket_id}' conflicts: {reason}.")
        self.ticket_id = ticket_id


class ClaimConflictError(HandoffError):
    """Another agent holds a live lease on the ticket.

    Args:
        ticket_id: The contested ticket.
        holder: The agent holding the lease.
    """

    status_code = 409

    def __init__(self, ticket_id: str, holder: str | None) -> None:
        super().__init__(f"Handoff ticket '{ticket_id}' is claimed by another agent ({holder}).")
        self.ticket_id = ticket_id
        self.holder = holder


class LeaseExpiredError(HandoffError):
    """The agent's lease on the ticket ran out (or the agent never held one).

    Args:
        ticket_id: The ticket.
        agent: The agent whose lease is gone.
    """

    status_code = 409

    def __init__(self, ticket_id: str, agent: str) -> None:
        super().__init__(
            f"Agent '{agent}' holds no live lease on handoff ticket '{ticket_id}'; claim it again."
        )
        self.ticket_id = ticket_id
        self.agent = agent


class TicketClosedError(HandoffError):
    """The ticket is resolved; reopen it first.

    Args:
        ticket_id: The resolved ticket.
    """

    status_code = 409

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"Handoff ticket '{ticket_id}' is resolved; reopen it first.")
        self.ticket_id = ticket_id


class InvalidTicketError(HandoffError, BadRequestError):
    """A ticket or message is malformed (bad priority, status or author)."""

    status_code = 400


class HandoffStoreError(HandoffError):
    """The queue's storage backend failed or is unreachable."""

    status_code = 503
