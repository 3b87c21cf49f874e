"""Live relay: customer messages of handed-off conversations reach the agent's ticket.

:class:`HandoffRelayBroker` is a Rasa event broker. Rasa publishes every new tracker
event to it; for each user event of a conversation with an open ticket it appends the
message to the ticket (author ``customer``), using the event's ``message_id`` as the
message id, so a replayed event is stored once. Enable it in ``endpoints.yml``::

    event_broker:
      type: bot.handoff.relay.HandoffRelayBroker
      # Optional; without it the top-level `handoff_queue:` of the same file is used.
      handoff_queue:
        type: redis
        url: redis://localhost:6379/0

``publish`` is synchronous and runs on Rasa's event loop, so it only schedules the work
as a task; tasks are tracked, their errors logged, and awaited by :meth:`close`. Lookups
that find no open ticket are cached for ``no_ticket_cache_seconds`` per conversation; a
``pause`` event (the bot handing off) clears the cache, so a new ticket is picked up at
once. The message that caused the handoff is already on the ticket's transcript, so user
events older than the ticket are not appended again.

The per-conversation state (the no-ticket cache and the pause generations) is bounded
like the channels' rate limiter: at most ``max_senders`` conversations each, the oldest
forgotten first, and expired no-ticket entries dropped as new ones arrive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import AbstractEventLoop
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.handoff.config import handoff_queue_config
from bot.handoff.factory import create_handoff_queue
from bot.handoff.model import HandoffMessage, MessageAuthor
from bot.handoff.queue import HandoffQueue
from common.errors import BotError

logger = logging.getLogger(__name__)

DEFAULT_NO_TICKET_CACHE_SECONDS = 2.0
DEFAULT_CLOSE_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_SENDERS = 100_000

K = TypeVar("K")
V = TypeVar("V")


def _put_bounded(entries: OrderedDict[K, V], key: K, value: V, max_size: int) -> None:
    """Set ``key`` as the newest entry, then forget the oldest beyond ``max_size``."""
    entries.pop(key, None)
    entries[key] = value
    while len(entries) > max_size:
        entries.popitem(last=False)


class HandoffRelayBroker(EventBroker):
    """Appends customer messages of handed-off conversations to their open ticket.

    Args:
        queue: The handoff queue; initialized by :meth:`initialize`, closed by :meth:`close`.
        no_ticket_cache_seconds: How long "this conversation has no open ticket" is
            believed; 0 disables the cache.
        clock: Monotonic clock for the cache.
        max_senders: How many conversations' cache entries and pause generations to
            keep (each); the oldest are forgotten first.
    """

    def __init__(
        self,
        queue: HandoffQueue,
        *,
        no_ticket_cache_seconds: float = DEFAULT_NO_TICKET_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = DEFAULT_MAX_SENDERS,
    ) -> None:
        if max_senders < 1:
            raise ValueError("max_senders must be >= 1")
        self.queue = queue
        self._cache_seconds = no_ticket_cache_seconds
        self._clock = clock
        self._max_senders = max_senders
        # Oldest first; the no-ticket entries share one TTL, so also soonest-expiring first.
        self._no_ticket_until: OrderedDict[str, float] = OrderedDict()
        self._generation: OrderedDict[str, int] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = False
        self._closing = False

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> HandoffRelayBroker:
        """Build and initialize the broker from its ``event_broker:`` endpoint config.

        Args:
            broker_config: Rasa's endpoint config; ``handoff_queue`` (a mapping),
                ``no_ticket_cache_seconds`` and ``max_senders`` are read from its extra
                keys.
            event_loop: Unused.

        Returns:
            The ready broker.

        Raises:
            ConfigError: If the queue config is invalid.
            HandoffStoreError: If the queue cannot be opened.
        """
        options = dict(broker_config.kwargs)
        queue_config = options.get("handoff_queue")
        if not isinstance(queue_config, Mapping):
            queue_config = handoff_queue_config()
        broker = cls(
            create_handoff_queue(queue_config),
            no_ticket_cache_seconds=float(
                options.get("no_ticket_cache_seconds", DEFAULT_NO_TICKET_CACHE_SECONDS)
            ),
            max_senders=int(options.get("max_senders", DEFAULT_MAX_SENDERS)),
        )
        await broker.initialize()
        return broker

    async def initialize(self) -> None:
        """Open the queue."""
        await self.queue.initialize()
        self._ready = True
        logger.debug("Handoff relay broker ready.")

    def is_ready(self) -> bool:
        """Whether the queue is open and the broker is not closing."""
        return self._ready and not self._closing

    def publish(self, event: dict[str, Any]) -> None:
        """Schedule relaying one tracker event; never blocks.

        Args:
            event: The event dict Rasa streams (``sender_id`` plus ``Event.as_dict()``).
        """
        sender = event.get("sender_id")
        kind = event.get("event")
        if not isinstance(sender, str) or not sender:
            return
        if kind == "pause":
            self._forget(sender)
            return
        if kind != "user" or self._closing:
            return
        if self._no_ticket_until.get(sender, 0.0) > self._clock():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning("Handoff relay: no running event loop; event of %s dropped.", sender)
            return
        task = loop.create_task(self._relay(sender, event, self._generation.get(sender, 0)))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def flush(self) -> None:
        """Wait until every scheduled relay has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Finish scheduled relays (up to a timeout) and close the queue."""
        self._closing = True
        try:
            await asyncio.wait_for(self.flush(), DEFAULT_CLOSE_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            logger.warning("Handoff relay: %d relays cancelled at shutdown.", len(self._tasks))
            for task in list(self._tasks):
                task.cancel()
        self._ready = False
        await self.queue.close()

    def _forget(self, sender: str) -> None:
        self._no_ticket_until.pop(sender, None)
        generation = self._generation.get(sender, 0) + 1
        _put_bounded(self._generation, sender, generation, self._max_senders)

    def _cache_no_ticket(self, sender: str) -> None:
        now = self._clock()
        while self._no_ticket_until and next(iter(self._no_ticket_until.values())) <= now:
            self._no_ticket_until.popitem(last=False)
        _put_bounded(self._no_ticket_until, sender, now + self._cache_seconds, self._max_senders)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error(
                "Handoff relay failed (%s).",
                type(error).__name__,
                exc_info=(type(error), error, error.__traceback__),
            )

    async def _relay(self, sender: str, event: Mapping[str, Any], generation: int) -> None:
        try:
            ticket = await self.queue.open_ticket_for(sender)
        except BotError:
            logger.error("Handoff relay: queue unavailable for sender %s.", sender)
            return
        if ticket is None:
            if self._cache_seconds > 0 and self._generation.get(sender, 0) == generation:
                self._cache_no_ticket(sender)
            return
        message_id = str(event.get("message_id") or "")
        timestamp = float(event.get("timestamp") or time.time())
        if not message_id:
            logger.warning("Handoff relay: user event of %s has no message_id.", sender)
            return
        if timestamp < ticket.created_at:
            return  # sent before the handoff: already on the ticket's transcript
        message = HandoffMessage(
            message_id=message_id,
            author=MessageAuthor.CUSTOMER,
            text=str(event.get("text") or ""),
            timestamp=timestamp,
        )
        try:
            await self.queue.append_message(ticket.id, message)
        except BotError as e:
            logger.error(
                "Handoff relay: message %s of sender %s not appended to ticket %s (%s).",
                message_id,
                sender,
                ticket.id,
                type(e).__name__,
            )
            return
        logger.debug("Relayed message %s of %s to ticket %s.", message_id, sender, ticket.id)
