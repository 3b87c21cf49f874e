"""Fixtures for the handoff queue: a fake clock and both backends (Redis from tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.handoff.queue import StoreHandoffQueue
from bot.handoff.redis_queue import RedisHandoffQueue
from bot.handoff.sqlite_queue import SQLiteHandoffQueue

START = 1_700_000_000.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


OpenQueue = Callable[..., Awaitable[StoreHandoffQueue]]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
async def open_queue(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[OpenQueue]:
    """Opens initialized queue objects that all share one store (file or key prefix).

    Each call is a new client of the same store, like a second process or a restart.
    """
    backend: str = request.param
    opened: list[StoreHandoffQueue] = []
    url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    path = str(tmp_path / "handoff.sqlite3")

    async def _open(**kwargs: Any) -> StoreHandoffQueue:
        kwargs.setdefault("clock", clock)
        queue: StoreHandoffQueue
        if backend == "redis":
            queue = RedisHandoffQueue(url, key_prefix=prefix, **kwargs)
        else:
            queue = SQLiteHandoffQueue(path, **kwargs)
        await queue.initialize()
        opened.append(queue)
        return queue

    yield _open
    for queue in opened:
        await queue.close()


@pytest.fixture
async def queue(open_queue: OpenQueue) -> StoreHandoffQueue:
    return await open_queue()
