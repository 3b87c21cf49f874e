"""`create_handoff_queue` picks and configures a backend from an endpoint config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff import HandoffQueue, HandoffStoreError, Ticket, create_handoff_queue
from bot.handoff.config import DEFAULT_SQLITE_PATH, handoff_queue_config
from bot.handoff.redis_queue import RedisHandoffQueue
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from common.errors import ConfigError
from loopback.ports import free_port

from .conftest import START, FakeClock


def test_default_is_sqlite() -> None:
    queue = create_handoff_queue({})
    assert isinstance(queue, SQLiteHandoffQueue)
    assert queue.path == DEFAULT_SQLITE_PATH
    assert isinstance(create_handoff_queue(None), SQLiteHandoffQueue)


def test_the_factory_and_the_reader_agree_on_the_default(tmp_path: Path) -> None:
    from_reader = create_handoff_queue(handoff_queue_config(tmp_path / "absent.yml"))
    without_path = create_handoff_queue({"type": "sqlite"})
    assert isinstance(from_reader, SQLiteHandoffQueue)
    assert isinstance(without_path, SQLiteHandoffQueue)
    assert from_reader.path == without_path.path == DEFAULT_SQLITE_PATH == ".cache/handoff.db"


async def test_the_default_queue_opens_in_a_fresh_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.chdir(tmp_path)
    async with create_handoff_queue({}, clock=clock) as queue:
        await queue.enqueue(Ticket.new("c", "webchat", "u", START))
    assert (tmp_path / ".cache" / "handoff.db").is_file()


def test_sqlite_with_path_and_sla() -> None:
    queue = create_handoff_queue(
        {"type": "SQLite", "path": ":memory:", "claim_sla_seconds": "90", "reply_sla_seconds": 30}
    )
    assert isinstance(queue, SQLiteHandoffQueue)
    assert queue.path == ":memory:"
    assert queue._policy.claim_sla_seconds == 90.0
    assert queue._policy.reply_sla_seconds == 30.0


def test_redis_options() -> None:
    queue = create_handoff_queue(
        {"type": "redis", "host": "redis.internal", "port": "6380", "db": 2, "key_prefix": "x:"}
    )
    assert isinstance(queue, RedisHandoffQueue)
    assert (queue._host, queue._port, queue._db_number, queue.key_prefix) == (
        "redis.internal",
        6380,
        2,
        "x:",
    )


@pytest.mark.parametrize(
    "config",
    [
        {"type": "kafka"},
        {"type": "sqlite", "url": "redis://x"},
        {"type": "redis", "port": "sixty"},
        {"claim_sla_seconds": "soon"},
    ],
)
def test_bad_config(config: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        create_handoff_queue(config)


async def test_sqlite_from_config_works(clock: FakeClock) -> None:
    async with create_handoff_queue({"type": "sqlite", "path": ":memory:"}, clock=clock) as queue:
        assert isinstance(queue, HandoffQueue)
        ticket = await queue.enqueue(Ticket.new("c", "webchat", "u", START))
        assert await queue.position(ticket.id) == 1


@pytest.mark.integration
async def test_redis_from_config_works(redis_url: str, clock: FakeClock) -> None:
    config = {"type": "redis", "url": redis_url, "key_prefix": "factory-test:"}
    async with create_handoff_queue(config, clock=clock) as queue:
        ticket = await queue.enqueue(Ticket.new("c", "webchat", "u", START))
        assert await queue.position(ticket.id) == 1
    async with create_handoff_queue(config, clock=clock) as again:
        assert (await again.get(ticket.id)).id == ticket.id


async def test_unreachable_redis_is_a_store_error() -> None:
    queue = RedisHandoffQueue(host="127.0.0.1", port=free_port(), socket_timeout=1)
    with pytest.raises(HandoffStoreError) as info:
        await queue.initialize()
    assert info.value.status_code == 503
