"""Fixtures for the handoff queue: a fake clock, a real redis-server and both backends."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.handoff.queue import StoreHandoffQueue
from bot.handoff.redis_queue import RedisHandoffQueue
from bot.handoff.sqlite_queue import SQLiteHandoffQueue
from tests.integration.server import free_port

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


def _start_redis(exe: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    last_error = "no attempt"
    for _ in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    client.close()
                    return proc, port
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        client.close()
        proc.kill()
        _, stderr = proc.communicate(timeout=5)
        last_error = stderr.decode(errors="replace")[-500:]
    raise RuntimeError(f"redis-server did not start: {last_error}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server on a free loopback port, for the whole session."""
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI: `make test` must install it first")
        pytest.skip(
            "redis-server is not installed: run scripts/system_deps.sh "
            "(CI installs it) to run the Redis handoff queue tests."
        )
    proc, port = _start_redis(exe, tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


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
