"""The atomic Redis lock store, against a real redis-server (and its config parsing)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlparse

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.locks.redis_ticket_lock import RedisLockSettings, RedisTicketLockStore
from common.errors import ConfigError
from loopback.lock_contention import contention
from loopback.ports import free_port

MakeStore = Callable[[], RedisTicketLockStore]


@pytest.fixture
async def make_store(redis_url: str) -> AsyncIterator[MakeStore]:
    """Opens stores on one key prefix; each is its own client, like another process."""
    prefix = f"test{uuid.uuid4().hex[:10]}"
    opened: list[RedisTicketLockStore] = []

    def _make() -> RedisTicketLockStore:
        store = RedisTicketLockStore(
            settings=RedisLockSettings(url=redis_url, key_prefix=prefix, poll_interval=0.01)
        )
        opened.append(store)
        return store

    yield _make
    for store in opened:
        await store._async.close()


def _existing(store: RedisTicketLockStore, conversation: str) -> list[str]:
    client = redis.Redis.from_url(store.settings.url or "")
    return [key for key in store.keys(conversation) if client.exists(key)]


@pytest.mark.integration
async def test_turns_of_one_conversation_never_overlap_across_processes(
    make_store: MakeStore,
) -> None:
    stores = [make_store(), make_store()]
    inside = 0
    most_inside = 0
    served: list[int] = []

    async def turn(index: int) -> None:
        nonlocal inside, most_inside
        async with stores[index % 2].lock("conv") as held:
            inside += 1
            most_inside = max(most_inside, inside)
            served.append(held.tickets[0].number)
            await asyncio.sleep(0.002)
            inside -= 1

    await asyncio.wait_for(asyncio.gather(*(turn(i) for i in range(40))), timeout=30)

    assert most_inside == 1
    assert len(served) == 40
    assert served == sorted(served), "tickets are served in the order they were issued"
    assert _existing(stores[0], "conv") == [], "the lock is gone with its last ticket"


@pytest.mark.integration
async def test_other_conversations_do_not_wait(make_store: MakeStore) -> None:
    store = make_store()
    async with store.lock("a"):
        async with store.lock("b") as held:
            assert held.conversation_id == "b"


@pytest.mark.integration
async def test_a_waiter_keeps_its_place_longer_than_its_lifetime(make_store: MakeStore) -> None:
    first, second, third = make_store(), make_store(), make_store()
    order: list[str] = []
    holding = asyncio.Event()

    async def holder() -> None:
        async with first.lock("conv", lock_lifetime=10):
            holding.set()
            order.append("holder")
            await asyncio.sleep(0.8)

    async def waiter() -> None:
        await holding.wait()
        # Its ticket would expire after 0.3 s, but it renews it while it waits.
        async with second.lock("conv", lock_lifetime=0.3):
            order.append("waiter")

    async def latecomer() -> None:
        await holding.wait()
        await asyncio.sleep(0.2)
        async with third.lock("conv", lock_lifetime=10):
            order.append("latecomer")

    await asyncio.wait_for(asyncio.gather(holder(), waiter(), latecomer()), timeout=10)
    assert order == ["holder", "waiter", "latecomer"]


@pytest.mark.integration
async def test_a_turn_past_its_lifetime_lets_the_next_one_in(
    make_store: MakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    slow, next_ = make_store(), make_store()
    holding = asyncio.Event()
    entered_at: list[float] = []

    async def slow_turn() -> None:
        async with slow.lock("conv", lock_lifetime=0.3):
            holding.set()
            await asyncio.sleep(1.2)

    async def next_turn() -> None:
        await holding.wait()
        start = time.monotonic()
        async with next_.lock("conv", lock_lifetime=10):
            entered_at.append(time.monotonic() - start)
            await asyncio.sleep(1.0)
            # The slow turn has ended by now; its release must not have dropped this ticket.
            lock = next_.get_lock("conv")
            assert lock is not None and len(lock.tickets) == 1

    with caplog.at_level(logging.WARNING, logger="bot.locks.redis_ticket_lock"):
        await asyncio.wait_for(asyncio.gather(slow_turn(), next_turn()), timeout=10)
    assert 0.2 <= entered_at[0] < 1.0
    assert any("lock.outlived" in r.getMessage() for r in caplog.records)


@pytest.mark.integration
async def test_a_lost_ticket_is_taken_again_instead_of_waiting_forever(
    make_store: MakeStore, caplog: pytest.LogCaptureFixture
) -> None:
    holder, waiter = make_store(), make_store()
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with holder.lock("conv"):
            holding.set()
            await release.wait()

    async def wait_turn() -> str:
        await holding.wait()
        async with waiter.lock("conv"):
            return "served"

    holding_task = asyncio.create_task(hold())
    waiting_task = asyncio.create_task(wait_turn())
    await holding.wait()
    await asyncio.sleep(0.1)
    assert not waiting_task.done()
    # Every ticket disappears (a flushed database, say). Rasa's store would leave the
    # waiter polling an empty lock forever; this one queues again and is served.
    with caplog.at_level(logging.WARNING, logger="bot.locks.redis_ticket_lock"):
        holder.delete_lock("conv")
        assert await asyncio.wait_for(waiting_task, timeout=5) == "served"
    release.set()
    await holding_task
    assert any("lock.ticket_lost" in r.getMessage() for r in caplog.records)


@pytest.mark.integration
async def test_a_cancelled_waiter_gives_its_ticket_back(make_store: MakeStore) -> None:
    holder, waiter = make_store(), make_store()
    # Cancel at many moments, so that many land while a poll is in flight: redis-py 4.6
    # swallows some of those (about 1 in 30 here), and an unprotected waiter then waits
    # on and takes the lock for nobody, holding up the conversation.
    for attempt in range(150):
        async with holder.lock("conv"):
            task = asyncio.create_task(_enter(waiter, "conv"))
            await asyncio.sleep(0.001 * (attempt % 12))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
            await asyncio.sleep(0.005)  # a shielded call still in flight finishes
            lock = holder.get_lock("conv")
            assert lock is not None and len(lock.tickets) == 1, f"attempt {attempt}"
        assert _existing(holder, "conv") == []


async def _enter(store: RedisTicketLockStore, conversation: str) -> None:
    async with store.lock(conversation):
        pass


@pytest.mark.integration
async def test_held_keys_carry_a_ttl_in_case_every_process_dies(make_store: MakeStore) -> None:
    store = make_store()
    client = redis.Redis.from_url(store.settings.url or "")
    async with store.lock("conv", lock_lifetime=30):
        ttls = [client.ttl(key) for key in store.keys("conv")]
    assert all(0 < ttl <= 31 for ttl in ttls), ttls


@pytest.mark.integration
def test_synchronous_api_matches_rasa_semantics(make_store: MakeStore) -> None:
    store = make_store()
    first = store.issue_ticket("conv", 30)
    second = store.issue_ticket("conv", 30)
    assert second == first + 1
    lock = store.get_lock("conv")
    assert lock is not None
    assert lock.now_serving == first and lock.is_someone_waiting()
    store.finish_serving("conv", first)
    lock = store.get_lock("conv")
    assert lock is not None and lock.now_serving == second
    store.save_lock(lock)  # a round trip keeps the ticket
    assert store.is_someone_waiting("conv")
    store.cleanup("conv", second)
    assert store.get_lock("conv") is None
    assert _existing(store, "conv") == []


@pytest.mark.integration
def test_synchronous_update_drops_expired_tickets(make_store: MakeStore) -> None:
    store = make_store()
    store.issue_ticket("conv", 0.05)
    time.sleep(0.1)
    store.update_lock("conv")
    assert store.get_lock("conv") is None


async def test_unreachable_redis_is_a_lock_error() -> None:
    store = RedisTicketLockStore(
        settings=RedisLockSettings(port=free_port(), host="127.0.0.1", socket_timeout=1)
    )
    with pytest.raises(LockError, match="Could not take the conversation lock"):
        async with store.lock("conv"):
            pass
    await store._async.close()


def test_rasa_builds_it_from_endpoints_yml() -> None:
    config = EndpointConfig.from_dict(
        {
            "type": "bot.locks.redis_ticket_lock.RedisTicketLockStore",
            "url": "10.0.0.5",
            "port": "6380",  # ${REDIS_PORT} arrives as a string
            "db": 3,
            "key_prefix": "acme",
            "poll_interval": "0.2",
        }
    )
    store = LockStore.create(config)
    assert isinstance(store, RedisTicketLockStore)
    assert store.settings == RedisLockSettings(
        host="10.0.0.5", port=6380, db=3, key_prefix="acme", poll_interval=0.2
    )
    assert store.keys("c1") == [
        "acme:lock:{c1}:queue",
        "acme:lock:{c1}:expiry",
        "acme:lock:{c1}:last",
    ]


def test_a_redis_url_replaces_host_and_port() -> None:
    config = EndpointConfig.from_dict({"type": "x", "url": "redis://cache:6390/4"})
    assert RedisLockSettings.from_endpoint(config).url == "redis://cache:6390/4"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pool_interval": 1}, "unknown option"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"port": "sixty"}, "lock_store.port"),
        ({"port": 70000}, "TCP port"),
    ],
)
def test_bad_settings_are_named(options: dict[str, object], message: str) -> None:
    config = EndpointConfig.from_dict({"type": "x", "url": "localhost", **options})
    with pytest.raises(ConfigError, match=message):
        RedisLockSettings.from_endpoint(config)


@pytest.mark.integration
def test_two_processes_starting_turns_together_never_overlap_or_hang(redis_url: str) -> None:
    # The race that breaks Rasa's RedisLockStore: two processes issue tickets for the same
    # conversation at the same instant (bench/lock_store.py runs both stores).
    port = int(urlparse(redis_url).port or 6379)
    outcome = contention("ours", port, rounds=100, timeout=5)
    assert outcome["turns"] == 200
    assert outcome["overlapping_turns"] == 0
    assert outcome["hung_turns"] == 0
    assert outcome["lock_errors"] == 0
