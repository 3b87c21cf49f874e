"""``action_escalate``: hand the conversation to a person through the handoff queue.

Builds a ticket from the conversation (trigger, priority, summary, transcript), enqueues
it, pauses the conversation and tells the customer their place in the queue. A
conversation that already has an open ticket gets its current place, not a second ticket.
When the queue is unreachable the customer is told, and the conversation is not paused.

The queue comes from ``handoff_queue:`` in the endpoints file (``$BOT_ENDPOINTS``, default
``endpoints.yml``); rasa-sdk builds each action once per process, so the queue is opened
once, on first use, and reused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.escalation.config import EscalationConfig, load_escalation_config
from bot.escalation.ticket import build_ticket
from bot.escalation.triggers import (
    EXPLICIT_REQUEST,
    TRIGGER_SLOT,
    FiredTrigger,
    TriggerEvaluator,
    configured_priority,
)
from bot.handoff.config import handoff_queue_config
from bot.handoff.errors import DuplicateTicketError, HandoffError
from bot.handoff.factory import create_handoff_queue
from bot.handoff.model import Ticket
from bot.handoff.queue import HandoffQueue
from common.errors import BotError

logger = logging.getLogger(__name__)

QueueFactory = Callable[[], HandoffQueue]


class ActionEscalate(Action):
    """Enqueue a handoff ticket for the conversation and pause it.

    Args:
        queue_factory: Builds the (uninitialized) queue; from the endpoints file by default.
        config: Escalation config; ``escalation.yml`` by default (read on first use).
        clock: Returns the current Unix time.
    """

    def __init__(
        self,
        queue_factory: QueueFactory | None = None,
        config: EscalationConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue_factory = queue_factory
        self._config = config
        self._evaluator: TriggerEvaluator | None = None
        self._clock = clock
        self._queue: HandoffQueue | None = None
        self._lock = asyncio.Lock()

    def name(self) -> str:
        """Return the action's name in the domain."""
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Enqueue (or find) the ticket, tell the customer, pause the conversation.

        Args:
            dispatcher: Sends messages back.
            tracker: The conversation.
            domain: The bot's domain.

        Returns:
            ``ConversationPaused`` and a cleared trigger slot, or only the cleared slot
            when the queue is unreachable.
        """
        sender = tracker.sender_id
        clear = SlotSet(TRIGGER_SLOT, None)
        try:
            queue = await self._open_queue()
            ticket = await queue.open_ticket_for(sender)
            if ticket is None:
                ticket = await self._enqueue(queue, tracker)
            else:
                logger.info("Sender %s already has open handoff ticket %s.", sender, ticket.id)
            position = await queue.position(ticket.id)
        except Exception as e:  # the queue is down or broken: tell the customer, never crash
            logger.error(
                "Handoff queue unavailable for sender %s (%s); not handing off.",
                sender,
                type(e).__name__,
            )
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [clear]
        if position is None:
            dispatcher.utter_message(response="utter_handoff_agent_joined")
            dispatcher.utter_message(json_message={"handoff": {"state": "agent"}})
        else:
            dispatcher.utter_message(response="utter_handoff_queued", position=position)
            dispatcher.utter_message(
                json_message={"handoff": {"state": "waiting", "position": position}}
            )
        return [clear, ConversationPaused()]

    async def close(self) -> None:
        """Close the queue, if it was opened."""
        async with self._lock:
            if self._queue is not None:
                await self._queue.close()
                self._queue = None

    async def _open_queue(self) -> HandoffQueue:
        async with self._lock:
            if self._queue is not None:
                return self._queue
            if self._queue_factory is not None:
                queue = self._queue_factory()
            else:
                try:
                    queue = create_handoff_queue(handoff_queue_config())
                except BotError as e:
                    raise HandoffError(f"Handoff queue misconfigured: {e.message}") from e
            try:
                await queue.initialize()
            except Exception:
                await _quiet_close(queue)
                raise
            self._queue = queue
            return queue

    def _triggers(self, tracker: Tracker, evaluator: TriggerEvaluator) -> list[FiredTrigger]:
        fired = evaluator.evaluate(tracker.events)
        slot = tracker.get_slot(TRIGGER_SLOT)
        if slot:
            # The policy's reason leads; the others still raise the priority.
            lead = next((t for t in fired if t.key == slot), None)
            if lead is None:
                name, _, detail = str(slot).partition(":")
                priority = configured_priority(evaluator.config, str(slot))
                lead = FiredTrigger(name, priority, name.replace("_", " "), detail or None)
            fired = [lead, *(t for t in fired if t is not lead)]
        if not fired:
            explicit = evaluator.config.explicit_request
            fired = [
                FiredTrigger(EXPLICIT_REQUEST, explicit.priority, "customer asked for a person")
            ]
        return fired

    async def _enqueue(self, queue: HandoffQueue, tracker: Tracker) -> Ticket:
        evaluator = await self._get_evaluator()
        events: list[Mapping[str, Any]] = list(tracker.events)
        triggers = self._triggers(tracker, evaluator)
        ticket = build_ticket(
            tracker.sender_id,
            events,
            triggers,
            evaluator.config,
            evaluator.analyzer,
            now=self._clock(),
        )
        try:
            ticket = await queue.enqueue(ticket)
        except DuplicateTicketError:
            existing = await queue.open_ticket_for(tracker.sender_id)
            if existing is None:
                raise
            return existing
        logger.info(
            "Sender %s handed off: ticket %s, trigger %s, priority %d.",
            tracker.sender_id,
            ticket.id,
            ticket.trigger,
            ticket.priority,
        )
        return ticket

    async def _get_evaluator(self) -> TriggerEvaluator:
        if self._evaluator is None:
            config = self._config
            if config is None:
                config = await asyncio.to_thread(load_escalation_config)
            evaluator = TriggerEvaluator(config)
            await asyncio.to_thread(lambda: evaluator.analyzer)
            self._evaluator = evaluator
        return self._evaluator


async def _quiet_close(queue: HandoffQueue) -> None:
    try:
        await queue.close()
    except Exception:  # noqa: BLE001 - closing a queue that never opened
        logger.debug("Closing a handoff queue that failed to open also failed.")
