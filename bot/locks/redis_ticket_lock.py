"""A Redis lock store whose ticket operations are atomic, for several Rasa processes.

Rasa's own ``RedisLockStore`` keeps each conversation's ticket queue as one JSON value and
changes it by read-modify-write from the client (``GET``, edit, ``SET``). Two processes
that take turns of one conversation at the same moment can therefore overwrite each
other's change. Two failures follow:

- Two turns draw the same ticket number and run at the same time.
- A release can write back a queue without the waiting turn's ticket. Once the stale
  tickets in it expire, the lock is empty, which Rasa reads as "now serving ticket 0",
  so a waiter holding any other number waits forever: the message is never answered.

This store keeps the same ticket-lock semantics but runs every change as one Lua script
on the Redis server, so no interleaving is possible:

- ``{prefix}lock:{{conversation}}:queue``: sorted set of waiting tickets, scored by
  number (the lowest is served).
- ``{prefix}lock:{{conversation}}:expiry``: the same tickets, scored by expiry time.
- ``{prefix}lock:{{conversation}}:last``: the last number issued.

Expiry times come from the Redis server's clock, so processes on different hosts agree.
A holder's ticket lives ``lock_lifetime`` seconds from the moment it acquires the lock
(Rasa's bound on one turn). A waiter renews its ticket on every poll, so a live process
never loses its place however long the queue ahead of it is. Only a dead process's
ticket expires. If a waiter ever finds its ticket gone (expired while the process
stalled, or the keys flushed), it takes a new one instead of waiting forever. The keys
disappear when the last ticket is released, and they carry a TTL in case every
process dies.

Select it in ``endpoints.yml``::

    lock_store:
      type: bot.locks.redis_ticket_lock.RedisTicketLockStore
      url: ${REDIS_HOST}        # a host name, or a full redis:// URL
      port: ${REDIS_PORT}
      db: 1
      key_prefix: supportbot
      poll_interval: 0.05       # seconds between a waiter's polls
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

from common.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "supportbot"
DEFAULT_POLL_INTERVAL = 0.05

# Shared by every script: KEYS are (queue, expiry, last).
_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function purge(t)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', t)
  if #dead > 0 then
    redis.call('ZREM', KEYS[1], unpack(dead))
    redis.call('ZREM', KEYS[2], unpack(dead))
  end
end
local function keep(lifetime)
  local ttl = math.ceil(lifetime) + 1
  for i = 1, 3 do
    if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
"""

_ISSUE = (
    _PRELUDE
    + """
local lifetime = tonumber(ARGV[1])
local t = now()
purge(t)
local n = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], n, n)
redis.call('ZADD', KEYS[2], t + lifetime, n)
keep(lifetime)
return n
"""
)
"""Issue the next ticket: ARGV = (lifetime). Returns its number."""

_POLL = (
    _PRELUDE
    + """
local lifetime = tonumber(ARGV[2])
local t = now()
purge(t)
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return -1 end
redis.call('ZADD', KEYS[2], t + lifetime, ARGV[1])
keep(lifetime)
return rank
"""
)
"""Renew a ticket and report its place: ARGV = (ticket, lifetime).

Returns 0 when the ticket is served, the number of tickets ahead of it while it waits,
or -1 when it no longer exists.
"""

_RELEASE = (
    _PRELUDE
    + """
purge(now())
local removed = 0
if ARGV[1] ~= '' then
  removed = redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return removed
"""
)
"""Remove a ticket (or, with ARGV = (''), only the expired ones); drop empty locks.

Returns 1 when the ticket was still there, 0 when it had expired.
"""


@dataclass(frozen=True)
class RedisLockSettings:
    """Connection and behaviour settings of :class:`RedisTicketLockStore`.

    Attributes:
        url: A ``redis://`` URL; when set it replaces host, port, db and password.
        host: Redis host.
        port: Redis port.
        db: Redis database number.
        username: Redis ACL user.
        password: Redis password.
        use_ssl: Connect with TLS.
        key_prefix: Prefix of every key, so several bots can share a server.
        socket_timeout: Seconds before a Redis call fails.
        poll_interval: Seconds a waiting turn sleeps between polls.
    """

    url: str | None = None
    host: str = "localhost"
    port: int = 6379
    db: int = 1
    username: str | None = None
    password: str | None = None
    use_ssl: bool = False
    key_prefix: str = DEFAULT_KEY_PREFIX
    socket_timeout: float = 10.0
    poll_interval: float = DEFAULT_POLL_INTERVAL

    def __post_init__(self) -> None:
        """Reject settings that cannot work.

        Raises:
            ConfigError: A number is out of range.
        """
        if not 0 < self.poll_interval <= 5:
            raise ConfigError(
                f"lock_store.poll_interval must be in (0, 5] seconds, got {self.poll_interval}"
            )
        if self.socket_timeout <= 0:
            raise ConfigError(
                f"lock_store.socket_timeout must be positive, got {self.socket_timeout}"
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"lock_store.port must be a TCP port, got {self.port}")

    @classmethod
    def from_endpoint(cls, config: EndpointConfig) -> RedisLockSettings:
        """Read the settings from the ``lock_store`` section of ``endpoints.yml``.

        Args:
            config: Rasa's parsed endpoint section; ``url`` is a host name or a
                ``redis://`` URL, the other keys are this class's fields.

        Returns:
            The settings.

        Raises:
            ConfigError: An unknown key, or a value of the wrong type.
        """
        options: dict[str, Any] = dict(config.kwargs)
        known = set(cls.__dataclass_fields__) - {"url", "host"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"lock_store: unknown option(s) {', '.join(unknown)}; "
                f"known: url, {', '.join(sorted(known))}"
            )
        target = str(config.url or "localhost")
        if "://" in target:
            options["url"] = target
        else:
            options["host"] = target
        return cls(**_coerce(options))


def _coerce(options: Mapping[str, Any]) -> dict[str, Any]:
    """Convert endpoint values (often strings after ``${VAR}`` substitution) to field types.

    Raises:
        ConfigError: A value cannot be converted.
    """
    kinds: dict[str, type] = {
        "port": int,
        "db": int,
        "socket_timeout": float,
        "poll_interval": float,
    }
    converted: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        try:
            if key == "use_ssl":
                converted[key] = value if isinstance(value, bool) else str(value).lower() == "true"
            elif key in kinds:
                converted[key] = kinds[key](value)
            else:
                converted[key] = str(value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"lock_store.{key}: cannot read {value!r}") from error
    return converted


async def _shielded(call: Awaitable[Any]) -> int:
    """Await a Redis script call that a cancellation of the caller cannot interrupt.

    The caller still sees ``CancelledError`` at once; the call itself finishes in the
    background. redis-py 4.6 on Python 3.10 can swallow a cancellation that arrives while
    a command is in flight (the call returns normally and the task runs on), so a waiting
    turn whose client had gone away went on waiting, and then took the lock, for nobody.
    """
    return int(await asyncio.shield(asyncio.ensure_future(call)))


@dataclass
class _Turn:
    """The ticket one ``lock()`` call holds or waits with, once issued."""

    ticket: int | None = None


class RedisTicketLockStore(LockStore):
    """Rasa lock store on Redis with atomic ticket operations.

    Rasa creates it from ``endpoints.yml`` with ``endpoint_config``; tests and tools pass
    ``settings``.

    Args:
        endpoint_config: The ``lock_store`` section of ``endpoints.yml``.
        settings: Explicit settings; used when ``endpoint_config`` is not given.

    Raises:
        ConfigError: The settings are invalid.
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        settings: RedisLockSettings | None = None,
    ) -> None:
        if endpoint_config is not None:
            settings = RedisLockSettings.from_endpoint(endpoint_config)
        self.settings = settings or RedisLockSettings()
        self._async = self._client(aioredis)
        self._issue = self._async.register_script(_ISSUE)
        self._poll = self._async.register_script(_POLL)
        self._release = self._async.register_script(_RELEASE)
        self._sync: redis.Redis | None = None
        super().__init__()

    def _client(self, module: Any) -> Any:
        """A client of ``redis`` or ``redis.asyncio`` for these settings."""
        s = self.settings
        common: dict[str, Any] = {
            "socket_timeout": s.socket_timeout,
            "socket_connect_timeout": s.socket_timeout,
        }
        if s.url:
            return module.from_url(s.url, **common)
        return module.Redis(
            host=s.host,
            port=s.port,
            db=s.db,
            username=s.username,
            password=s.password,
            ssl=s.use_ssl,
            **common,
        )

    def keys(self, conversation_id: str) -> list[str]:
        """The queue, expiry and counter keys of one conversation.

        The conversation id is a hash tag, so the three keys share a Redis Cluster slot.

        Args:
            conversation_id: Rasa's sender id.

        Returns:
            ``[queue, expiry, last]``.
        """
        base = f"{self.settings.key_prefix}:lock:{{{conversation_id}}}"
        return [f"{base}:queue", f"{base}:expiry", f"{base}:last"]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the body of the ``async with``.

        Args:
            conversation_id: Rasa's sender id.
            lock_lifetime: Seconds a turn may hold the lock before the next one may go.
            wait_time_in_seconds: Seconds between polls while waiting; defaults to the
                store's ``poll_interval``.

        Yields:
            The served ticket, as Rasa's ``TicketLock``.

        Raises:
            LockError: Redis could not be reached while taking the lock.
        """
        keys = self.keys(conversation_id)
        wait = wait_time_in_seconds or self.settings.poll_interval
        started = time.monotonic()
        turn = _Turn()
        try:
            ticket = await self._take(keys, lock_lifetime, wait, turn)
            logger.debug("lock.acquired waited_ms=%.1f", 1000 * (time.monotonic() - started))
            held = Ticket(ticket, time.time() + lock_lifetime)
            yield TicketLock(conversation_id, deque([held]))
        finally:
            # Also when the wait was cancelled (the client went away): the ticket goes back.
            if turn.ticket is not None:
                await self._give_back(keys, turn.ticket)

    async def _take(self, keys: list[str], lifetime: float, wait: float, turn: _Turn) -> int:
        """Issue a ticket into ``turn`` and wait until it is served.

        Returns:
            The served ticket.

        Raises:
            LockError: Redis failed.
        """
        try:
            turn.ticket = await self._issue_into(keys, lifetime)
            while True:
                place = await _shielded(self._poll(keys=keys, args=[turn.ticket, lifetime]))
                if place == 0:
                    return turn.ticket
                if place < 0:
                    logger.warning(
                        "lock.ticket_lost: the ticket expired while waiting; queueing again"
                    )
                    turn.ticket = await self._issue_into(keys, lifetime)
                    continue
                await asyncio.sleep(wait)
        except RedisError as error:
            raise LockError(f"Could not take the conversation lock: {error}") from error

    async def _issue_into(self, keys: list[str], lifetime: float) -> int:
        """Issue a ticket, learning its number even if the caller is cancelled meanwhile.

        Without this, a turn cancelled while Redis issues its ticket would leave an unknown
        ticket that nobody renews or releases, holding up the queue for a lifetime.
        """
        issuing = asyncio.ensure_future(self._issue(keys=keys, args=[lifetime]))
        try:
            return int(await asyncio.shield(issuing))
        except asyncio.CancelledError:
            await self._give_back(keys, int(await issuing))
            raise

    async def _give_back(self, keys: list[str], ticket: int) -> None:
        """Release a ticket; a Redis failure is logged, as the ticket expires on its own."""
        try:
            removed = await _shielded(self._release(keys=keys, args=[ticket]))
        except RedisError:
            logger.exception("lock.release_failed: the ticket will expire after its lifetime")
            return
        if not removed:
            logger.warning(
                "lock.outlived: a turn held the lock past its lifetime, so the next turn "
                "may have started before it ended (raise TICKET_LOCK_LIFETIME)"
            )

    # Rasa's synchronous LockStore API, kept atomic as well. Rasa itself only uses lock().

    def _sync_client(self) -> redis.Redis:
        if self._sync is None:
            self._sync = self._client(redis)
        return self._sync

    def _run(self, script: str, conversation_id: str, *args: Any) -> int:
        client = self._sync_client()
        try:
            return int(client.eval(script, 3, *self.keys(conversation_id), *args))
        except RedisError as error:
            raise LockError(f"Lock store failed: {error}") from error

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket for the conversation (synchronous API).

        Args:
            conversation_id: Rasa's sender id.
            lock_lifetime: Seconds the ticket lives unless renewed.

        Returns:
            The ticket number.
        """
        return self._run(_ISSUE, conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        """Drop the conversation's expired tickets (synchronous API).

        Args:
            conversation_id: Rasa's sender id.
        """
        self._run(_RELEASE, conversation_id, "")

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove a ticket; the lock disappears with its last ticket (synchronous API).

        Args:
            conversation_id: Rasa's sender id.
            ticket_number: The ticket to remove.
        """
        self._run(_RELEASE, conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Same as :meth:`finish_serving`; kept for Rasa's API.

        Args:
            conversation_id: Rasa's sender id.
            ticket_number: The ticket to remove.
        """
        self.finish_serving(conversation_id, ticket_number)

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """Read the conversation's tickets (synchronous API).

        Args:
            conversation_id: Rasa's sender id.

        Returns:
            The tickets, lowest number first, or ``None`` when nobody holds the lock.
        """
        queue, expiry, _ = self.keys(conversation_id)
        client = self._sync_client()
        pipe = client.pipeline(transaction=True)
        pipe.zrange(queue, 0, -1)
        pipe.zrange(expiry, 0, -1, withscores=True)
        numbers, expiries = pipe.execute()
        if not numbers:
            return None
        expires = {int(member): float(score) for member, score in expiries}
        tickets = deque(Ticket(int(n), expires.get(int(n), 0.0)) for n in numbers)
        return TicketLock(conversation_id, tickets)

    def save_lock(self, lock: TicketLock) -> None:
        """Replace the conversation's tickets with ``lock``'s, in one transaction.

        Expiry times are taken as given (Unix seconds).

        Args:
            lock: The tickets to store.
        """
        keys = self.keys(lock.conversation_id)
        pipe = self._sync_client().pipeline(transaction=True)
        pipe.delete(*keys)
        if lock.tickets:
            pipe.zadd(keys[0], {str(t.number): t.number for t in lock.tickets})
            pipe.zadd(keys[1], {str(t.number): t.expires for t in lock.tickets})
            pipe.set(keys[2], max(t.number for t in lock.tickets))
            ttl = max(1, int(max(t.expires for t in lock.tickets) - time.time()) + 1)
            for key in keys:
                pipe.expire(key, ttl)
        pipe.execute()

    def delete_lock(self, conversation_id: str) -> None:
        """Delete the conversation's lock and every ticket in it.

        Args:
            conversation_id: Rasa's sender id.
        """
        self._sync_client().delete(*self.keys(conversation_id))
