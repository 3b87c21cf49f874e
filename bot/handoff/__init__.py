"""Durable queue of conversations handed off from the bot to human agents.

Pick a backend with :func:`create_handoff_queue` (``type: sqlite`` or ``type: redis``) and
use it as ``async with``. Backends are imported lazily, so importing this package does not
import the Redis client.
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
from bot.handoff.queue import HandoffQueue, create_handoff_queue
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
