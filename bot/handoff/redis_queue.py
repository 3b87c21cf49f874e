"""The production handoff queue on Redis, through ``redis.asyncio``.

Keys, all under a configurable prefix:

- ``{prefix}ticket:{id}``: the ticket as JSON.
- ``{prefix}queue``: sorted set of queued ticket ids; the score packs priority (higher
  first) and ``created_at`` (older first), ties broken by id.
- ``{prefix}leases``: sorted set of claimed ticket ids scored by lease expiry, for reaping.
- ``{prefix}open:{conversation_id}``: id of the conversation's open ticket.
- ``{prefix}created``: sorted set of every ticket id scored by ``created_at`` (for the
  insights; tickets stored before it existed are not in it).

Every change is an optimistic transaction: WATCH the ticket (and the conversation key), read,
apply the pure transition, then write ticket and indexes in one MULTI/EXEC. If another client
changed the ticket in between, EXEC fails and the change is retried against the new state,
so two agents claiming the same ticket can never both win.

Lease and SLA times come from the queue's clock, so processes sharing a Redis need
synchronised clocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis.asyncio as redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from bot.handoff.errors import DuplicateTicketError, HandoffStoreError, TicketNotFoundError
from bot.handoff.model import Ticket, TicketStatus
from bot.handoff.queue import Clock, StoreHandoffQueue
from bot.handoff.sla import SLAHook

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "handoff:"
"""Prefix of every key unless the endpoint config sets ``key_prefix``."""

_PRIORITY_WEIGHT = 1e10
"""Seconds one priority step outweighs; Unix times stay below it until the year 2286."""

_MAX_RETRIES = 50


def queue_score(ticket: Ticket) -> float:
    """Sorted-set score of a queued ticket: lower scores are served first.

    Args:
        ticket: The ticket.

    Returns:
        ``-priority * 1e10 + created_at`` (priority is at most ``MAX_PRIORITY``).
    """
    return -ticket.priority * _PRIORITY_WEIGHT + ticket.created_at


class RedisHandoffQueue(StoreHandoffQueue):
    """Handoff queue stored in Redis.

    Args:
        url: Redis URL (``redis://host:port/db``); overrides host, port, db and password.
        host: Redis host.
        port: Redis port.
        db: Redis database number.
        password: Redis password.
        key_prefix: Prefix of every key, so several bots (or tests) can share a server.
        clock: Returns the current Unix time.
        claim_sla_seconds: Claim SLA; ``None`` disables it.
        reply_sla_seconds: First-reply SLA; ``None`` disables it.
        sla_hook: Awaited once per ticket and breach kind.
        socket_timeout: Seconds before a Redis call times out.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Clock | None = None,
        claim_sla_seconds: float | None = None,
        reply_sla_seconds: float | None = None,
        sla_hook: SLAHook | None = None,
        socket_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            clock=clock,
            claim_sla_seconds=claim_sla_seconds,
            reply_sla_seconds=reply_sla_seconds,
            sla_hook=sla_hook,
        )
        self._url = url
        self._host = host
        self._port = port
        self._db_number = db
        self._password = password
        self._socket_timeout = socket_timeout
        self.key_prefix = key_prefix
        self._client: redis.Redis | None = None

    # -- keys --------------------------------------------------------------------------

    def _ticket_key(self, ticket_id: str) -> str:
        return f"{self.key_prefix}ticket:{ticket_id}"

    def _open_key(self, conversation_id: str) -> str:
        return f"{self.key_prefix}open:{conversation_id}"

    @property
    def _queue_key(self) -> str:
        return f"{self.key_prefix}queue"

    @property
    def _leases_key(self) -> str:
        return f"{self.key_prefix}leases"

    @property
    def _created_key(self) -> str:
        return f"{self.key_prefix}created"

    # -- lifecycle ---------------------------------------------------------------------

    async def initialize(self) -> None:
        """Connect and check the server answers.

        Raises:
            HandoffStoreError: If Redis cannot be reached.
        """
        if self._client is not None:
            return
        if self._url:
            client = redis.Redis.from_url(
                self._url, decode_responses=True, socket_timeout=self._socket_timeout
            )
        else:
            client = redis.Redis(
                host=self._host,
                port=self._port,
                db=self._db_number,
                password=self._password,
                decode_responses=True,
                socket_timeout=self._socket_timeout,
            )
        try:
            with _translate_errors():
                await client.ping()
        except HandoffStoreError:
            await client.close(close_connection_pool=True)
            raise
        self._client = client
        logger.debug("Redis handoff queue connected.")

    async def close(self) -> None:
        """Close the connection pool."""
        client, self._client = self._client, None
        if client is not None:
            await client.close(close_connection_pool=True)

    @property
    def _redis(self) -> redis.Redis:
        if self._client is None:
            raise HandoffStoreError("The Redis handoff queue is not initialized.")
        return self._client

    # -- primitives --------------------------------------------------------------------

    def _write_indexes(self, pipe: Pipeline, old: Ticket | None, new: Ticket) -> None:
        pipe.set(self._ticket_key(new.id), new.to_json())
        if old is None:
            pipe.zadd(self._created_key, {new.id: new.created_at})
        if new.status is TicketStatus.QUEUED:
            pipe.zadd(self._queue_key, {new.id: queue_score(new)})
            pipe.zrem(self._leases_key, new.id)
        elif new.status is TicketStatus.CLAIMED:
            pipe.zrem(self._queue_key, new.id)
            pipe.zadd(self._leases_key, {new.id: new.lease_expiry or 0.0})
        else:
            pipe.zrem(self._queue_key, new.id)
            pipe.zrem(self._leases_key, new.id)
        was_open = old is not None and old.is_open
        if new.is_open and not was_open:
            pipe.set(self._open_key(new.conversation_id), new.id)
        elif was_open and not new.is_open:
            pipe.delete(self._open_key(new.conversation_id))

    async def _insert(self, ticket: Ticket) -> None:
        ticket_key = self._ticket_key(ticket.id)
        open_key = self._open_key(ticket.conversation_id)
        with _translate_errors():
            for _ in range(_MAX_RETRIES):
                async with self._redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(ticket_key, open_key)
                    if await pipe.exists(ticket_key):
                        raise DuplicateTicketError(ticket.id, "a ticket with this id exists")
                    if await pipe.exists(open_key):
                        raise DuplicateTicketError(
                            ticket.id, "the conversation already has an open ticket"
                        )
                    pipe.multi()
                    self._write_indexes(pipe, None, ticket)
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue
                    return
        raise HandoffStoreError(f"Handoff ticket {ticket.id}: too much contention to enqueue.")

    async def _load(self, ticket_id: str) -> Ticket | None:
        with _translate_errors():
            raw = await self._redis.get(self._ticket_key(ticket_id))
        return None if raw is None else Ticket.from_json(raw)

    async def _mutate(self, ticket_id: str, change: Callable[[Ticket], Ticket]) -> Ticket:
        ticket_key = self._ticket_key(ticket_id)
        with _translate_errors():
            for _ in range(_MAX_RETRIES):
                async with self._redis.pipeline(transaction=True) as pipe:
                    await pipe.watch(ticket_key)
                    raw = await pipe.get(ticket_key)
                    if raw is None:
                        raise TicketNotFoundError(ticket_id)
                    old = Ticket.from_json(raw)
                    new = change(old)
                    if new is old:
                        return old
                    if new.is_open and not old.is_open:
                        open_key = self._open_key(new.conversation_id)
                        await pipe.watch(open_key)
                        owner = await pipe.get(open_key)
                        if owner is not None and owner != ticket_id:
                            raise DuplicateTicketError(
                                ticket_id, "the conversation already has an open ticket"
                            )
                    pipe.multi()
                    self._write_indexes(pipe, old, new)
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue
                    return new
        raise HandoffStoreError(f"Handoff ticket {ticket_id}: too much contention to update.")

    async def _tickets(self, ids: list[str]) -> list[Ticket]:
        if not ids:
            return []
        with _translate_errors():
            docs = await self._redis.mget([self._ticket_key(i) for i in ids])
        return [Ticket.from_json(doc) for doc in docs if doc is not None]

    async def _queued(self) -> list[Ticket]:
        with _translate_errors():
            ids = await self._redis.zrange(self._queue_key, 0, -1)
        return [t for t in await self._tickets(ids) if t.status is TicketStatus.QUEUED]

    async def _rank(self, ticket_id: str) -> int | None:
        with _translate_errors():
            rank = await self._redis.zrank(self._queue_key, ticket_id)
        return None if rank is None else int(rank)

    async def _open_ticket_id(self, conversation_id: str) -> str | None:
        with _translate_errors():
            ticket_id = await self._redis.get(self._open_key(conversation_id))
        return None if ticket_id is None else str(ticket_id)

    async def _expired_lease_ids(self, now: float) -> list[str]:
        with _translate_errors():
            ids = await self._redis.zrangebyscore(self._leases_key, "-inf", now)
        return [str(i) for i in ids]

    async def _created_between(self, since: float, until: float) -> list[Ticket]:
        with _translate_errors():
            ids = await self._redis.zrangebyscore(self._created_key, since, f"({until}")
        return await self._tickets([str(i) for i in ids])

    async def _open_tickets(self) -> list[Ticket]:
        with _translate_errors():
            queued = await self._redis.zrange(self._queue_key, 0, -1)
            claimed = await self._redis.zrange(self._leases_key, 0, -1)
        return [t for t in await self._tickets([*queued, *claimed]) if t.is_open]


@contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn Redis client errors into :class:`HandoffStoreError`."""
    try:
        yield
    except RedisError as e:
        raise HandoffStoreError(f"Redis handoff queue failed: {type(e).__name__}.") from e
