"""The inbox operations on top of the handoff queue.

List, claim, reply, resolve, transfer, and mark a misread customer message with the
right intent. Each checks access, acts, writes the audit log and feeds the feedback store.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from bot.handoff.model import HandoffMessage, MessageAuthor, Ticket, TicketStatus
from bot.handoff.outbound import outbound_registry
from bot.handoff.queue import HandoffQueue
from bot.inbox import access
from bot.inbox.audit import AuditLog
from bot.inbox.auth import User, UserStore
from bot.inbox.db import InboxDB
from bot.inbox.delivery import DeliveryWorker
from bot.inbox.feedback import FeedbackStore
from bot.inbox.resume import Resumer
from bot.inbox.suggest import Suggester, Suggestion
from common.conversation import Role
from common.errors import BadRequestError, BotError

logger = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 900.0
MAX_REPLY_CHARS = 4000


class StateNotifier:
    """Tells the customer's client who it is talking to (best effort)."""

    async def notify(self, sender_id: str, state: str) -> None:
        """Send the handoff state through the outbound registry; failures are logged."""
        try:
            await outbound_registry().notify_state(sender_id, state)  # type: ignore[arg-type]
        except BotError as e:
            logger.warning("No handoff state sent to %s (%s).", sender_id, type(e).__name__)


@dataclass
class InboxService:
    """The agent inbox's operations.

    Attributes:
        queue: The handoff queue (initialized by the owner).
        db: The inbox database.
        users: Accounts (transfer targets are checked against it).
        audit: The audit log.
        feedback: The feedback store.
        delivery: Sends agent replies; woken after each reply, flushed before resolve.
        suggester: Makes suggested replies.
        resumer: Gives the conversation back to the bot on resolve; ``None``: no resume.
        notifier: Tells the customer's client the handoff state.
        intents: The domain's intents (allowed in corrections); empty: any.
        lease_seconds: How long a claim lasts without activity.
        clock: Returns the current Unix time.
    """

    queue: HandoffQueue
    db: InboxDB
    users: UserStore
    audit: AuditLog
    feedback: FeedbackStore
    delivery: DeliveryWorker
    suggester: Suggester
    resumer: Resumer | None = None
    notifier: StateNotifier | None = None
    intents: Collection[str] = ()
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    clock: Callable[[], float] = time.time

    async def initialize(self) -> None:
        """Create every table the inbox needs."""
        await self.users.initialize()
        await self.audit.initialize()
        await self.feedback.initialize()
        await self.delivery.initialize()

    async def all_tickets(self) -> list[Ticket]:
        """Every open ticket: the queue in order, then the claimed ones, oldest first."""
        return await self.queue.list_open()

    # -- operations --------------------------------------------------------------------

    async def list_tickets(self, user: User) -> list[Ticket]:
        """The open tickets ``user`` may see."""
        return access.visible(user, await self.all_tickets())

    async def ticket(self, user: User, ticket_id: str) -> Ticket:
        """One ticket, if ``user`` may see it.

        Raises:
            TicketNotFoundError: If there is no such ticket.
            TicketHiddenError: If the user may not see it.
        """
        ticket = await self.queue.get(ticket_id)
        access.require_view(user, ticket)
        return ticket

    async def claim(self, user: User, ticket_id: str) -> Ticket:
        """Take a queued ticket (or renew one's own claim)."""
        await self.ticket(user, ticket_id)
        ticket = await self.queue.claim(ticket_id, user.username, self.lease_seconds)
        await self.audit.record(user.username, "claim", ticket_id)
        if self.notifier is not None:
            await self.notifier.notify(ticket.conversation_id, "agent")
        return ticket

    async def reply(
        self, user: User, ticket_id: str, text: str, suggestion: str | None = None
    ) -> HandoffMessage:
        """Send a reply to the customer of a ticket the user holds.

        Args:
            user: The agent.
            ticket_id: The ticket.
            text: The reply.
            suggestion: The suggested reply it started from, if any.

        Returns:
            The queued message (delivered by the delivery worker).

        Raises:
            BadRequestError: For an empty or too long reply.
            ForbiddenError: If the user does not hold the ticket.
        """
        text = text.strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            raise BadRequestError(f"a reply has 1-{MAX_REPLY_CHARS} characters")
        ticket = await self.queue.get(ticket_id)
        access.require_holder(user, ticket)
        ticket = await self.queue.renew(ticket_id, user.username, self.lease_seconds)
        message = HandoffMessage(
            message_id=uuid.uuid4().hex,
            author=MessageAuthor.AGENT,
            text=text,
            timestamp=self.clock(),
            agent=user.username,
        )
        await self.queue.append_message(ticket_id, message)
        self.delivery.wake()
        await self.audit.record(user.username, "reply", ticket_id, message.message_id)
        await self._learn(ticket, text, suggestion)
        return message

    async def _learn(self, ticket: Ticket, text: str, suggestion: str | None) -> None:
        turns = _turns(ticket)
        last_customer = max((i for i, (r, _) in enumerate(turns) if r == "customer"), default=-1)
        try:
            if last_customer >= 0:
                await self.feedback.add_pair(
                    ticket.id,
                    ticket.conversation_id,
                    ticket.channel,
                    turns[:last_customer],
                    turns[last_customer][1],
                    text,
                    ticket.intents[-1] if ticket.intents else "",
                )
            if suggestion and suggestion.strip() and suggestion.strip() != text:
                await self.feedback.add_edit(ticket.id, suggestion.strip(), text)
        except BotError as e:
            logger.error("Feedback for ticket %s not stored (%s).", ticket.id, type(e).__name__)

    async def resolve(self, user: User, ticket_id: str) -> Ticket:
        """Close the ticket: flush the replies, resolve, and give the conversation back."""
        ticket = await self.queue.get(ticket_id)
        access.require_holder(user, ticket)
        await self.delivery.deliver_ticket(ticket_id)
        ticket = await self.queue.resolve(ticket_id, user.username)
        await self.audit.record(user.username, "resolve", ticket_id)
        if self.resumer is not None:
            try:
                await self.resumer.resume(ticket.conversation_id)
            except BotError as e:
                logger.error(
                    "Conversation %s not resumed after ticket %s (%s).",
                    ticket.conversation_id,
                    ticket_id,
                    type(e).__name__,
                )
        return ticket

    async def transfer(self, user: User, ticket_id: str, to_agent: str) -> Ticket:
        """Hand a held ticket to another inbox user.

        Raises:
            BadRequestError: If ``to_agent`` is not a user or is the holder.
        """
        ticket = await self.queue.get(ticket_id)
        access.require_holder(user, ticket)
        names = {u.username for u in await self.users.users()}
        if to_agent not in names or to_agent == user.username:
            raise BadRequestError("transfer to another existing agent")
        ticket = await self.queue.transfer(ticket_id, user.username, to_agent, self.lease_seconds)
        await self.audit.record(user.username, "transfer", ticket_id, to_agent)
        return ticket

    async def correct(self, user: User, ticket_id: str, turn: int, intent: str) -> str:
        """Mark the bot's handling of a customer turn wrong and give the right intent.

        Args:
            user: The agent (must hold the ticket, or be an admin).
            ticket_id: The ticket.
            turn: Index into the transcript: the customer turn, or a bot turn (its
                nearest earlier customer turn is used).
            intent: The right intent (one of the domain's).

        Returns:
            The intent the bot had predicted for that turn ("" when unknown).

        Raises:
            BadRequestError: For an unknown intent or a turn with no customer message.
        """
        ticket = await self.queue.get(ticket_id)
        if user.is_admin:
            access.require_view(user, ticket)
        else:
            access.require_holder(user, ticket)
        if self.intents and intent not in self.intents:
            raise BadRequestError(f"unknown intent {intent!r}")
        if not 0 <= turn < len(ticket.transcript):
            raise BadRequestError("no such turn")
        users_turns = [i for i, t in enumerate(ticket.transcript) if t.role is Role.CUSTOMER]
        index = max((i for i in users_turns if i <= turn), default=-1)
        if index < 0:
            raise BadRequestError("no customer message at or before that turn")
        position = users_turns.index(index)
        # The ticket's intents are the conversation's, in order; align them from the end.
        offset = len(ticket.intents) - len(users_turns)
        predicted = (
            ticket.intents[position + offset]
            if 0 <= position + offset < len(ticket.intents)
            else ""
        )
        await self.feedback.add_correction(
            ticket_id, ticket.transcript[index].text, predicted, intent
        )
        await self.audit.record(user.username, "correct", ticket_id, intent)
        return predicted

    async def suggestions(self, user: User, ticket_id: str) -> list[str]:
        """Three suggested replies for a ticket the user may see."""
        return [s.text for s in await self.suggestions_with_sources(user, ticket_id)]

    async def suggestions_with_sources(self, user: User, ticket_id: str) -> list[Suggestion]:
        """Three suggested replies for a ticket the user may see, with their sources."""
        ticket = await self.ticket(user, ticket_id)
        return await self.suggester.suggest_with_sources(ticket)


def _turns(ticket: Ticket) -> list[tuple[str, str]]:
    """The conversation as ``(role, text)`` with the pairs' roles (customer/agent)."""
    turns = [
        ("customer" if t.role is Role.CUSTOMER else "agent", t.text) for t in ticket.transcript
    ]
    for m in ticket.messages:
        turns.append(("customer" if m.author is MessageAuthor.CUSTOMER else "agent", m.text))
    return turns


def _unix(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def ticket_view(ticket: Ticket, now: float) -> dict[str, object]:
    """The JSON the single-page app renders for a ticket."""
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "channel": ticket.channel,
        "customer_id": ticket.customer_id,
        "status": ticket.status.value,
        "priority": ticket.priority,
        "trigger": ticket.trigger,
        "summary": ticket.summary,
        "intents": list(ticket.intents),
        "sentiment": ticket.sentiment,
        "created_at": ticket.created_at,
        "waiting_seconds": max(0.0, now - ticket.created_at),
        "assigned_agent": ticket.assigned_agent if ticket.status is TicketStatus.CLAIMED else None,
        "transcript": [
            {"role": t.role.value, "text": t.text, "at": _unix(t.timestamp)}
            for t in ticket.transcript
        ],
        "messages": [
            {
                "id": m.message_id,
                "author": m.author.value,
                "agent": m.agent,
                "text": m.text,
                "at": m.timestamp,
                "delivered": m.delivered_at is not None,
            }
            for m in ticket.messages
        ],
    }
