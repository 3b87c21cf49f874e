"""Durable queue of conversations handed off from the bot to human agents.

Read the settings with :func:`~bot.handoff.config.handoff_queue_config`, pick a backend
with :func:`create_handoff_queue` (``type: sqlite`` or ``type: redis``) and use it as
``async with``. :mod:`bot.handoff.queue` holds the protocol and the logic both backends
share, :mod:`bot.handoff.factory` builds a backend, and :mod:`bot.handoff.outbound` is how
agents' replies reach a customer's channel.
"""

from bot.handoff.errors import (
    ClaimConflictError,
    DuplicateTicketError,
    HandoffError,
    HandoffStoreError,
    InvalidTicketError,
    LeaseExpiredError,
    MessageNotFoundError,
    TicketClosedError,
    TicketNotFoundError,
)
from bot.handoff.factory import create_handoff_queue
from bot.handoff.model import (
    MAX_PRIORITY,
    EventKind,
    HandoffMessage,
    MessageAuthor,
    Priority,
    Ticket,
    TicketEvent,
    TicketStatus,
    Turn,
)
from bot.handoff.queue import HandoffQueue
from bot.handoff.sla import BreachKind, SLABreach, SLAHook, SLAPolicy

__all__ = [
    "MAX_PRIORITY",
    "BreachKind",
    "ClaimConflictError",
    "DuplicateTicketError",
    "EventKind",
    "HandoffError",
    "HandoffMessage",
    "HandoffQueue",
    "HandoffStoreError",
    "InvalidTicketError",
    "LeaseExpiredError",
    "MessageAuthor",
    "MessageNotFoundError",
    "Priority",
    "SLABreach",
    "SLAHook",
    "SLAPolicy",
    "Ticket",
    "TicketClosedError",
    "TicketEvent",
    "TicketNotFoundError",
    "TicketStatus",
    "Turn",
    "create_handoff_queue",
]
