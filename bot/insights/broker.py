"""Records every tracker event into the event store and forwards it to another broker.

Rasa takes one ``event_broker:``; this one wraps the other, so the handoff relay keeps
working while the insights get a durable event stream::

    event_broker:
      type: bot.insights.broker.RecordingEventBroker
      url: sqlite:///.cache/events.db        # production: postgresql://bot:${EVENTS_DB_PASSWORD}@db:5432/bot
      forward_to:                            # optional: any Rasa event broker config
        type: bot.handoff.relay.HandoffRelayBroker

``publish`` runs on Rasa's event loop and must not block, so it only turns the event into
a row (:func:`~bot.insights.events.flatten`) and puts it on a bounded in-memory queue; one
writer thread inserts the rows in batches. A full queue (the database is down or slower
than the traffic) drops events with a warning rather than stalling conversations.
:meth:`close` writes what is queued before returning.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from asyncio import AbstractEventLoop
from collections.abc import Mapping
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.insights.events import EventRow, flatten
from bot.insights.store import DEFAULT_URL, EventStoreError, SQLEventStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 100_000
DEFAULT_BATCH = 500
_STOP = None


class RecordingEventBroker(EventBroker):
    """Writes events to a :class:`SQLEventStore` off the event loop; forwards them on.

    Args:
        store: The event store.
        forward_to: Another broker that also gets every event, or ``None``.
        max_pending: Rows that may wait for the writer; more are dropped.
        batch: Rows per insert.
    """

    def __init__(
        self,
        store: SQLEventStore,
        forward_to: EventBroker | None = None,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.store = store
        self.forward_to = forward_to
        self._batch = max(1, batch)
        self._pending: queue.Queue[EventRow | None] = queue.Queue(maxsize=max(1, max_pending))
        self._idle = threading.Condition()
        self._unwritten = 0
        self.dropped = 0
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="event-store", daemon=True)
        self._writer.start()

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> RecordingEventBroker:
        """Build the broker (and the one it forwards to) from its endpoint config.

        Args:
            broker_config: ``url`` (SQLAlchemy URL), ``forward_to`` (a broker config),
                ``max_pending`` and ``batch``.
            event_loop: Passed to the forwarded broker's factory.

        Returns:
            The ready broker.

        Raises:
            EventStoreError: If the store cannot be opened.
        """
        options = dict(broker_config.kwargs)
        store = await asyncio.to_thread(SQLEventStore, broker_config.url or DEFAULT_URL)
        inner_config = options.get("forward_to")
        inner = None
        if isinstance(inner_config, Mapping):
            inner = await EventBroker.create(
                EndpointConfig.from_dict(dict(inner_config)), event_loop
            )
        return cls(
            store,
            inner,
            max_pending=int(options.get("max_pending", DEFAULT_MAX_PENDING)),
            batch=int(options.get("batch", DEFAULT_BATCH)),
        )

    def publish(self, event: dict[str, Any]) -> None:
        """Queue the event for the store and forward it; never blocks.

        Args:
            event: The event dict Rasa streams (``sender_id`` plus ``Event.as_dict()``).
        """
        if self.forward_to is not None:
            self.forward_to.publish(event)
        row = flatten(event)
        if row is None or self._closed:
            return
        with self._idle:
            self._unwritten += 1
        try:
            self._pending.put_nowait(row)
        except queue.Full:
            self._written(1)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("Event store behind: %d events dropped so far.", self.dropped)

    def is_ready(self) -> bool:
        """Whether the writer runs and the forwarded broker (if any) is ready."""
        inner_ready = self.forward_to is None or self.forward_to.is_ready()
        return not self._closed and self._writer.is_alive() and inner_ready

    def flush_sync(self, timeout: float | None = None) -> bool:
        """Block until every queued row was written (or dropped after an error).

        Returns:
            ``True`` when nothing is left, ``False`` on timeout.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._unwritten == 0, timeout)

    async def flush(self) -> None:
        """Wait for the writer and the forwarded broker's work (if it can flush)."""
        await asyncio.to_thread(self.flush_sync)
        inner_flush = getattr(self.forward_to, "flush", None)
        if inner_flush is not None:
            await inner_flush()

    async def close(self) -> None:
        """Write what is queued, stop the writer and close the forwarded broker."""
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(self._pending.put, _STOP)  # may wait while the queue is full
            await asyncio.to_thread(self._writer.join)
            await asyncio.to_thread(self.store.close)
        if self.forward_to is not None:
            await self.forward_to.close()

    def _written(self, n: int) -> None:
        with self._idle:
            self._unwritten -= n
            if self._unwritten <= 0:
                self._idle.notify_all()

    def _write_loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._pending.get()
            rows: list[EventRow] = []
            if first is _STOP:
                stopping = True
            else:
                rows.append(first)
            while len(rows) < self._batch:
                try:
                    row = self._pending.get_nowait()
                except queue.Empty:
                    break
                if row is _STOP:
                    stopping = True
                    break
                rows.append(row)
            if not rows:
                continue
            try:
                self.store.append(rows)
            except EventStoreError as e:
                logger.error("%d events not stored (%s).", len(rows), e)
            finally:
                self._written(len(rows))
