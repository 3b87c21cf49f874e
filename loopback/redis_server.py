"""Start a real redis-server on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from loopback.ports import free_port


@dataclass
class RedisServer:
    """A running redis-server."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"


def redis_executable() -> str | None:
    """Return the redis-server binary, or None when it is not installed."""
    return shutil.which("redis-server")


def start_redis(exe: str, workdir: Path) -> RedisServer:
    """Start redis-server without persistence; retry on a port race."""
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
                    return RedisServer(proc, port)
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        client.close()
        proc.kill()
        _, stderr = proc.communicate(timeout=5)
        last_error = stderr.decode(errors="replace")[-500:]
    raise RuntimeError(f"redis-server did not start: {last_error}")


def stop_redis(server: RedisServer) -> None:
    """Stop the server and release its pipes."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.stderr is not None:
        server.process.stderr.close()


@contextmanager
def running_redis(workdir: Path) -> Iterator[RedisServer]:
    """Run a redis-server for the duration of the block."""
    exe = redis_executable()
    if exe is None:
        raise RuntimeError("redis-server is not installed; run scripts/system_deps.sh")
    server = start_redis(exe, workdir)
    try:
        yield server
    finally:
        stop_redis(server)
